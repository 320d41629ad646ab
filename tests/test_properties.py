"""Property-based tests (hypothesis): random valid inputs agree with the library, random invalid ones raise.

Deterministic in CI: ``derandomize=True`` draws the same examples on every run and no
example database is kept, so a run is reproducible and bounded (``MAX`` examples per
property). A failure prints the smallest example hypothesis found.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
import torchvision.ops as tvops
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from course_utils.conv import conv2d_naive
from course_utils.detection.boxes import batched_nms, box_convert, box_iou, nms
from course_utils.detection.ssd import decode, encode
from course_utils.detection.yolo import space_to_depth

MAX = 60
settings.register_profile("course", derandomize=True, database=None, deadline=None, max_examples=MAX,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("course")

coord = st.integers(0, 40).map(float)  # whole pixels: ties and touching edges come up often


@st.composite
def xyxy_boxes(draw, min_n=0, max_n=12):
    n = draw(st.integers(min_n, max_n))
    rows = []
    for _ in range(n):
        x0, y0 = draw(coord), draw(coord)
        rows.append([x0, y0, x0 + draw(st.integers(1, 20)), y0 + draw(st.integers(1, 20))])
    return torch.tensor(rows, dtype=torch.float64).view(-1, 4)


@st.composite
def boxes_and_scores(draw):
    boxes = draw(xyxy_boxes(min_n=1))
    # few distinct scores, so that equal scores (ties) are common
    scores = torch.tensor([draw(st.sampled_from([0.1, 0.5, 0.5, 0.9])) for _ in range(len(boxes))],
                          dtype=torch.float64)
    return boxes, scores


@given(xyxy_boxes(), xyxy_boxes())
def test_box_iou_equals_torchvision(a, b):
    torch.testing.assert_close(box_iou(a, b), tvops.box_iou(a, b), equal_nan=True)


@given(boxes_and_scores(), st.sampled_from([0.0, 0.3, 0.5, 0.7, 1.0]))
def test_nms_equals_torchvision_with_ties(data, threshold):
    boxes, scores = data
    assert nms(boxes, scores, threshold).tolist() == tvops.nms(boxes, scores, threshold).tolist()


@given(boxes_and_scores(), st.data())
def test_batched_nms_equals_torchvision(data, draw):
    boxes, scores = data
    labels = torch.tensor(draw.draw(st.lists(st.integers(0, 2), min_size=len(boxes), max_size=len(boxes))))
    assert batched_nms(boxes, scores, labels, 0.5).tolist() == tvops.batched_nms(boxes, scores, labels, 0.5).tolist()


@given(xyxy_boxes(), st.sampled_from(["xyxy", "xywh", "cxcywh"]))
def test_box_convert_round_trips_and_equals_torchvision(boxes, fmt):
    there = box_convert(boxes, "xyxy", fmt)
    torch.testing.assert_close(there, tvops.box_convert(boxes, "xyxy", fmt))
    torch.testing.assert_close(box_convert(there, fmt, "xyxy"), boxes)


@given(st.integers(1, 2), st.sampled_from([1, 2]), st.integers(1, 3), st.integers(0, 2), st.integers(1, 2),
       st.integers(1, 2), st.integers(5, 9), st.booleans())
def test_conv2d_naive_equals_torch(batch, groups, k, padding, stride, dilation, size, bias):
    torch.manual_seed(batch * 100 + k * 10 + size)
    c_in, c_out = 2 * groups, 2 * groups
    if (k - 1) * dilation + 1 > size + 2 * padding:
        return  # the kernel does not fit: both raise, tested by hand in test_conv.py
    x = torch.randn(batch, c_in, size, size + 1, dtype=torch.float64)
    w = torch.randn(c_out, c_in // groups, k, k, dtype=torch.float64)
    b = torch.randn(c_out, dtype=torch.float64) if bias else None
    args = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    torch.testing.assert_close(conv2d_naive(x, w, b, **args), F.conv2d(x, w, b, **args))


@given(st.lists(st.tuples(st.floats(1, 60), st.floats(1, 60), st.floats(0.5, 40), st.floats(0.5, 40)),
                min_size=1, max_size=10), st.data())
def test_ssd_encode_decode_round_trip(rows, draw):
    matched = torch.tensor(rows, dtype=torch.float64)
    defaults = torch.tensor(draw.draw(st.lists(st.tuples(st.floats(1, 60), st.floats(1, 60), st.floats(1, 40),
                                                         st.floats(1, 40)), min_size=len(rows), max_size=len(rows))),
                            dtype=torch.float64)
    torch.testing.assert_close(decode(encode(matched, defaults), defaults), matched)


@given(st.integers(1, 2), st.integers(1, 3), st.integers(1, 4), st.integers(1, 4), st.sampled_from([1, 2, 3]))
def test_space_to_depth_equals_pixel_unshuffle(b, c, h, w, block):
    x = torch.arange(b * c * h * block * w * block, dtype=torch.float32).view(b, c, h * block, w * block)
    assert torch.equal(space_to_depth(x, block), F.pixel_unshuffle(x, block))


# --------------------------------------------------------------------------- invalid input always raises

@given(xyxy_boxes(min_n=1), st.data())
def test_a_nan_anywhere_in_the_boxes_raises(boxes, draw):
    i = draw.draw(st.integers(0, len(boxes) - 1))
    j = draw.draw(st.integers(0, 3))
    boxes = boxes.clone()
    boxes[i, j] = draw.draw(st.sampled_from([math.nan, math.inf, -math.inf]))
    for call in (lambda: box_iou(boxes, boxes), lambda: nms(boxes, torch.ones(len(boxes)), 0.5),
                 lambda: box_convert(boxes, "xyxy", "cxcywh")):
        with pytest.raises(ValueError, match="must be finite"):
            call()


@given(xyxy_boxes(min_n=1), st.data())
def test_an_inverted_box_raises_and_names_it(boxes, draw):
    i = draw.draw(st.integers(0, len(boxes) - 1))
    boxes = boxes.clone()
    boxes[i] = boxes[i][[2, 1, 0, 3]] if draw.draw(st.booleans()) else boxes[i][[0, 3, 2, 1]]  # swap x or y
    with pytest.raises(ValueError, match=rf"x0 <= x1 and y0 <= y1; box {i} is"):
        box_iou(boxes, boxes)


@given(xyxy_boxes(min_n=1), st.integers(1, 5), st.booleans())
def test_mismatched_scores_raise(boxes, extra, fewer):
    n = max(len(boxes) - extra, 0) if fewer else len(boxes) + extra
    with pytest.raises(ValueError, match=rf"scores must be Tensor\[{len(boxes)}\]"):
        nms(boxes, torch.ones(n, dtype=torch.float64), 0.5)


@given(xyxy_boxes(min_n=1), st.sampled_from([torch.int64, torch.int32, torch.uint8, torch.bool]))
def test_integer_boxes_raise(boxes, dtype):
    with pytest.raises(ValueError, match=r"Tensor\[N, 4\] of floats"):
        box_iou(boxes.to(dtype), boxes)
