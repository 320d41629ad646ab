"""Boxes: formats, areas, IoU and non-maximum suppression, with torchvision's contracts.

Formats (named everywhere, one :func:`box_convert`):

* ``xyxy``: corners ``(x0, y0, x1, y1)`` with ``x0 <= x1`` and ``y0 <= y1``; pixels unless named otherwise.
* ``xywh``: top-left corner, width and height.
* ``cxcywh``: centre, width and height (what YOLO and SSD predict).

All functions take ``Tensor[N, 4]`` and keep the dtype and device of their inputs.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .. import validate

FORMATS = ("xyxy", "xywh", "cxcywh")


def _check_boxes(boxes: Tensor, name: str = "boxes") -> None:
    """``Tensor[N, 4]`` floating point and finite: a NaN box would come out of IoU and NMS as a number."""
    validate.tensor(boxes, name, shape=(None, 4), dtype="float", finite=True)


def _check_xyxy(boxes: Tensor, name: str = "boxes") -> None:
    _check_boxes(boxes, name)
    if len(boxes) and ((boxes[:, 2] < boxes[:, 0]).any() or (boxes[:, 3] < boxes[:, 1]).any()):
        bad = torch.nonzero((boxes[:, 2] < boxes[:, 0]) | (boxes[:, 3] < boxes[:, 1]))[0, 0]
        raise ValueError(f"{name} must be xyxy with x0 <= x1 and y0 <= y1; box {int(bad)} is "
                         f"{boxes[bad].tolist()} (another format? convert with box_convert)")


def box_convert(boxes: Tensor, in_fmt: str, out_fmt: str) -> Tensor:
    """Convert ``Tensor[N, 4]`` between ``xyxy``, ``xywh`` and ``cxcywh`` (as ``torchvision.ops.box_convert``).

    The input must be a valid box of ``in_fmt``: finite, ``x0 <= x1`` and ``y0 <= y1`` for
    ``xyxy``, non-negative widths and heights for the others (``ValueError`` otherwise).

    Raises:
        TypeError: ``boxes`` is not a tensor.
        ValueError: an unknown format; ``boxes`` not finite float ``Tensor[N, 4]``; an inverted ``xyxy`` box
            or a negative width or height.
    """
    for fmt in (in_fmt, out_fmt):
        if fmt not in FORMATS:
            raise ValueError(f"unknown box format {fmt!r}; expected one of {FORMATS}")
    if in_fmt == "xyxy":
        _check_xyxy(boxes)
    else:
        _check_boxes(boxes)
        if len(boxes) and (boxes[:, 2:] < 0).any():
            bad = int(torch.nonzero((boxes[:, 2:] < 0).any(1))[0, 0])
            raise ValueError(f"boxes in {in_fmt} must have non-negative width and height; box {bad} is "
                             f"{boxes[bad].tolist()}")
    if in_fmt == out_fmt:
        return boxes.clone()
    a, b, c, d = boxes.unbind(-1)
    if in_fmt == "xywh":
        x0, y0, x1, y1 = a, b, a + c, b + d
    elif in_fmt == "cxcywh":
        x0, y0, x1, y1 = a - c / 2, b - d / 2, a + c / 2, b + d / 2
    else:
        x0, y0, x1, y1 = a, b, c, d
    if out_fmt == "xyxy":
        return torch.stack([x0, y0, x1, y1], -1)
    if out_fmt == "xywh":
        return torch.stack([x0, y0, x1 - x0, y1 - y0], -1)
    return torch.stack([(x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0], -1)


def _xyxy_to_cxcywh(boxes: Tensor) -> Tensor:
    """:func:`box_convert` from ``xyxy`` to ``cxcywh`` without its checks, for callers that checked a batch at once."""
    x0, y0, x1, y1 = boxes.unbind(-1)
    return torch.stack([(x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0], -1)


def box_area(boxes: Tensor) -> Tensor:
    """``Tensor[N]``: areas of ``xyxy`` boxes.

    Raises:
        TypeError: ``boxes`` is not a tensor.
        ValueError: ``boxes`` is not finite float ``Tensor[N, 4]`` xyxy with ``x0 <= x1`` and ``y0 <= y1``.
    """
    _check_xyxy(boxes)
    return (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])


def box_iou(boxes1: Tensor, boxes2: Tensor) -> Tensor:
    """``Tensor[N, M]``: intersection over union of every pair of ``xyxy`` boxes.

    IoU = area(A ∩ B) / area(A ∪ B), in [0, 1]. Two empty boxes give 0/0 = NaN,
    as in torchvision.

    Raises:
        TypeError: ``boxes1`` or ``boxes2`` is not a tensor.
        ValueError: either is not finite float ``Tensor[N, 4]`` xyxy with ``x0 <= x1`` and ``y0 <= y1`` (the
            message names the box).
    """
    _check_xyxy(boxes1, "boxes1")
    _check_xyxy(boxes2, "boxes2")
    top_left = torch.maximum(boxes1[:, None, :2], boxes2[None, :, :2])  # (N, M, 2)
    bottom_right = torch.minimum(boxes1[:, None, 2:], boxes2[None, :, 2:])  # (N, M, 2)
    wh = (bottom_right - top_left).clamp(min=0)  # no overlap: zero width or height
    inter = wh[..., 0] * wh[..., 1]  # (N, M)
    union = box_area(boxes1)[:, None] + box_area(boxes2)[None, :] - inter
    return inter / union


def _suppresses(kept: Tensor, candidates: Tensor, iou_threshold: float) -> Tensor:
    """``Tensor[K, C]`` bool: does kept box k overlap candidate c by IoU > ``iou_threshold``?

    The same arithmetic as :func:`box_iou` (so the same floats as torchvision's),
    without its checks and with in-place steps: NMS calls it once per block.
    """
    x0 = torch.maximum(kept[:, None, 0], candidates[None, :, 0])
    x1 = torch.minimum(kept[:, None, 2], candidates[None, :, 2])
    y0 = torch.maximum(kept[:, None, 1], candidates[None, :, 1])
    y1 = torch.minimum(kept[:, None, 3], candidates[None, :, 3])
    inter = (x1 - x0).clamp_(min=0).mul_((y1 - y0).clamp_(min=0))  # (K, C)
    area_k = (kept[:, 2] - kept[:, 0]) * (kept[:, 3] - kept[:, 1])
    area_c = (candidates[:, 2] - candidates[:, 0]) * (candidates[:, 3] - candidates[:, 1])
    union = (area_k[:, None] + area_c[None, :]).sub_(inter)
    return inter.div_(union) > iou_threshold


def nms(boxes: Tensor, scores: Tensor, iou_threshold: float, block: int = 256) -> Tensor:
    """Non-maximum suppression: ``Tensor[K]`` int64 indices of the kept boxes, by decreasing score.

    Greedy, as ``torchvision.ops.nms``: take the highest-scoring box left, keep it,
    drop every remaining box whose IoU with it exceeds ``iou_threshold``; repeat.
    Ties in score keep the order of a stable sort (the earlier box first).

    The boxes are visited in score order, ``block`` at a time (torchvision's CUDA
    kernel also works in blocks, of 64 boxes; on a 2-core CPU 256 was fastest over
    ``bench nms``'s box sets). For each block:

    1. one IoU matrix against every box kept so far drops the candidates that an
       earlier, higher-scoring box suppresses, all at once;
    2. the survivors run the greedy rule among themselves, on a small
       ``block x block`` matrix: walking its overlapping pairs in rank order, a
       pair drops its later box only if its earlier box is still in.

    So no ``N x N`` matrix is built, and the Python loop runs over the overlapping
    pairs of one block's survivors only. The result is the same as the one-box-at-a-time rule above.

    Raises:
        TypeError: ``boxes`` or ``scores`` is not a tensor.
        ValueError: invalid xyxy boxes, ``scores`` not finite float ``Tensor[N]``, ``iou_threshold``
            outside [0, 1], or ``block`` not a positive int (TypeError if not an int).
    """
    _check_xyxy(boxes)
    validate.tensor(scores, "scores", shape=(len(boxes),), dtype="float", finite=True, hint="(one score per box)")
    if not isinstance(iou_threshold, (int, float)) or not 0 <= iou_threshold <= 1:
        raise ValueError(f"iou_threshold must be a number in [0, 1], got {iou_threshold!r}")
    validate.positive_int(block, "block")
    order = scores.argsort(descending=True, stable=True)
    ranked = boxes.detach()[order]  # row r is the r-th best box
    kept = torch.zeros(0, dtype=torch.long, device=boxes.device)  # ranks of the kept boxes
    for start in range(0, len(ranked), block):
        candidates = torch.arange(start, min(start + block, len(ranked)), device=boxes.device)
        if len(kept):  # step 1: a box kept in an earlier block suppresses these candidates
            beaten = _suppresses(ranked[kept], ranked[candidates], iou_threshold).any(0)
            candidates = candidates[~beaten]
        # Step 2: the greedy rule within the block. List the overlapping pairs (i, j), i ranked
        # before j, in order of i; a pair drops j only if i itself is still in.
        pairs = _suppresses(ranked[candidates], ranked[candidates], iou_threshold).triu(1).nonzero()
        dropped: set[int] = set()
        for i, j in pairs.tolist():
            if i not in dropped:
                dropped.add(j)
        survivors = [i for i in range(len(candidates)) if i not in dropped]
        kept = torch.cat([kept, candidates[survivors]])
    return order[kept]


def batched_nms(boxes: Tensor, scores: Tensor, labels: Tensor, iou_threshold: float) -> Tensor:
    """NMS within each class separately (``torchvision.ops.batched_nms``): boxes of different classes never suppress each other.

    Raises:
        TypeError: ``boxes``, ``scores`` or ``labels`` is not a tensor.
        ValueError: as :func:`nms`, or ``labels`` is not ``Tensor[N]`` of integers.
    """
    _check_xyxy(boxes)
    validate.tensor(labels, "labels", shape=(len(boxes),), dtype="int", hint="(one class index per box)")
    if len(boxes) == 0:
        return torch.zeros(0, dtype=torch.long, device=boxes.device)
    # Shift each class's boxes far apart so that boxes of different classes cannot overlap.
    offsets = labels.to(boxes.dtype) * (boxes.max() - boxes.min() + 1)
    return nms(boxes + offsets[:, None], scores, iou_threshold)
