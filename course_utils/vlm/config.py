"""One config for the whole multimodal model: which vision tower, which LM, how they meet.

Two presets share every line of code that uses them:

* :func:`tiny_config` -- the offline course model: a CLIP vision tower and a
  phi-style causal LM (the same ``transformers`` classes as the seed's), both
  tiny, trained from scratch on the shapes world.
* :func:`full_recipe_config` -- the seed's recipe (Jñāna): ``openai/clip-vit-base-patch32``
  patch features ``[B, 49, 768]``, a 768 -> 2560 projection into ``microsoft/phi-2``,
  4-bit loading and QLoRA. It needs a GPU and the internet.

:meth:`VLMConfig.tiny_random` shrinks any config to randomly initialised models
of the same classes and the same vision geometry, which is how CI runs the
full-recipe code path on a CPU.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace

from .. import validate

EOI = "caption image:"
"""End-of-image string: appended after the image tokens (the seed's choice)."""

EOQ = "end of question:"
"""End-of-question string: the answer starts after it (the seed's choice)."""

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
"""CLIP's image normalisation (per-channel mean), from its image processor."""
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


@dataclass(frozen=True)
class VLMConfig:
    """Everything that fixes the model's shapes and its training switches.

    Raises:
        TypeError: a field holds a value of another type (``d_lm=128.0``, ``lora_targets="q_proj"``).
        ValueError: a size below 1; ``image_size`` not a multiple of ``patch_size``; a width not divisible by
            its heads; a conv stem on a patch size that is not a power of two of at least ``2**len(conv_stem)``;
            ``lora_dropout`` outside [0, 1); an empty ``eoi`` or ``eoq``.
    """

    # --- vision tower (CLIP ViT) ---
    vision_name: str | None = None  # a Hub id to load pretrained weights; None: build from the fields below
    image_size: int = 48  # pixels; 48 / 16 = 3 patches a side = 9 patch tokens (ViT-B/32 at 224: 7 x 7 = 49)
    patch_size: int = 16  # 3 x 3 patches line up with the position words (top/middle/bottom, left/centre/right)
    d_vision: int = 96  # ViT width (768 for ViT-B/32)
    vision_layers: int = 3
    vision_heads: int = 4
    feature_layer: int = -1  # hidden state to use: -1 is the last (the seed); LLaVA-1.5 uses -2
    conv_stem: tuple[int, ...] | None = (16, 32, 64)  # widths of a convolutional patch stem; None: CLIP's patch conv
    # --- text tower (only to pretrain the tiny CLIP contrastively) ---
    text_width: int = 64
    text_layers: int = 2
    clip_embed_dim: int = 64  # shared image-text embedding width of the contrastive loss
    # --- language model (phi) ---
    lm_name: str | None = None  # a Hub id (microsoft/phi-2); None: a tiny PhiForCausalLM
    d_lm: int = 128  # LM width (2560 for phi-2)
    lm_layers: int = 2
    lm_heads: int = 4
    lm_intermediate: int = 512
    max_positions: int = 160  # image tokens + EOI + question + EOQ + the longest answer (a caption) fit in 160
    vocab_size: int = 512  # BPE vocabulary trained offline (phi-2: 50,295 tokens, 51,200 embeddings)
    # --- projector (LLaVA-1.5 "simple res block" after a linear map) ---
    projector_hidden: int | None = None  # None: the LM width
    # --- LoRA (peft) ---
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.0  # the full recipe: 0.05 (dropout is a quarter of a CPU step at this size)
    lora_targets: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "dense", "fc1", "fc2")  # phi's linear layers
    load_in_4bit: bool = False  # QLoRA: a 4-bit NF4 base model (bitsandbytes, CUDA only)
    eoi: str = EOI
    eoq: str = EOQ
    extra: dict = field(default_factory=dict)  # data sources and notes for the full recipe

    def __post_init__(self) -> None:
        validate.fields(self)
        name = type(self).__name__
        for f in ("image_size", "patch_size", "d_vision", "vision_layers", "vision_heads", "text_width", "text_layers",
                  "clip_embed_dim", "d_lm", "lm_layers", "lm_heads", "lm_intermediate", "max_positions", "vocab_size",
                  "lora_r"):
            validate.number(getattr(self, f), f"{name}.{f}", low=1, integer=True)
        if self.image_size % self.patch_size:
            raise ValueError(f"{name}.image_size ({self.image_size}) must be a multiple of patch_size "
                             f"({self.patch_size}): the patches tile the image")
        for width, heads in (("d_vision", "vision_heads"), ("d_lm", "lm_heads"), ("text_width", None)):
            n_heads = getattr(self, heads) if heads else 4  # the tiny CLIP's text tower has 4 heads
            if getattr(self, width) % n_heads:
                raise ValueError(f"{name}.{width} ({getattr(self, width)}) must be divisible by its "
                                 f"{n_heads} attention heads")
        if self.conv_stem is not None:
            steps = math.log2(self.patch_size)
            if not self.conv_stem or steps != int(steps) or steps < len(self.conv_stem) \
                    or any(w < 1 for w in self.conv_stem):
                raise ValueError(f"{name}.conv_stem {self.conv_stem} needs positive widths and a power-of-two "
                                 f"patch_size of at least 2**{len(self.conv_stem)}, got patch_size {self.patch_size}")
        if self.projector_hidden is not None:
            validate.number(self.projector_hidden, f"{name}.projector_hidden", low=1, integer=True)
        validate.number(self.lora_dropout, f"{name}.lora_dropout", low=0.0, high=1.0)
        if self.lora_dropout == 1.0:
            raise ValueError(f"{name}.lora_dropout must lie in [0, 1), got 1.0")
        for f in ("eoi", "eoq"):
            if not getattr(self, f).strip():
                raise ValueError(f"{name}.{f} must be a non-empty marker string, got {getattr(self, f)!r}")

    @property
    def n_patches(self) -> int:
        """Image tokens per image: ``(image_size / patch_size)**2`` (the CLS token is dropped)."""
        return (self.image_size // self.patch_size) ** 2

    def tiny_random(self, **overrides) -> "VLMConfig":
        """The same classes and vision geometry with tiny, randomly initialised weights.

        Keeps ``image_size``, ``patch_size`` and ``d_vision`` (so ``[B, 49, 768]``
        stays ``[B, 49, 768]``) and shrinks depth, the LM width and the vocabulary.

        Raises:
            TypeError: an override names no field of :class:`VLMConfig`, or holds a value of another type.
            ValueError: the result is not a valid config (see :class:`VLMConfig`).
        """
        _check_overrides(overrides)
        small = dict(vision_name=None, lm_name=None, vision_layers=1, vision_heads=4, conv_stem=self.conv_stem,
                     d_lm=64, lm_layers=1, lm_heads=4, lm_intermediate=128, load_in_4bit=False,
                     projector_hidden=None)
        small.update(overrides)
        return replace(self, **small)


def _check_overrides(overrides: dict) -> None:
    known = {f.name for f in fields(VLMConfig)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise TypeError(f"VLMConfig has no field(s) {unknown}; its fields are {sorted(known)}")


def tiny_config(**overrides) -> VLMConfig:
    """The offline course model (about 1 M parameters in all; see the chapter's table).

    Raises:
        TypeError: an override names no field of :class:`VLMConfig`, or holds a value of another type.
        ValueError: the result is not a valid config (see :class:`VLMConfig`).
    """
    _check_overrides(overrides)
    return replace(VLMConfig(), **overrides)


def full_recipe_config(**overrides) -> VLMConfig:
    """The seed's recipe: CLIP ViT-B/32 + phi-2, 768 -> 2560, 4-bit QLoRA with r = 64.

    LoRA with r = 64 on all six of phi-2's linear layers in each of its 32 blocks
    gives the seed's 94,371,840 trainable adapter parameters (the tests check it).

    Raises:
        TypeError: an override names no field of :class:`VLMConfig`, or holds a value of another type.
        ValueError: the result is not a valid config (see :class:`VLMConfig`).
    """
    _check_overrides(overrides)
    cfg = VLMConfig(
        vision_name="openai/clip-vit-base-patch32", image_size=224, patch_size=32, d_vision=768,
        vision_layers=12, vision_heads=12, conv_stem=None,
        lm_name="microsoft/phi-2", d_lm=2560, lm_layers=32, lm_heads=32, lm_intermediate=10240,
        max_positions=2048, vocab_size=51200,
        lora_r=64, lora_alpha=16, lora_dropout=0.05, load_in_4bit=True,
        extra={
            "captions": "COCO 2017 captions: http://images.cocodataset.org/annotations/annotations_trainval2017.zip",
            "images": "COCO train2017 images: http://images.cocodataset.org/zips/train2017.zip",
            "instructions": "LLaVA-Instruct-150K: https://huggingface.co/datasets/liuhaotian/LLaVA-Instruct-150K "
                            "(llava_instruct_150k.json)",
        },
    )
    return replace(cfg, **overrides)
