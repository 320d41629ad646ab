"""A grounded contrastive loss: each patch token must pick its own object's phrase.

CLIP's loss (:func:`vision.clip_loss`) only asks the *pooled* image embedding to
pick the whole caption, so the patch tokens that LLaVA hands to the LM are
never asked to say what lies under them; shape then barely shows in a patch
(the chapter's probe). Grounded language-image pretraining (GLIP, Li et al.,
2022) and RegionCLIP (Zhong et al., 2022) add a region-level term: a region's
embedding must match the words that describe it, contrasted against other
phrases. Here a region is one patch, its phrase is the caption's phrase for
the object that alone covers it ("a large red circle at the top left"), and
the candidates are every object phrase of the training set (a concept pool,
as RegionCLIP's), embedded by the same text tower at every step. Patches that
no object or both objects cover are left out. (Candidates from the batch's
objects only, like CLIP's in-batch captions, cost a few seconds less and did
no better: see ``notes/vlm-recipe.md``.)
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from .. import validate
from ..data.shapes import Scene
from .dataset import _check_scenes, object_phrase
from .patches import overlapped_patches
from .vision import pooled_embeddings


def patch_phrase_targets(scenes: Sequence[Scene], grid: int) -> tuple[list[str], Tensor]:
    """The distinct object phrases, and for every patch the phrase of the one object that covers it.

    Returns ``(phrases, targets)``: the sorted distinct object phrases of
    ``scenes``, and ``targets`` ``Tensor[N, grid * grid]`` (int64, row-major
    patches) holding an index into ``phrases``, or -1 where no object or more
    than one object's box overlaps the patch.

    Raises:
        TypeError: ``scenes`` is not a list of Scenes, or ``grid`` not an int.
        ValueError: ``grid`` is below 1.
    """
    _check_scenes(scenes)
    validate.positive_int(grid, "grid")
    described = [sc.describe()["objects"] for sc in scenes]
    phrases = sorted({object_phrase(o) for objs in described for o in objs})
    index = {p: k for k, p in enumerate(phrases)}
    targets = torch.full((len(scenes), grid * grid), -1, dtype=torch.int64)
    for i, (sc, objs) in enumerate(zip(scenes, described)):
        cover = [set(overlapped_patches(o.box, sc.size, grid)) for o in sc.objects]
        for k, o in enumerate(objs):
            others = set().union(*(c for j, c in enumerate(cover) if j != k))
            for p in cover[k] - others:
                targets[i, p] = index[object_phrase(o)]
    return phrases, targets


def grounding_loss(clip, hidden: Tensor, targets: Tensor, phrase_ids: Tensor, phrase_mask: Tensor) -> Tensor:
    """Cross-entropy of each covered patch over the candidate phrases, at CLIP's temperature.

    Args:
        clip: a ``transformers.CLIPModel``.
        hidden: the vision tower's last hidden state ``Tensor[B, 1 + P, D]`` (CLS first).
        targets: ``Tensor[B, P]`` phrase indices, -1 for patches left out (:func:`patch_phrase_targets`).
        phrase_ids, phrase_mask: the ``K`` tokenised candidate phrases ``Tensor[K, T]``.

    A patch's embedding is the tower's own head applied to its token (final
    LayerNorm, then the projection into the shared space), as for the pooled
    CLS token. Returns a scalar (zero if no patch has a target).

    Raises:
        TypeError: ``hidden``, ``targets``, ``phrase_ids`` or ``phrase_mask`` is not a tensor.
        ValueError: ``hidden`` is not Tensor[B, 1 + P, D] of floats; ``targets`` not integer Tensor[B, P] in
            [-1, K); ``phrase_ids`` not integer Tensor[K, T] with ``phrase_mask`` of its shape.
    """
    validate.tensor(hidden, "hidden", ndim=3, dtype="float")
    validate.tensor(targets, "targets", ndim=2, dtype="int")
    validate.tensor(phrase_ids, "phrase_ids", ndim=2, dtype="int")
    validate.tensor(phrase_mask, "phrase_mask", shape=tuple(phrase_ids.shape))
    if hidden.dim() != 3 or targets.shape != (hidden.shape[0], hidden.shape[1] - 1):
        raise ValueError(f"expected hidden states [B, 1 + P, D] and targets [B, P], got {tuple(hidden.shape)} "
                         f"and {tuple(targets.shape)}")
    if int(targets.max()) >= len(phrase_ids) or int(targets.min()) < -1:
        raise ValueError(f"targets must lie in [-1, {len(phrase_ids)}) for {len(phrase_ids)} phrases, got "
                         f"{int(targets.min())}..{int(targets.max())}")
    keep = targets >= 0
    if not keep.any():
        return hidden.sum() * 0
    patches = clip.visual_projection(clip.vision_model.post_layernorm(hidden[:, 1:][keep]))  # (M, E)
    text = pooled_embeddings(clip.get_text_features(input_ids=phrase_ids, attention_mask=phrase_mask))  # (K, E)
    logits = clip.logit_scale.exp() * F.normalize(patches, dim=-1) @ F.normalize(text, dim=-1).T  # (M, K)
    return F.cross_entropy(logits, targets[keep])


__all__ = ["grounding_loss", "patch_phrase_targets"]
