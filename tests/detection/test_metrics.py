"""course_utils.detection.metrics: AP and mAP by hand and against the VOC devkit's algorithm."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from course_utils.detection.metrics import (
    COCO_IOU_THRESHOLDS,
    RECALL_POINTS_101,
    average_precision,
    coco_map,
    mean_average_precision,
    precision_recall,
)


def random_boxes(n: int, seed: int, size: float = 100.0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    xy = torch.rand(n, 2, generator=g) * size
    wh = torch.rand(n, 2, generator=g) * size / 3 + 1
    return torch.cat([xy, xy + wh], 1)


def voc_ap_reference(tp: list[int], n_truth: int, use_07: bool) -> float:
    """The PASCAL VOC devkit's algorithm, written independently with numpy."""
    tp_a = np.array(tp, dtype=float)
    fp_a = 1 - tp_a
    tp_c, fp_c = np.cumsum(tp_a), np.cumsum(fp_a)
    rec = tp_c / n_truth
    prec = tp_c / np.maximum(tp_c + fp_c, np.finfo(float).eps)
    if use_07:
        return float(np.mean([np.max(prec[rec >= t]) if np.sum(rec >= t) else 0 for t in np.arange(0, 1.1, 0.1)]))
    mrec = np.concatenate(([0.0], rec, [1.0]))
    mpre = np.concatenate(([0.0], prec, [0.0]))
    for i in range(len(mpre) - 1, 0, -1):
        mpre[i - 1] = max(mpre[i - 1], mpre[i])
    i = np.where(mrec[1:] != mrec[:-1])[0]
    return float(np.sum((mrec[i + 1] - mrec[i]) * mpre[i + 1]))


def test_ap_by_hand():
    # ranking: TP, FP, TP with 2 truths: precision 1, 1/2, 2/3 at recall 1/2, 1/2, 1
    precision, recall = precision_recall(torch.tensor([True, False, True]), 2)
    assert torch.allclose(precision, torch.tensor([1, 0.5, 2 / 3], dtype=torch.float64))
    # all-point: 0.5 * 1 + 0.5 * 2/3
    assert average_precision(precision, recall) == pytest.approx(0.5 + 1 / 3)
    # 11-point: recall 0..0.5 (6 points) precision 1; 0.6..1.0 (5 points) 2/3
    assert average_precision(precision, recall, "11-point") == pytest.approx((6 + 5 * 2 / 3) / 11)


@pytest.mark.parametrize("seed", range(6))
def test_ap_equals_the_voc_reference(seed):
    rng = np.random.default_rng(seed)
    hits = (rng.random(40) < 0.6).tolist()
    n_truth = int(sum(hits)) + int(rng.integers(0, 5))
    precision, recall = precision_recall(torch.tensor(hits), n_truth)
    for use_07, name in ((False, "all-point"), (True, "11-point")):
        assert average_precision(precision, recall, name) == pytest.approx(voc_ap_reference(hits, n_truth, use_07))


def test_map_by_hand():
    truth = [{"boxes": torch.tensor([[0.0, 0, 10, 10], [20.0, 20, 30, 30]]), "labels": torch.tensor([0, 1])},
             {"boxes": torch.tensor([[0.0, 0, 10, 10]]), "labels": torch.tensor([0])}]
    preds = [{"boxes": torch.tensor([[0.0, 0, 10, 10], [1.0, 1, 10, 10], [20.0, 20, 30, 30]]),
              "scores": torch.tensor([0.9, 0.8, 0.3]), "labels": torch.tensor([0, 0, 1])},
             {"boxes": torch.tensor([[40.0, 40, 50, 50]]), "scores": torch.tensor([0.95]),
              "labels": torch.tensor([0])}]
    out = mean_average_precision(preds, truth)
    # class 0 ranking: 0.95 FP (wrong place), 0.9 TP, 0.8 FP (duplicate); 2 truths, the 2nd never found
    # precision 0, 1/2, 1/3 at recall 0, 1/2, 1/2 -> AP = 0.5 * 1/2; class 1: one TP -> AP 1
    assert out["ap"] == {0: pytest.approx(0.25), 1: pytest.approx(1.0)}
    assert out["map"] == pytest.approx(0.625) and out["n_truth"] == {0: 2, 1: 1}
    empty = [{"boxes": torch.zeros(0, 4), "scores": torch.zeros(0), "labels": torch.zeros(0, dtype=torch.long)}] * 2
    assert mean_average_precision(empty, truth)["map"] == 0.0


