"""course_utils.detection.metrics: AP and mAP by hand and against the VOC devkit's algorithm."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from course_utils.detection.metrics import average_precision, mean_average_precision, precision_recall


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
        average_precision(torch.ones(1), torch.ones(1), "101-point")


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
