"""A LLaVA-style multimodal LLM, from the parts up (the seed's Jñāna, in miniature offline).

* :mod:`.config` -- :class:`VLMConfig`, the tiny offline preset and the full CLIP + phi-2 recipe.
* :mod:`.data` -- captions and question/answer records from the shapes world; collation, buckets.
* :mod:`.tokenizer` -- a byte-level BPE trained offline.
* :mod:`.vision` -- the CLIP vision tower: contrastive training, patch features.
* :mod:`.grounding` -- a grounded contrastive term: each patch token picks its own object's phrase.
* :mod:`.language_model` -- the phi-style causal LM, its pretraining, LoRA/QLoRA.
* :mod:`.projector` -- linear + LLaVA-1.5 residual block.
* :mod:`.model` -- :class:`VisionLanguageModel`: input-embedding assembly, generation.
* :mod:`.train` -- stage 1 (projection) and stage 2 (instruction tuning: LoRA, or every LM weight).
* :mod:`.evaluate` -- exact match by question type, caption attributes, baselines.
* :mod:`.oracle` -- ground-truth patch features: a perfect vision tower, for diagnosis.
* :mod:`.probe` -- linear probes: does a patch token hold its own object's colour or shape?
* :mod:`.audio` -- spoken questions: offline speech synthesis and recognition.

Importing this package imports neither ``transformers`` nor ``peft``; the
functions that need them import them when called.
"""

from .config import EOI, EOQ, VLMConfig, full_recipe_config, tiny_config
from .projector import Projector

__all__ = ["EOI", "EOQ", "VLMConfig", "full_recipe_config", "tiny_config", "Projector"]