def test_map_errors():
    good = {"boxes": torch.zeros(1, 4), "labels": torch.zeros(1, dtype=torch.long)}
    with pytest.raises(ValueError, match="predictions and targets must have the same length, got 2 predictions, 1 targets"):
        mean_average_precision([{}, {}], [good])
    with pytest.raises(ValueError, match=r"predictions\[0\] must be a dict with keys"):
        mean_average_precision([{"boxes": torch.zeros(1, 4)}], [good])
    with pytest.raises(ValueError, match="interpolation"):
        average_precision(torch.ones(1), torch.ones(1), "coco")


def test_recall_by_size_by_hand():
    from course_utils.detection.metrics import recall_by_size

    truth = [{"boxes": torch.tensor([[0.0, 0, 8, 8], [20.0, 20, 50, 50], [0.0, 40, 10, 50]]),
              "labels": torch.tensor([0, 1, 0])}]
    preds = [{"boxes": torch.tensor([[0.0, 0, 8, 9], [20.0, 20, 50, 50], [0.0, 40, 10, 50]]),
              "scores": torch.ones(3), "labels": torch.tensor([0, 1, 2])}]  # the last has the wrong class
    out = recall_by_size(preds, truth, limit=16)
    # small: the 8x8 box is found (IoU 64/72), the 10x10 box is not (wrong class); large: found
    assert out == {"small": 0.5, "large": 1.0, "n_small": 2, "n_large": 1}
    with pytest.raises(ValueError, match="same length, got 1 predictions, 2 targets"):
        recall_by_size(preds, truth * 2)


# --- COCO: mAP@[.5:.95], 101-point AP, and the proof against torchmetrics (pycocotools) -------------


def test_101_point_ap_by_hand():
    # hits T, F, T of 2 boxes: precision 1, 1/2, 2/3 at recall 1/2, 1/2, 1. Recall points 0 .. 0.50 are
    # first reached by detection 1 (envelope 1), points 0.51 .. 1 by detection 3 (envelope 2/3).
    p, r = precision_recall(torch.tensor([True, False, True]), 2)
    assert average_precision(p, r, "101-point") == pytest.approx((51 * 1 + 50 * 2 / 3) / 101)
    # recall never reaching 1: the points beyond the last recall count 0
    p, r = precision_recall(torch.tensor([True]), 4)  # recall 0.25: points 0 .. 0.25 (26 of them)
    assert average_precision(p, r, "101-point") == pytest.approx(26 / 101)
    assert average_precision(torch.zeros(0, dtype=torch.float64), torch.zeros(0, dtype=torch.float64),
                             "101-point") == 0.0


def test_coco_claims_the_best_unclaimed_box_where_voc_counts_a_duplicate():
    # Two objects side by side; both detections overlap A most, the second also overlaps B enough.
    a, b = [0.0, 0, 10, 10], [6.0, 0, 16, 10]
    truth = [{"boxes": torch.tensor([a, b]), "labels": torch.tensor([0, 0])}]
    pred = [{"boxes": torch.tensor([a, [3.0, 0, 13, 10]]), "scores": torch.tensor([0.9, 0.8]),
             "labels": torch.tensor([0, 0])}]
    # second detection: IoU 7/13 = 0.54 with A (claimed), 7/13 with B as well, tie -> B is free
    voc = mean_average_precision(pred, truth, 0.5)
    coco = coco_map(pred, truth)
    assert voc["ap"][0] == pytest.approx(0.5)  # VOC: the second detection is a false positive
    assert coco["ap_50"][0] == pytest.approx(1.0)  # COCO: it claims B
    # at IoU >= 0.55 only the exact box counts: AP 1/2 (recall 1/2 at precision 1) -> 51/101
    assert coco["ap"][0] == pytest.approx((1.0 + 9 * 51 / 101) / 10)


