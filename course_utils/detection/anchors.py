"""Anchor (prior) box shapes chosen by k-means on the training boxes (YOLOv2, Redmon & Farhadi 2017).

Only widths and heights matter: two boxes are compared as if they shared a centre,
and the distance is ``d = 1 - IoU``, so that a large box is not "far" from a
similar large box just because its sides are long (as it would be under the
Euclidean distance).
"""

from __future__ import annotations

import torch
from torch import Tensor

from .. import validate

YOLOV2_VOC_ANCHORS = ((1.3221, 1.73145), (3.19275, 4.00944), (5.05587, 8.09892), (9.47112, 4.84053),
                      (11.2364, 10.0071))
"""YOLOv2's five VOC anchors (width, height) in units of the 13x13 grid's cells (32 pixels at 416x416)."""

YOLOV3_COCO_ANCHORS = ((10, 13), (16, 30), (33, 23), (30, 61), (62, 45), (59, 119), (116, 90), (156, 198),
                       (373, 326))
"""YOLOv3's nine COCO anchors (width, height) in pixels at 416x416, smallest first: three per scale,
the first three for the stride-8 (52x52) map, the last three for the stride-32 (13x13) map."""


def _check_wh(wh: Tensor, name: str) -> None:
    validate.tensor(wh, name, shape=(None, 2), dtype="float", hint="((width, height) per box)")
    if len(wh) and (wh <= 0).any():
        raise ValueError(f"{name}: widths and heights must be positive")


def wh_iou(wh1: Tensor, wh2: Tensor) -> Tensor:
    """``Tensor[N, M]``: IoU of box shapes placed on a common centre.

    Raises:
        TypeError: ``wh1`` or ``wh2`` is not a tensor.
        ValueError: they are not finite, positive float ``Tensor[N, 2]`` widths and heights.
    """
    _check_wh(wh1, "wh1")
    _check_wh(wh2, "wh2")
    inter = torch.minimum(wh1[:, None, 0], wh2[None, :, 0]) * torch.minimum(wh1[:, None, 1], wh2[None, :, 1])
    union = (wh1[:, 0] * wh1[:, 1])[:, None] + (wh2[:, 0] * wh2[:, 1])[None, :] - inter
    return inter / union


def mean_iou(wh: Tensor, anchors: Tensor) -> float:
    """Average, over boxes, of the IoU with their best-matching anchor (the k-means objective).

    Raises:
        TypeError: ``wh`` or ``anchors`` is not a tensor.
        ValueError: they are not positive float ``Tensor[N, 2]``, or ``wh`` is empty.
    """
    if isinstance(wh, Tensor) and len(wh) == 0:
        raise ValueError("wh holds no boxes: the mean IoU of nothing is undefined")
    return float(wh_iou(wh, anchors).max(1).values.mean())


def kmeans_anchors(wh: Tensor, k: int, *, iterations: int = 100, seed: int = 0) -> Tensor:
    """``Tensor[k, 2]``: k anchor shapes by k-means with the ``1 - IoU`` distance, sorted by area.

    Starts from k distinct boxes drawn at random (seeded); each step assigns every
    box to the anchor it overlaps best and moves each anchor to the mean shape of
    its boxes (an anchor left without boxes keeps its place); stops when the
    assignment no longer changes.

    Raises:
        TypeError: ``wh`` is not a tensor.
        ValueError: ``wh`` is not positive float ``Tensor[N, 2]``, ``k`` lies outside [1, N], or there are
            fewer distinct shapes than ``k``.
    """
    _check_wh(wh, "wh")
    if not isinstance(k, int) or not 1 <= k <= len(wh):
        raise ValueError(f"k must be between 1 and the number of boxes ({len(wh)}), got {k}")
    g = torch.Generator().manual_seed(seed)
    unique = torch.unique(wh, dim=0)
    if len(unique) < k:
        raise ValueError(f"only {len(unique)} distinct box shapes for k={k} anchors")
    anchors = unique[torch.randperm(len(unique), generator=g)[:k]].clone()
    assign = None
    for _ in range(iterations):
        new_assign = wh_iou(wh, anchors).argmax(1)  # nearest = highest IoU
        if assign is not None and torch.equal(new_assign, assign):
            break
        assign = new_assign
        for j in range(k):
            members = wh[assign == j]
            if len(members):
                anchors[j] = members.mean(0)
    return anchors[(anchors[:, 0] * anchors[:, 1]).argsort()]
