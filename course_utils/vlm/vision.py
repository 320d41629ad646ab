"""The vision tower: a CLIP ViT, pretrained (full recipe) or trained contrastively here (offline).

CLIP (Radford et al., 2021) learns an image encoder and a text encoder whose
embeddings of matching image-caption pairs are close: a symmetric cross-entropy
over the batch's image-text similarity matrix. Its contrastive training is stage 0 of :mod:`.train`. LLaVA then uses the image
encoder's *patch* features -- not the pooled embedding -- as the LM's visual
tokens: ``[B, 50, 768]`` from ViT-B/32 at 224 px, minus the CLS token, is the
seed's ``[B, 49, 768]``.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .. import validate
from .batches import _check_tokenizer
from .config import CLIP_MEAN, CLIP_STD, VLMConfig


def _vision_config_kwargs(cfg: VLMConfig) -> dict:
    return dict(hidden_size=cfg.d_vision, intermediate_size=4 * cfg.d_vision if cfg.vision_layers > 1 else cfg.d_vision,
                num_hidden_layers=cfg.vision_layers, num_attention_heads=cfg.vision_heads,
                image_size=cfg.image_size, patch_size=cfg.patch_size, projection_dim=cfg.clip_embed_dim)


class ConvStem(nn.Module):
    """A convolutional patch embedding: ``Tensor[B, 3, S, S]`` -> ``Tensor[B, D, S/P, S/P]``.

    It replaces the ViT's single ``P x P`` stride-``P`` convolution with a stack of
    3x3 convolutions (BatchNorm, GELU): one at stride 1, then stride 2 until the
    patch grid is reached (``log2 P`` of them; the last maps to the tower's width
    ``D``). The ViT paper's "hybrid" (Dosovitskiy et al., 2021) and Xiao et al.
    (2021) show that such a stem makes a transformer far easier to train on little
    data; here it is what lets a tower trained from scratch on 3,000 images tell
    a triangle from a diamond.

    The convolutions run channels-last (NHWC): on a 2-core CPU a training step
    of the stem takes about a third less time than in the default layout, for
    the same numbers up to rounding.

    Raises:
        TypeError: ``d_out`` or ``patch_size`` is not an int, or ``widths`` not a list of ints.
        ValueError: a width below 1, no widths, or a patch size that is not a power of two of at least
            ``2**len(widths)``.
    """

    def __init__(self, d_out: int, patch_size: int, widths: Sequence[int] = (16, 32, 64)):
        validate.positive_int(d_out, "d_out")
        validate.positive_int(patch_size, "patch_size")
        validate.sequence_of(widths, "widths", int, non_empty=True)
        if min(widths) < 1:
            raise ValueError(f"widths must be positive, got {tuple(widths)}")
        super().__init__()
        n_down = round(math.log2(patch_size))
        if 2 ** n_down != patch_size or n_down < len(widths):
            raise ValueError(f"a conv stem needs a power-of-two patch size of at least 2**{len(widths)}, "
                             f"got {patch_size}")
        layers, c = [], 3
        for k, w in enumerate(widths):
            layers += [nn.Conv2d(c, w, 3, stride=1 if k == 0 else 2, padding=1, bias=False), nn.BatchNorm2d(w),
                       nn.GELU()]
            c = w
        for _ in range(n_down - (len(widths) - 1) - 1):  # more stride-2 layers for larger patches
            layers += [nn.Conv2d(c, c, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(c), nn.GELU()]
        layers.append(nn.Conv2d(c, d_out, 3, stride=2, padding=1))
        self.net = nn.Sequential(*layers).to(memory_format=torch.channels_last)

    @property
    def weight(self) -> Tensor:
        """The last convolution's weight (``CLIPVisionEmbeddings`` reads its dtype)."""
        return self.net[-1].weight

    def forward(self, x: Tensor) -> Tensor:
        """Images ``Tensor[B, 3, S, S]`` (normalised floats) -> patch embeddings ``Tensor[B, D, S/P, S/P]``.

        Raises:
            TypeError: ``x`` is not a tensor.
            ValueError: ``x`` is not Tensor[B, 3, H, W] of floats.
        """
        validate.tensor(x, "x", shape=(None, 3, None, None), dtype="float", hint="(preprocessed images)")
        return self.net(x.contiguous(memory_format=torch.channels_last))


def _add_stem(vision_model, cfg: VLMConfig):
    if cfg.conv_stem is not None:
        vision_model.embeddings.patch_embedding = ConvStem(cfg.d_vision, cfg.patch_size, cfg.conv_stem)
    return vision_model


