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


def nms(boxes: Tensor, scores: Tensor, iou_threshold: float) -> Tensor:
    """Non-maximum suppression: ``Tensor[K]`` int64 indices of the kept boxes, by decreasing score.

    Greedy, as ``torchvision.ops.nms``: take the highest-scoring box left, keep it,
    drop every remaining box whose IoU with it exceeds ``iou_threshold``; repeat.
    Ties in score keep the order of a stable sort (the earlier box first).

    Raises:
        TypeError: ``boxes`` or ``scores`` is not a tensor.
        ValueError: invalid xyxy boxes, ``scores`` not finite float ``Tensor[N]``, or ``iou_threshold``
            outside [0, 1].
    """
    _check_xyxy(boxes)
    validate.tensor(scores, "scores", shape=(len(boxes),), dtype="float", finite=True, hint="(one score per box)")
    if not isinstance(iou_threshold, (int, float)) or not 0 <= iou_threshold <= 1:
        raise ValueError(f"iou_threshold must be a number in [0, 1], got {iou_threshold!r}")
    if len(boxes) == 0:
        return torch.zeros(0, dtype=torch.long, device=boxes.device)
    order = scores.argsort(descending=True, stable=True)
    iou = box_iou(boxes[order], boxes[order])  # (N, N), in score order
    suppressed = torch.zeros(len(order), dtype=torch.bool, device=boxes.device)
    keep = []
    for i in range(len(order)):  # the loop is over boxes; each step is vectorised over the rest
        if suppressed[i]:
            continue
        keep.append(i)
        suppressed |= iou[i] > iou_threshold
    return order[torch.tensor(keep, device=boxes.device)]


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