def test_coco_map_without_ground_truth_is_nan_and_classes_without_it_do_not_count():
    pred = [{"boxes": torch.tensor([[0.0, 0, 4, 4]]), "scores": torch.tensor([0.9]), "labels": torch.tensor([2])}]
    empty = [{"boxes": torch.zeros(0, 4), "labels": torch.zeros(0, dtype=torch.long)}]
    assert np.isnan(coco_map(pred, empty)["map"])
    truth = [{"boxes": torch.tensor([[0.0, 0, 4, 4]]), "labels": torch.tensor([0])}]
    out = coco_map(pred, truth)  # class 0 has truth but no detection; class 2 has no truth
    assert out["ap"] == {0: 0.0} and out["map"] == 0.0


def _random_case(seed: int, images: int = 12, classes: int = 3, integer: bool = False,
                 crowded: bool = False) -> tuple[list[dict], list[dict]]:
    """Detections jittered around the truth, some with the wrong class, some images empty."""
    g = torch.Generator().manual_seed(seed)
    preds, targets = [], []
    for _ in range(images):
        classes = 2 if crowded else classes
        m = int(torch.randint(8, 20, (1,), generator=g)) if crowded else int(torch.randint(0, 6, (1,), generator=g))
        xy = torch.rand(m, 2, generator=g) * (30 if crowded else 80)
        t_boxes = torch.cat([xy, xy + torch.rand(m, 2, generator=g) * 30 + 2], 1)
        t_labels = torch.randint(0, classes, (m,), generator=g)
        d = int(torch.randint(150, 260, (1,), generator=g)) if crowded else int(torch.randint(0, 9, (1,), generator=g))
        src = torch.randint(0, max(m, 1), (d,), generator=g)
        base = t_boxes[src] if m else torch.rand(d, 4, generator=g) * 50
        p = base + torch.randn(d, 4, generator=g) * 2
        p_boxes = torch.cat([torch.minimum(p[:, :2], p[:, 2:]), torch.maximum(p[:, :2], p[:, 2:])], 1)
        p_labels = t_labels[src] if m else torch.randint(0, classes, (d,), generator=g)
        wrong = torch.rand(d, generator=g) < 0.2
        p_labels = torch.where(wrong, torch.randint(0, classes, (d,), generator=g), p_labels)
        scores = torch.rand(d, generator=g)
        if integer:  # integer corners and scores in quarters: many ties in IoU and in score
            p_boxes, t_boxes, scores = p_boxes.round(), t_boxes.round(), (scores * 4).round() / 4
        preds.append({"boxes": p_boxes, "scores": scores, "labels": p_labels})
        targets.append({"boxes": t_boxes, "labels": t_labels})
    preds.append({"boxes": torch.zeros(0, 4), "scores": torch.zeros(0), "labels": torch.zeros(0, dtype=torch.long)})
    targets.append({"boxes": torch.zeros(0, 4), "labels": torch.zeros(0, dtype=torch.long)})  # an empty image
    return preds, targets


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("kind", ["random", "ties", "crowded"])
def test_coco_map_equals_torchmetrics(seed, kind):
    # a test dependency (requirements.txt): a missing install fails here, it is not skipped
    from torchmetrics.detection import MeanAveragePrecision
    preds, targets = _random_case(seed, integer=kind == "ties", crowded=kind == "crowded")
    if kind == "crowded":  # over 100 detections of one class in one image: COCO's cap applies
        assert max(int((p["labels"] == c).sum()) for p in preds for c in (0, 1)) > 100
    metric = MeanAveragePrecision(
        iou_thresholds=list(COCO_IOU_THRESHOLDS), rec_thresholds=RECALL_POINTS_101.tolist(), class_metrics=True,
        backend="pycocotools")  # COCO's own floats (torchmetrics' defaults are float32 roundings of them)
    metric.warn_on_many_detections = False
    metric.update(preds, targets)
    theirs = metric.compute()
    ours = coco_map(preds, targets)
    for key in ("map", "map_50", "map_75"):
        assert ours[key] == pytest.approx(float(theirs[key]), abs=1e-6), key
    per_class = dict(zip(theirs["classes"].tolist(), theirs["map_per_class"].tolist()))
    assert {c: round(v, 6) for c, v in ours["ap"].items()} == {c: round(per_class[c], 6) for c in ours["ap"]}
    assert 0 < ours["map"] < ours["map_50"] <= 1  # the random cases are neither trivial nor empty
