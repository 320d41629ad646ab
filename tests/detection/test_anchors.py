"""course_utils.detection.anchors: wh-IoU, k-means anchors."""

from __future__ import annotations

import pytest
import torch

from course_utils.detection.anchors import kmeans_anchors, mean_iou, wh_iou


def test_wh_iou_and_mean_iou_by_hand():
    a = torch.tensor([[2.0, 2.0]])
    b = torch.tensor([[2.0, 2.0], [1.0, 4.0], [4.0, 4.0]])
    # same centre: identical 1; 2x2 vs 1x4 overlap 1x2 = 2 of union 4 + 4 - 2 = 6; 2x2 inside 4x4: 4/16
    assert torch.allclose(wh_iou(a, b), torch.tensor([[1.0, 1 / 3, 0.25]]))
    assert mean_iou(b, a) == pytest.approx((1 + 1 / 3 + 0.25) / 3)


def test_kmeans_finds_two_obvious_clusters():
    small = torch.tensor([[4.0, 4.0], [5.0, 5.0], [4.0, 6.0]])
    large = torch.tensor([[40.0, 20.0], [44.0, 22.0], [42.0, 18.0]])
    anchors = kmeans_anchors(torch.cat([large, small]), 2, seed=3)
    assert torch.allclose(anchors, torch.stack([small.mean(0), large.mean(0)]))  # sorted by area
    assert mean_iou(torch.cat([small, large]), anchors) > 0.8
    assert torch.equal(kmeans_anchors(torch.cat([large, small]), 2, seed=3), anchors)  # seeded


@pytest.mark.parametrize("call, message", [
    (lambda: kmeans_anchors(torch.ones(3, 2), 2), "distinct box shapes"),
    (lambda: kmeans_anchors(torch.rand(5, 2) + 1, 6), "k must be between 1 and"),
    (lambda: kmeans_anchors(torch.tensor([[1.0, -1.0]]), 1), "positive"),
    (lambda: wh_iou(torch.ones(3), torch.ones(1, 2)), r"Tensor\[N, 2\]"),
])
def test_anchor_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()
