"""course_utils.detection.boxes: IoU, formats and NMS, by hand and against torchvision."""

from __future__ import annotations

import pytest
import torch
import torchvision.ops as tvops

from course_utils.detection import batched_nms, box_area, box_convert, box_iou, nms


def random_boxes(n: int, seed: int, size: float = 100.0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    xy = torch.rand(n, 2, generator=g) * size
    wh = torch.rand(n, 2, generator=g) * size / 3 + 1
    return torch.cat([xy, xy + wh], 1)


def test_iou_by_hand():
    a = torch.tensor([[0.0, 0, 2, 2]])
    b = torch.tensor([[1.0, 1, 3, 3], [2.0, 0, 4, 2], [0.0, 0, 2, 2], [5.0, 5, 6, 6]])
    # overlap 1 of union 7; touching edges: 0; identical: 1; disjoint: 0
    assert torch.allclose(box_iou(a, b), torch.tensor([[1 / 7, 0.0, 1.0, 0.0]]))
    assert box_area(b).tolist() == [4.0, 4.0, 4.0, 1.0]


@pytest.mark.parametrize("seed", range(3))
def test_iou_and_area_equal_torchvision(seed):
    b1, b2 = random_boxes(30, seed), random_boxes(20, seed + 10)
    assert torch.allclose(box_iou(b1, b2), tvops.box_iou(b1, b2), atol=1e-6)
    assert torch.allclose(box_area(b1), tvops.box_area(b1))
    assert box_iou(b1[:0], b2).shape == (0, 20)


@pytest.mark.parametrize("fmt", ["xywh", "cxcywh"])
def test_box_convert_round_trips_and_equals_torchvision(fmt):
    b = random_boxes(10, 0)
    there = box_convert(b, "xyxy", fmt)
    assert torch.allclose(there, tvops.box_convert(b, "xyxy", fmt))
    assert torch.allclose(box_convert(there, fmt, "xyxy"), b, atol=1e-5)
    assert torch.allclose(box_convert(torch.tensor([[5.0, 5, 4, 2]]), "cxcywh", "xyxy"),
                          torch.tensor([[3.0, 4, 7, 6]]))


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("threshold", [0.3, 0.5, 0.7])
def test_nms_equals_torchvision(seed, threshold):
    boxes = random_boxes(60, seed, size=60)
    scores = torch.rand(60, generator=torch.Generator().manual_seed(seed))
    assert torch.equal(nms(boxes, scores, threshold), tvops.nms(boxes, scores, threshold))
    labels = torch.randint(0, 3, (60,), generator=torch.Generator().manual_seed(seed))
    assert torch.equal(batched_nms(boxes, scores, labels, threshold),
                       tvops.batched_nms(boxes, scores, labels, threshold))


@pytest.mark.parametrize("kind", ["uniform", "clustered"])
@pytest.mark.parametrize("block", [1, 7, 256, 5000])
def test_nms_across_blocks_equals_torchvision(kind, block):
    # 600 boxes: many blocks, a block of one box, one block holding everything
    from course_utils.detection.nms_speed import nms_boxes

    boxes, scores = nms_boxes(600, kind, seed=4)
    for threshold in (0.0, 0.45, 1.0):
        assert torch.equal(nms(boxes, scores, threshold, block=block), tvops.nms(boxes, scores, threshold))


def test_nms_ties_across_a_block_boundary():
    # ten copies of one box with one score: only the first survives, whichever block the rest fall in
    boxes = torch.tensor([[0.0, 0, 10, 10]]).repeat(10, 1)
    scores = torch.full((10,), 0.5)
    assert nms(boxes, scores, 0.5, block=3).tolist() == [0] == tvops.nms(boxes, scores, 0.5).tolist()


def test_nms_timing_rows():
    from course_utils.detection.nms_speed import time_nms

    rows = time_nms([5, 30], repeats=1)
    assert [(r.boxes, r.kind) for r in rows] == [(5, "uniform"), (30, "uniform"), (5, "clustered"), (30, "clustered")]
    assert all(r.equal and 1 <= r.kept <= r.boxes and r.ours_ms > 0 and r.torchvision_ms > 0 for r in rows)
    assert rows[0].ratio == rows[0].ours_ms / rows[0].torchvision_ms


def test_nms_ties_and_empty_inputs():
    boxes = torch.tensor([[0.0, 0, 10, 10], [1.0, 1, 11, 11], [50.0, 50, 60, 60]])
    scores = torch.tensor([0.9, 0.9, 0.5])  # a tie: the earlier box wins
    assert nms(boxes, scores, 0.5).tolist() == [0, 2] == tvops.nms(boxes, scores, 0.5).tolist()
    empty = torch.zeros(0, 4)
    assert nms(empty, torch.zeros(0), 0.5).shape == (0,)
    assert batched_nms(empty, torch.zeros(0), torch.zeros(0, dtype=torch.long), 0.5).shape == (0,)


@pytest.mark.parametrize("call, message", [
    (lambda: box_iou(torch.tensor([[2.0, 0, 1, 1]]), torch.zeros(1, 4)), "x0 <= x1"),
    (lambda: box_iou(torch.zeros(3), torch.zeros(1, 4)), r"Tensor\[N, 4\]"),
    (lambda: box_convert(torch.zeros(1, 4), "xyxy", "yolo"), "unknown box format 'yolo'"),
    (lambda: nms(torch.zeros(2, 4), torch.zeros(3), 0.5), r"Tensor\[2\]"),
    (lambda: box_area(torch.zeros(2, 4, dtype=torch.long)), r"Tensor\[N, 4\] of floats, got Tensor\[2, 4\] int64"),
])
def test_box_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()