def build_vision_tower(cfg: VLMConfig):
    """A ``transformers.CLIPVisionModel``: ``cfg.vision_name``'s weights, or random ones of ``cfg``'s size.

    With ``cfg.conv_stem`` the patch embedding is a :class:`ConvStem`.

    Raises:
        TypeError: ``cfg`` is not a :class:`VLMConfig`.
        OSError: ``cfg.vision_name``'s weights are neither cached nor downloadable (offline).
    """
    from transformers import CLIPVisionConfig, CLIPVisionModel

    validate.instance(cfg, "cfg", VLMConfig)

    if cfg.vision_name:
        return CLIPVisionModel.from_pretrained(cfg.vision_name)
    return _add_stem(CLIPVisionModel(CLIPVisionConfig(**_vision_config_kwargs(cfg))), cfg)


def build_clip(cfg: VLMConfig, tokenizer):
    """A tiny two-tower ``transformers.CLIPModel`` (vision of ``cfg``'s size, a small text tower).

    The text tower reads ``tokenizer``'s ids and pools at the first end-of-text token.

    Raises:
        TypeError: ``cfg`` is not a :class:`VLMConfig`, or ``tokenizer`` not a tokenizer.
        ValueError: the tokenizer has no end-of-text or pad token.
    """
    from transformers import CLIPConfig, CLIPModel

    validate.instance(cfg, "cfg", VLMConfig)
    _check_tokenizer(tokenizer, pad="the text tower")
    eos = tokenizer.eos_token_id
    text = dict(vocab_size=len(tokenizer), hidden_size=cfg.text_width, intermediate_size=4 * cfg.text_width,
                num_hidden_layers=cfg.text_layers, num_attention_heads=4, max_position_embeddings=cfg.max_positions,
                eos_token_id=eos, bos_token_id=eos, pad_token_id=tokenizer.pad_token_id,
                projection_dim=cfg.clip_embed_dim)
    clip = CLIPModel(CLIPConfig(text_config=text, vision_config=_vision_config_kwargs(cfg),
                                projection_dim=cfg.clip_embed_dim))
    _add_stem(clip.vision_model, cfg)
    return clip


def preprocess(images: Tensor, cfg: VLMConfig, *, resize: bool = False) -> Tensor:
    """uint8 images ``Tensor[B, 3, H, W]`` (or one ``[3, H, W]``) -> CLIP-normalised ``Tensor[B, 3, S, S]``.

    ``S`` is ``cfg.image_size``. Images of another size raise ``ValueError`` unless
    ``resize`` (bilinear, as CLIP's image processor resizes). Float images must already
    lie in [0, 1].

    Raises:
        TypeError: ``images`` is not a tensor, or ``cfg`` not a :class:`VLMConfig`.
        ValueError: ``images`` is not RGB Tensor[B, 3, H, W]; neither uint8 nor floats in [0, 1] (a 0..255
            float image would be read as mostly white); another size without ``resize``.
    """
    validate.tensor(images, "images", hint="(uint8 Tensor[B, 3, H, W])")
    validate.instance(cfg, "cfg", VLMConfig)
    if images.ndim == 3:
        images = images[None]
    if images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"expected RGB images Tensor[B, 3, H, W], got {tuple(images.shape)}")
    if images.dtype != torch.uint8:
        if not images.is_floating_point():
            raise ValueError(f"images must be uint8 or floats in [0, 1], got {validate.describe(images)}")
        if images.numel() and not (0.0 <= float(images.min()) and float(images.max()) <= 1.0):
            raise ValueError(f"float images must lie in [0, 1] (uint8 / 255), got values from "
                             f"{float(images.min()):.3g} to {float(images.max()):.3g}")
    x = images.float() / 255 if images.dtype == torch.uint8 else images.float()
    size = cfg.image_size
    if tuple(x.shape[-2:]) != (size, size):
        if not resize:
            raise ValueError(f"expected {size}x{size} images for this vision tower, got "
                             f"{x.shape[-2]}x{x.shape[-1]}; pass resize=True to resize them")
        x = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    mean = x.new_tensor(CLIP_MEAN)[None, :, None, None]
    std = x.new_tensor(CLIP_STD)[None, :, None, None]
    return (x - mean) / std


