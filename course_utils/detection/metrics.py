"""Detection metrics: matching detections to ground truth, precision/recall, AP and mAP.

The PASCAL VOC protocol (Everingham et al., 2010): for each class, sort all
detections of the test set by decreasing score; a detection is a true positive
if its IoU with a ground-truth box of its class and image is at least the
threshold and that box has not been claimed by a higher-scoring detection;
otherwise it is a false positive. Precision and recall along that ranking give
the precision-recall curve; AP summarises it, mAP averages AP over classes.

COCO's protocol (Lin et al., 2014; its reference code is ``pycocotools``'
``COCOeval``) differs in three ways, all in :func:`coco_map`: a detection claims
the best *unclaimed* box of its class (VOC: its best box, claimed or not); AP is
the mean interpolated precision at 101 recall points (0, 0.01, ..., 1); and the
headline number averages AP over ten IoU thresholds, 0.50, 0.55, ..., 0.95, so
loose boxes score less. At most 100 detections per image and class are counted.

Predictions and targets are lists with one dict per image, as in torchvision's
detection models: ``{"boxes": Tensor[N, 4] xyxy, "scores": Tensor[N], "labels": Tensor[N]}``
and ``{"boxes": Tensor[M, 4], "labels": Tensor[M]}``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor

from .. import validate
from .boxes import box_iou

INTERPOLATIONS = ("all-point", "11-point", "101-point")
# COCO's IoU thresholds and recall points, the very floats pycocotools makes (numpy's linspace,
# whose 0.29 is 29 * 0.01 = 0.29000000000000004: a recall of exactly 0.29 has not reached it).
COCO_IOU_THRESHOLDS: tuple[float, ...] = tuple(np.linspace(0.5, 0.95, 10).tolist())
RECALL_POINTS_101 = torch.from_numpy(np.linspace(0.0, 1.0, 101))


def _check_batch(predictions: Sequence[dict], targets: Sequence[dict], iou_threshold: float) -> None:
    validate.same_length(predictions=predictions, targets=targets)
    validate.number(iou_threshold, "iou_threshold", low=0.0, high=1.0, low_open=True)
    for i, (p, t) in enumerate(zip(predictions, targets)):
        _check_image_dict(p, ("boxes", "scores", "labels"), "predictions", i)
        _check_image_dict(t, ("boxes", "labels"), "targets", i)


def _check_image_dict(d: dict, keys: tuple[str, ...], what: str, i: int) -> None:
    if not isinstance(d, dict) or any(k not in d for k in keys):
        raise ValueError(f"{what}[{i}] must be a dict with keys {keys}, got "
                         f"{sorted(d) if isinstance(d, dict) else type(d).__name__}")
    validate.tensor(d["boxes"], f"{what}[{i}]['boxes']", shape=(None, 4), dtype="float", finite=True)
    n = len(d["boxes"])
    validate.tensor(d["labels"], f"{what}[{i}]['labels']", shape=(n,), dtype="int", hint="(one class per box)")
    if "scores" in keys:
        validate.tensor(d["scores"], f"{what}[{i}]['scores']", shape=(n,), dtype="float", finite=True,
                        hint="(one score per box)")


def match_detections(
    predictions: Sequence[dict], targets: Sequence[dict], label: int, iou_threshold: float = 0.5
) -> tuple[Tensor, Tensor, int]:
    """Rank one class's detections over all images and mark each one true or false positive.

    Returns:
        ``(scores Tensor[D] in decreasing order, is_true_positive Tensor[D] bool,
        number of ground-truth boxes of the class)``.

    Raises:
        TypeError: ``label`` is not an int, or a dict's value is not a tensor.
        ValueError: ``predictions`` and ``targets`` differ in length, a dict lacks
            ``boxes``/``scores``/``labels`` or holds NaN or mismatched entries, or
            ``iou_threshold`` lies outside (0, 1].
    """
    _check_batch(predictions, targets, iou_threshold)
    if isinstance(label, bool) or not isinstance(label, int):
        raise TypeError(f"label must be an int class index, got {label!r}")
    return _match(predictions, targets, label, iou_threshold)


def _match(predictions: Sequence[dict], targets: Sequence[dict], label: int,
           iou_threshold: float) -> tuple[Tensor, Tensor, int]:
    """:func:`match_detections` without its checks, for callers that checked the batch once."""
    scores, hits = [], []
    n_truth = 0
    for pred, truth in zip(predictions, targets, strict=True):
        t_boxes = truth["boxes"][truth["labels"] == label].float()
        n_truth += len(t_boxes)
        sel = pred["labels"] == label
        p_boxes, p_scores = pred["boxes"][sel].float(), pred["scores"][sel].float()
        order = p_scores.argsort(descending=True, stable=True)
        p_boxes, p_scores = p_boxes[order], p_scores[order]
        hit = torch.zeros(len(p_boxes), dtype=torch.bool)
        if len(t_boxes) and len(p_boxes):
            iou = box_iou(p_boxes, t_boxes)  # (D_i, M_i)
            claimed = torch.zeros(len(t_boxes), dtype=torch.bool)
            for d in range(len(p_boxes)):  # higher scores claim their best box first
                best_iou, best = iou[d].max(0)
                if best_iou >= iou_threshold and not claimed[best]:
                    hit[d], claimed[best] = True, True
        scores.append(p_scores.cpu())
        hits.append(hit)
    scores_t = torch.cat(scores) if scores else torch.zeros(0)
    hits_t = torch.cat(hits) if hits else torch.zeros(0, dtype=torch.bool)
    order = scores_t.argsort(descending=True, stable=True)
    return scores_t[order], hits_t[order], n_truth


def precision_recall(hits: Tensor, n_truth: int) -> tuple[Tensor, Tensor]:
    """Precision and recall after each detection of a ranking (``Tensor[D]`` each, float64).

    Args:
        hits: ``Tensor[D]`` bool, true positive or not, in ranking order.
        n_truth: the number of ground-truth boxes, at least the number of hits.

    Raises:
        TypeError: ``hits`` is not a tensor.
        ValueError: ``hits`` is not ``Tensor[D]`` of bools, or ``n_truth`` is not an int of at least the
            hits.
    """
    validate.tensor(hits, "hits", ndim=1, dtype="bool", hint="(true positive or not, per detection)")
    if isinstance(n_truth, bool) or not isinstance(n_truth, int) or n_truth < int(hits.sum()):
        raise ValueError(f"n_truth must be an int of at least the {int(hits.sum())} hits, got {n_truth!r}")
    tp = hits.double().cumsum(0)
    fp = (~hits).double().cumsum(0)
    precision = tp / (tp + fp)
    recall = tp / n_truth if n_truth > 0 else torch.zeros_like(tp)
    return precision, recall


def average_precision(precision: Tensor, recall: Tensor, interpolation: str = "all-point") -> float:
    """Area under the interpolated precision-recall curve.

    ``"all-point"`` (VOC 2010 on): interpolate precision as the best precision at any
    recall >= r, and integrate over recall exactly. ``"11-point"`` (VOC 2007): mean of
    that interpolated precision at recall 0, 0.1, ..., 1. ``"101-point"`` (COCO): mean,
    over recall 0, 0.01, ..., 1, of the interpolated precision at the first detection
    that reaches that recall (0 where none does), as ``pycocotools`` computes it.

    Raises:
        TypeError: ``precision`` or ``recall`` is not a tensor.
        ValueError: an unknown ``interpolation``, or the curves are not finite float ``Tensor[D]`` of one
            length.
    """
    validate.choice(interpolation, "interpolation", INTERPOLATIONS)
    validate.tensor(precision, "precision", ndim=1, dtype="float", finite=True)
    validate.tensor(recall, "recall", shape=(len(precision),), dtype="float", finite=True,
                    hint="(one recall per precision, from precision_recall)")
    if len(precision) == 0:
        return 0.0
    p = torch.cat([torch.zeros(1, dtype=torch.float64), precision.double(), torch.zeros(1, dtype=torch.float64)])
    r = torch.cat([torch.zeros(1, dtype=torch.float64), recall.double(), recall[-1:].double()])
    envelope = p.flip(0).cummax(0).values.flip(0)  # best precision at this recall or beyond
    if interpolation == "101-point":
        first = torch.searchsorted(recall.double().contiguous(), RECALL_POINTS_101, side="left")
        reached = first < len(precision)  # first detection with recall >= r; none past the end
        at = envelope[1:-1][first.clamp(max=len(precision) - 1)]
        return float(torch.where(reached, at, torch.zeros_like(at)).mean())
    if interpolation == "11-point":
        points = torch.linspace(0, 1, 11, dtype=torch.float64)
        best = [envelope[r >= t].max().item() if (r >= t).any() else 0.0 for t in points]
        return float(sum(best) / 11)
    steps = r[1:] - r[:-1]  # recall increases only at true positives
    return float((steps * envelope[1:]).sum())


def mean_average_precision(
    predictions: Sequence[dict],
    targets: Sequence[dict],
    iou_threshold: float = 0.5,
    interpolation: str = "all-point",
    num_classes: int | None = None,
) -> dict:
    """mAP over the classes that have ground truth in ``targets``.

    Returns:
        ``{"map": float, "ap": {label: AP}, "n_truth": {label: count}}``; a class
        without ground-truth boxes gets no AP (it cannot be recalled) and does not
        count in the mean; with no ground truth at all, ``map`` is NaN.

    Raises:
        TypeError: a dict's value is not a tensor.
        ValueError: as :func:`match_detections`: mismatched lengths, malformed dicts, NaN boxes, or
            ``iou_threshold`` outside (0, 1].
    """
    _check_batch(predictions, targets, iou_threshold)
    labels = set()
    for t in targets:
        labels.update(int(v) for v in t["labels"])
    if num_classes is not None:
        labels = {c for c in labels if c < num_classes}
    ap, counts = {}, {}
    for c in sorted(labels):
        _, hits, n_truth = _match(predictions, targets, c, iou_threshold)
        precision, recall = precision_recall(hits, n_truth)
        ap[c] = average_precision(precision, recall, interpolation)
        counts[c] = n_truth
    return {"map": float(sum(ap.values()) / len(ap)) if ap else float("nan"), "ap": ap, "n_truth": counts}


def _coco_match(predictions: Sequence[dict], targets: Sequence[dict], label: int,
                thresholds: Sequence[float], max_detections: int) -> tuple[Tensor, Tensor, int]:
    """COCO's matching of one class: ``(scores Tensor[D] decreasing, hits Tensor[T, D] bool, n_truth)``.

    Per image, the class's detections in score order (at most ``max_detections``) each claim
    the unclaimed ground-truth box they overlap most, if that IoU reaches the threshold;
    of equal overlaps the later box wins, as in ``pycocotools``.
    """
    scores, hits = [], []
    n_truth = 0
    for pred, truth in zip(predictions, targets, strict=True):
        t_boxes = truth["boxes"][truth["labels"] == label].double()
        n_truth += len(t_boxes)
        sel = pred["labels"] == label
        order = pred["scores"][sel].argsort(descending=True, stable=True)[:max_detections]
        p_boxes, p_scores = pred["boxes"][sel][order].double(), pred["scores"][sel][order].double()
        hit = [[False] * len(p_boxes) for _ in thresholds]
        if len(t_boxes) and len(p_boxes):
            iou = box_iou(p_boxes, t_boxes).tolist()  # (D_i, M_i), in float64 like pycocotools
            for k, t in enumerate(thresholds):
                claimed = [False] * len(t_boxes)
                for d, row in enumerate(iou):
                    best, g = min(t, 1 - 1e-10), -1
                    for j, v in enumerate(row):  # the unclaimed box it overlaps most; of equals, the later
                        if not claimed[j] and v >= best:
                            best, g = v, j
                    if g >= 0:
                        hit[k][d], claimed[g] = True, True
        scores.append(p_scores.cpu())
        hits.append(torch.tensor(hit, dtype=torch.bool).view(len(thresholds), len(p_boxes)))
    scores_t = torch.cat(scores) if scores else torch.zeros(0, dtype=torch.float64)
    hits_t = torch.cat(hits, 1) if hits else torch.zeros(len(thresholds), 0, dtype=torch.bool)
    order = scores_t.argsort(descending=True, stable=True)
    return scores_t[order], hits_t[:, order], n_truth


def coco_map(predictions: Sequence[dict], targets: Sequence[dict], max_detections: int = 100,
             num_classes: int | None = None) -> dict:
    """COCO's box mAP: AP at IoU 0.50, 0.55, ..., 0.95 with 101-point interpolation, averaged.

    Equal to ``pycocotools``' ``COCOeval`` (and ``torchmetrics``' ``MeanAveragePrecision``)
    for the "all areas" row, without crowd boxes.

    Returns:
        ``{"map": mAP@[.5:.95], "map_50": mAP@0.5, "map_75": mAP@0.75, "ap": {label: AP@[.5:.95]},
        "ap_50": {label: AP@0.5}, "n_truth": {label: count}}``, over the classes with ground
        truth in ``targets`` (the others cannot be recalled and do not count); with no ground
        truth at all, the maps are NaN.

    Raises:
        TypeError: a dict's value is not a tensor, or ``max_detections`` not an int.
        ValueError: as :func:`match_detections` (mismatched lengths, malformed dicts, NaN or
            inverted boxes), or ``max_detections`` below 1.
    """
    _check_batch(predictions, targets, 0.5)
    validate.positive_int(max_detections, "max_detections")
    labels = set()
    for t in targets:
        labels.update(int(v) for v in t["labels"])
    if num_classes is not None:
        labels = {c for c in labels if c < num_classes}
    per_threshold: dict[int, list[float]] = {}
    counts = {}
    for c in sorted(labels):
        _, hits, n_truth = _coco_match(predictions, targets, c, COCO_IOU_THRESHOLDS, max_detections)
        per_threshold[c] = [average_precision(*precision_recall(h, n_truth), "101-point") for h in hits]
        counts[c] = n_truth
    nan = float("nan")

    def mean(values: list[float]) -> float:
        return float(sum(values) / len(values)) if values else nan

    ap = {c: mean(v) for c, v in per_threshold.items()}
    return {"map": mean(list(ap.values())), "map_50": mean([v[0] for v in per_threshold.values()]),
            "map_75": mean([v[5] for v in per_threshold.values()]), "ap": ap,
            "ap_50": {c: v[0] for c, v in per_threshold.items()}, "n_truth": counts}


def detection_scores(predictions: Sequence[dict], targets: Sequence[dict], iou_threshold: float = 0.5) -> dict:
    """The course's report of a detector: VOC's mAP@``iou_threshold`` and COCO's mAPs, in one dict.

    Returns:
        :func:`mean_average_precision`'s ``map``, ``ap`` and ``n_truth``, plus :func:`coco_map`'s
        ``map`` as ``map_50_95``, ``map_75``, and its per-class ``ap`` as ``ap_50_95``.

    Raises:
        TypeError: a dict's value is not a tensor.
        ValueError: as :func:`match_detections`: mismatched lengths, malformed dicts, NaN boxes, or
            ``iou_threshold`` outside (0, 1].
    """
    scores = mean_average_precision(predictions, targets, iou_threshold=iou_threshold)
    coco = coco_map(predictions, targets)
    return {**scores, "map_50_95": coco["map"], "map_75": coco["map_75"], "ap_50_95": coco["ap"]}


def recall_by_size(predictions: Sequence[dict], targets: Sequence[dict], *, limit: float = 16.0,
                   iou_threshold: float = 0.5) -> dict[str, float]:
    """Recall of objects smaller and larger than ``limit`` pixels (the square root of the box area).

    An object counts as found if some detection of its class overlaps it with IoU >=
    ``iou_threshold`` (at any score; threshold the predictions first if you want one).

    Returns:
        ``{"small": recall, "large": recall, "n_small": count, "n_large": count}``
        (a recall is NaN when its group is empty).

    Raises:
        TypeError: a dict's value is not a tensor, or ``limit`` not a number.
        ValueError: as :func:`match_detections`, or ``limit`` is not positive.
    """
    _check_batch(predictions, targets, iou_threshold)
    validate.number(limit, "limit", low=0.0, low_open=True)
    found: dict[bool, list[bool]] = {True: [], False: []}
    for pred, truth in zip(predictions, targets):
        for box, label in zip(truth["boxes"].float(), truth["labels"]):
            same = pred["labels"] == label
            best = box_iou(box[None], pred["boxes"][same].float()).max().item() if same.any() else 0.0
            side = float(((box[2] - box[0]) * (box[3] - box[1])).sqrt())
            found[side < limit].append(best >= iou_threshold)

    def rate(hits: list[bool]) -> float:
        return sum(hits) / len(hits) if hits else float("nan")

    return {"small": rate(found[True]), "large": rate(found[False]),
            "n_small": len(found[True]), "n_large": len(found[False])}
