"""A LLaVA-style multimodal LLM, from the parts up (the seed's Jñāna, in miniature offline).

Data and text
* :mod:`.dataset` -- shapes-world scenes in words: captions, question/answer records, held-out pairs.
* :mod:`.tokenizer` -- a byte-level BPE trained offline (or a pretrained tokenizer).
* :mod:`.batches` -- tokenised features, padding with answer-only labels, answer-length buckets.
* :mod:`.full_data` -- the full recipe's COCO captions and LLaVA-Instruct-150K parsers.

Models
* :mod:`.config` -- :class:`VLMConfig`, the tiny offline preset and the full CLIP + phi-2 recipe.
* :mod:`.vision` -- the CLIP vision tower (conv stem), CLIP's loss, patch features.
* :mod:`.patches` -- patch geometry: which patches an object's box covers.
* :mod:`.grounding` -- a grounded contrastive term: each patch token picks its own object's phrase.
* :mod:`.language_model` -- the phi-style causal LM, LoRA/QLoRA, the label-only loss.
* :mod:`.projector` -- linear + LLaVA-1.5 residual block.
* :mod:`.model` -- :class:`VisionLanguageModel`: input-embedding assembly, generation.

Training and measuring
* :mod:`.train` -- every stage: 0 (LM pretraining, CLIP), 1 (projection), 2 (instructions).
* :mod:`.recipe` -- :class:`VLMRecipe`, the sizes per profile; :mod:`.run` -- :func:`run_vlm`, all stages end to end.
* :mod:`.evaluate` -- exact match by question type, caption attributes, baselines.
* :mod:`.oracle` -- ground-truth patch features: a perfect vision tower, for diagnosis.
* :mod:`.probe` -- linear probes: does a patch token hold its own object's colour or shape?

Using it
* :mod:`.app` -- the chat app (image upload, typed or spoken question).
* :mod:`.audio` -- spoken questions: offline speech synthesis and recognition.

Everything chapter 9 uses is importable from here. Importing this package imports
neither ``transformers`` nor ``peft``; the functions that need them import them
when called.
"""

from .app import ChatApp, ask
from .audio import SphinxTranscriber, synthesise
from .batches import PHI2_T4_BUCKETS, caption_features, collate, qa_features
from .config import CLIP_MEAN, CLIP_STD, EOI, EOQ, VLMConfig, full_recipe_config, tiny_config
from .dataset import (HELD_OUT_COMBOS, caption, hard_negative_caption, has_held_out, image_tensor, qa_records,
                      questions, text_corpus, vlm_scenes)
from .evaluate import answer_all, exact_match, exact_match_by_objects
from .full_data import coco_captions, llava_instruct_records
from .grounding import patch_phrase_targets
from .language_model import add_lora, build_lm, trainable_parameters
from .model import VisionLanguageModel
from .oracle import oracle_patch_features
from .probe import patch_probe
from .projector import Projector
from .recipe import STAGE2_BUCKETS, VLMRecipe, stage2_records
from .run import VLMRun, run_vlm
from .tokenizer import load_pretrained_tokenizer, train_tokenizer
from .train import pretrain_lm, train_clip, train_instruction, train_projection
from .vision import build_clip, build_vision_tower, encode_images, retrieval_accuracy

__all__ = [
    "CLIP_MEAN", "CLIP_STD", "ChatApp", "EOI", "EOQ", "HELD_OUT_COMBOS", "PHI2_T4_BUCKETS", "Projector",
    "STAGE2_BUCKETS", "SphinxTranscriber", "VLMConfig", "VLMRecipe", "VLMRun", "VisionLanguageModel", "add_lora",
    "answer_all", "ask", "build_clip", "build_lm", "build_vision_tower", "caption", "caption_features",
    "coco_captions", "collate", "encode_images", "exact_match", "exact_match_by_objects", "full_recipe_config",
    "hard_negative_caption", "has_held_out", "image_tensor", "llava_instruct_records", "load_pretrained_tokenizer",
    "oracle_patch_features", "patch_phrase_targets", "patch_probe", "pretrain_lm", "qa_features", "qa_records",
    "questions", "retrieval_accuracy", "run_vlm", "stage2_records", "synthesise", "text_corpus", "tiny_config",
    "train_clip", "train_instruction", "train_projection", "train_tokenizer", "trainable_parameters", "vlm_scenes",
]