def patch_features(vision_model, pixel_values: Tensor, feature_layer: int = -1) -> Tensor:
    """CLIP patch features without the CLS token: ``Tensor[B, 3, S, S]`` -> ``Tensor[B, N, D]``.

    ``vision_model`` is a ``CLIPVisionModel`` (or a ``CLIPModel``'s ``vision_model``);
    ``feature_layer`` indexes its hidden states (-1: the last, as the seed; -2: LLaVA-1.5).

    Raises:
        TypeError: ``pixel_values`` is not a tensor, or ``feature_layer`` not an int.
        ValueError: ``pixel_values`` is not Tensor[B, 3, S, S] of floats.
    """
    validate.tensor(pixel_values, "pixel_values", shape=(None, 3, None, None), dtype="float",
                    hint="(preprocess the images first)")
    validate.number(feature_layer, "feature_layer", integer=True)
    if feature_layer == -1:
        hidden = vision_model(pixel_values=pixel_values).last_hidden_state  # (B, 1 + N, D)
    else:
        hidden = vision_model(pixel_values=pixel_values, output_hidden_states=True).hidden_states[feature_layer]
    return hidden[:, 1:]  # drop CLS -> (B, N, D)


@torch.no_grad()
def encode_images(vision_model, images: Tensor, cfg: VLMConfig, *, batch_size: int = 256,
                  resize: bool = False) -> Tensor:
    """Patch features of many uint8 images, in batches, with the tower frozen -> ``Tensor[B, N, D]``.

    The vision tower never trains after stage 0, so the chapter computes these once
    and every later stage reads them (the seed recomputes them per batch).

    Raises:
        TypeError: ``vision_model`` is not a module, ``images`` not a tensor, ``cfg`` not a VLMConfig, or
            ``batch_size`` not an int.
        ValueError: no images; images that :func:`preprocess` refuses; ``batch_size`` below 1.
    """
    validate.instance(vision_model, "vision_model", nn.Module, "a CLIPVisionModel")
    validate.tensor(images, "images", ndim=4, hint="(uint8 Tensor[B, 3, H, W])")
    validate.positive_int(batch_size, "batch_size")
    if len(images) == 0:
        raise ValueError("images is empty: no image to encode")
    vision_model.eval()
    device = next(vision_model.parameters()).device
    out = [patch_features(vision_model, preprocess(images[s:s + batch_size], cfg, resize=resize).to(device),
                          cfg.feature_layer).float().cpu()
           for s in range(0, len(images), batch_size)]
    return torch.cat(out)


def pooled_embeddings(out) -> Tensor:
    """The projected embeddings ``Tensor[B, E]`` from ``CLIPModel.get_text_features`` (or ``get_image_features``).

    transformers 5 returns a model output whose ``pooler_output`` is the projected
    embedding; 4.x returns the tensor itself.

    Raises:
        TypeError: ``out`` is neither a tensor nor a model output with ``pooler_output``.
    """
    if isinstance(out, Tensor):
        return out
    if getattr(out, "pooler_output", None) is None:
        raise TypeError(f"out must be what CLIPModel.get_text_features returns (a tensor or an output with "
                        f"pooler_output), got {validate.describe(out)}")
    return out.pooler_output


def clip_loss(clip, input_ids: Tensor, attention_mask: Tensor, pixel_values: Tensor | None,
              negative_ids: Tensor | None = None, negative_mask: Tensor | None = None, *,
              vision_outputs=None) -> Tensor:
    """CLIP's symmetric cross-entropy, with optional hard-negative captions for the images.

    Image ``i`` must pick caption ``i`` among the batch's ``B`` captions and the ``B``
    negatives; caption ``i`` must pick image ``i`` among the ``B`` images. Without
    negatives this is exactly ``CLIPModel(..., return_loss=True).loss``.
    ``vision_outputs``, the vision tower's output for ``pixel_values`` if already
    computed, saves running the tower twice.

    Raises:
        TypeError: ``input_ids`` or ``attention_mask`` (or the negatives) is not a tensor.
        ValueError: ``input_ids`` is not integer Tensor[B, T] with a mask of its shape; negatives without their
            mask (or of another count); neither ``pixel_values`` nor ``vision_outputs``; images and captions
            differ in number.
    """
    validate.tensor(input_ids, "input_ids", ndim=2, dtype="int")
    validate.tensor(attention_mask, "attention_mask", shape=tuple(input_ids.shape))
    if (negative_ids is None) != (negative_mask is None):
        raise ValueError("give both negative_ids and negative_mask, or neither")
    if negative_ids is not None:
        validate.tensor(negative_ids, "negative_ids", shape=(len(input_ids), None), dtype="int")
        validate.tensor(negative_mask, "negative_mask", shape=tuple(negative_ids.shape))
    if vision_outputs is None:
        if pixel_values is None:
            raise ValueError("clip_loss needs pixel_values or the vision tower's vision_outputs")
        vision_outputs = clip.vision_model(pixel_values=pixel_values)
    if len(vision_outputs.pooler_output) != len(input_ids):
        raise ValueError(f"clip_loss needs one caption per image: {len(vision_outputs.pooler_output)} images, "
                         f"{len(input_ids)} captions")
    img = F.normalize(clip.visual_projection(vision_outputs.pooler_output), dim=-1)  # (B, E)
    txt = F.normalize(pooled_embeddings(clip.get_text_features(input_ids=input_ids, attention_mask=attention_mask)), dim=-1)
    scale = clip.logit_scale.exp()
    target = torch.arange(len(img), device=img.device)
    per_text = scale * txt @ img.T  # (B, B): caption -> images
    per_image = per_text.T  # (B, B): image -> captions
    if negative_ids is not None:
        neg = F.normalize(pooled_embeddings(clip.get_text_features(input_ids=negative_ids, attention_mask=negative_mask)), dim=-1)
        per_image = torch.cat([per_image, scale * img @ neg.T], dim=1)  # (B, 2B)
    return (F.cross_entropy(per_image, target) + F.cross_entropy(per_text, target)) / 2


def rows_padded_to_longest(ids: Tensor, mask: Tensor, rows: Tensor, padding_side: str = "right"
                           ) -> tuple[Tensor, Tensor]:
    """Some rows of texts that were tokenised and padded together, cut to the longest of those rows.

    ``ids`` and ``mask`` are ``Tensor[N, T]``, padded to the longest of all ``N``
    texts on ``padding_side``. Returns ``Tensor[len(rows), T']`` each, ``T'`` the
    longest of the chosen rows: what tokenising those texts alone with
    ``padding=True`` gives, without tokenising them again at every step.

    Raises:
        TypeError: ``ids``, ``mask`` or ``rows`` is not a tensor.
        ValueError: ``padding_side`` other than ``"right"`` or ``"left"``; ``ids`` and ``mask`` not Tensor[N, T] of
            one shape; ``rows`` not integer indices in [0, N), or empty.
    """
    if padding_side not in ("right", "left"):
        raise ValueError(f"padding_side must be 'right' or 'left', got {padding_side!r}")
    validate.tensor(ids, "ids", dtype="int")
    validate.tensor(mask, "mask")
    if ids.dim() != 2 or mask.shape != ids.shape:
        raise ValueError(f"expected ids and mask Tensor[N, T], got {tuple(ids.shape)} and {tuple(mask.shape)}")
    validate.class_indices(rows, "rows", len(ids))
    if rows.numel() == 0:
        raise ValueError("rows is empty: choose at least one row")
    ids, mask = ids[rows], mask[rows]
    n = int(mask.sum(1).max())
    keep = slice(None, n) if padding_side == "right" else slice(ids.shape[1] - n, None)
    return ids[:, keep], mask[:, keep]


@torch.no_grad()
def retrieval_accuracy(clip, tokenizer, images: Tensor, captions: Sequence[str], cfg: VLMConfig) -> float:
    """Image -> caption top-1 retrieval accuracy among the given pairs (chance = 1 / N).

    Raises:
        TypeError: ``clip`` is not a module, ``images`` not a tensor, ``captions`` not a list of str, or ``cfg``
            not a VLMConfig.
        ValueError: no pairs, not one caption per image, or images that :func:`preprocess` refuses.
    """
    validate.instance(clip, "clip", nn.Module, "a transformers CLIPModel")
    validate.tensor(images, "images", ndim=4)
    validate.sequence_of(captions, "captions", str, non_empty=True)
    if len(images) != len(captions):
        raise ValueError(f"retrieval needs one caption per image: {len(images)} images, {len(captions)} captions")
    device = next(clip.parameters()).device
    enc = tokenizer([c + tokenizer.eos_token for c in captions], padding=True, return_tensors="pt",
                    add_special_tokens=False)
    out = clip(input_ids=enc["input_ids"].to(device), attention_mask=enc["attention_mask"].to(device),
               pixel_values=preprocess(images, cfg).to(device))
    pred = out.logits_per_image.argmax(dim=1).cpu()
    return float((pred == torch.arange(len(images))).float().mean())
