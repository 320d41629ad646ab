"""course_utils.detection.ssd: default boxes (the 8732 count), matching, offset encoding, the loss, post-processing."""

from __future__ import annotations

import math

import pytest
import torch

from course_utils.detection import box_convert
from course_utils.detection.ssd import (
    SSD300_ASPECT_RATIOS,
    SSD300_FEATURE_SIZES,
    SmallSSD,
    SSDConfig,
    boxes_per_position,
    decode,
    default_boxes,
    ssd300_scales,
    encode,
    match,
    postprocess,
    scales,
    ssd_loss,
)


def test_ssd300_has_8732_default_boxes():
    boxes = default_boxes(SSD300_FEATURE_SIZES, SSD300_ASPECT_RATIOS)
    per_map = [f * f * a for f, a in zip(SSD300_FEATURE_SIZES, boxes_per_position(SSD300_ASPECT_RATIOS))]
    assert per_map == [38**2 * 4, 19**2 * 6, 10**2 * 6, 5**2 * 6, 3**2 * 4, 1**2 * 4]
    assert boxes.shape == (8732, 4) == (sum(per_map), 4)


def test_ssd300_scales_are_the_reference_code_s():
    # VOC: conv4_3 at 0.1, then 20% to 88% of the side in steps of 17 (the ML & AI page quotes the code)
    assert ssd300_scales() == pytest.approx([0.1, 0.2, 0.37, 0.54, 0.71, 0.88, 1.05])
    # COCO, the scales of torchvision's ssd300_vgg16
    assert ssd300_scales(15, 90, 7) == pytest.approx([0.07, 0.15, 0.33, 0.51, 0.69, 0.87, 1.05])
    boxes = default_boxes(SSD300_FEATURE_SIZES, SSD300_ASPECT_RATIOS, scales_k=ssd300_scales())
    assert boxes.shape == (8732, 4)
    assert boxes[:, 2:].min() == pytest.approx(0.1 / math.sqrt(2))  # conv4_3's ratio-2 box, 0.1 / sqrt(2) tall
    with pytest.raises(ValueError, match="needs 7 scales"):
        default_boxes(SSD300_FEATURE_SIZES, SSD300_ASPECT_RATIOS, scales_k=ssd300_scales()[:6])
    with pytest.raises(ValueError, match="first_ratio < min_ratio"):
        ssd300_scales(20, 90, 30)
    with pytest.raises(ValueError, match="too close"):
        ssd300_scales(20, 23, 10)


def test_default_boxes_equal_torchvision_s_generator():
    from torchvision.models.detection.anchor_utils import DefaultBoxGenerator
    s = ssd300_scales(15, 90, 7)
    tv = DefaultBoxGenerator([list(r) for r in SSD300_ASPECT_RATIOS], scales=s, clip=False)
    theirs = tv._grid_default_boxes([[f, f] for f in SSD300_FEATURE_SIZES], [300, 300])
    ours = default_boxes(SSD300_FEATURE_SIZES, SSD300_ASPECT_RATIOS, scales_k=s)
    assert torch.allclose(ours, theirs, atol=1e-6)


def test_scales_and_the_boxes_of_one_position_by_hand():
    s = scales(6)
    assert [round(v, 2) for v in s] == [0.2, 0.34, 0.48, 0.62, 0.76, 0.9, 1.04]
    boxes = default_boxes((2, 1), ((2,), (2,)))  # two maps: s = 0.2 and 0.9 (and 1.6 for the extra box)
    first = boxes[:4]  # position (0, 0) of the 2x2 map
    assert torch.allclose(first[:, :2], torch.full((4, 2), 0.25))  # centre ((0 + 0.5) / 2, ...)
    expected_wh = torch.tensor([[0.2, 0.2], [math.sqrt(0.2 * 0.9)] * 2,
                                [0.2 * math.sqrt(2), 0.2 / math.sqrt(2)], [0.2 / math.sqrt(2), 0.2 * math.sqrt(2)]])
    assert torch.allclose(first[:, 2:], expected_wh)
    assert torch.allclose(boxes[4, :2], torch.tensor([0.75, 0.25]))  # next position: the next column
    clipped = box_convert(default_boxes((2, 1), ((2,), (2,)), clip=True), "cxcywh", "xyxy")
    assert clipped.min() >= 0 and clipped.max() <= 1


def test_encode_decode_round_trip():
    defaults = default_boxes((4, 2), ((2,), (2, 3)))
    g = torch.Generator().manual_seed(0)
    boxes = torch.cat([torch.rand(len(defaults), 2, generator=g),
                       torch.rand(len(defaults), 2, generator=g) * 0.5 + 0.05], 1)
    assert torch.allclose(decode(encode(boxes, defaults), defaults), boxes, atol=1e-5)
    assert torch.allclose(encode(defaults, defaults), torch.zeros_like(defaults))  # a default box encodes to 0
    # by hand: centre shifted by 10% of the width, width doubled, variances (0.1, 0.2)
    d = torch.tensor([[0.5, 0.5, 0.2, 0.4]])
    b = torch.tensor([[0.52, 0.5, 0.4, 0.4]])
    assert torch.allclose(encode(b, d), torch.tensor([[1.0, 0.0, math.log(2) / 0.2, 0.0]]), atol=1e-6)


def test_match_forces_each_object_and_thresholds_the_rest():
    defaults = torch.tensor([[0.25, 0.25, 0.5, 0.5], [0.75, 0.75, 0.5, 0.5], [0.4, 0.4, 0.5, 0.5],
                             [0.5, 0.5, 0.1, 0.1]])
    gt = torch.tensor([[0.0, 0.0, 0.5, 0.5], [0.45, 0.45, 0.56, 0.56]])  # xyxy
    labels, boxes = match(gt, torch.tensor([3, 1]), defaults, threshold=0.5)
    # default 0 equals gt 0 (IoU 1); default 2 overlaps it by 0.35^2/(0.5-0.35^2) = 0.32 < 0.5: background;
    # gt 1 is tiny: its best default (3, IoU 0.1^2/0.11^2 = 0.83) is forced
    assert labels.tolist() == [4, 0, 0, 2]
    assert torch.allclose(boxes[0], torch.tensor([0.25, 0.25, 0.5, 0.5]))
    assert torch.allclose(boxes[1], defaults[1])  # background keeps its own box
    empty_labels, _ = match(torch.zeros(0, 4), torch.zeros(0, dtype=torch.long), defaults)
    assert empty_labels.tolist() == [0, 0, 0, 0]


def test_loss_mines_three_negatives_per_positive():
    cfg = SSDConfig(widths=(4, 8, 8, 8))
    net = SmallSSD(cfg)
    x = torch.randn(2, 3, 64, 64)
    loc, conf = net(x)
    n = len(net.defaults)
    assert loc.shape == (2, n, 4) and conf.shape == (2, n, 6)
    boxes = [torch.tensor([[8.0, 8.0, 40.0, 40.0]]), torch.tensor([[30.0, 10.0, 60.0, 30.0], [0.0, 40.0, 20.0, 64.0]])]
    labels = [torch.tensor([0]), torch.tensor([2, 4])]
    loss, parts = ssd_loss(loc, conf, net.defaults, boxes, labels, image_size=64)
    loss.backward()
    assert loss.item() > 0 and parts["positives"] >= 1.5  # at least one default box per object
    assert all(p.grad is not None for p in net.parameters())
    # with perfect predictions (targets and huge correct scores) the loss vanishes
    from course_utils.detection.ssd import encode as enc

    lab0, box0 = match(boxes[0] / 64, labels[0], net.defaults)
    perfect_loc = enc(box0, net.defaults)[None]
    perfect_conf = torch.full((1, n, 6), -20.0)
    perfect_conf[0, torch.arange(n), lab0] = 20.0
    zero, _ = ssd_loss(perfect_loc, perfect_conf, net.defaults, boxes[:1], labels[:1], image_size=64)
    assert zero.item() < 1e-6


def test_postprocess_recovers_an_encoded_box():
    cfg = SSDConfig()
    defaults = default_boxes(cfg.feature_sizes, cfg.aspect_ratios, s_min=cfg.s_min)
    n = len(defaults)
    truth = torch.tensor([[10.0, 12.0, 40.0, 30.0]])
    lab, box = match(truth / 64, torch.tensor([2]), defaults)
    loc = encode(box, defaults)[None]
    conf = torch.full((1, n, 6), -10.0)
    conf[0, :, 0] = 10.0  # background everywhere...
    conf[0, lab > 0, 0] = -10.0
    conf[0, lab > 0, 3] = 10.0  # ...except the matched boxes: class 2
    (det,) = postprocess(loc, conf, defaults, 64, conf_threshold=0.5)
    assert len(det["boxes"]) == 1 and det["labels"].tolist() == [2]
    assert torch.allclose(det["boxes"], truth, atol=1e-3)


@pytest.mark.parametrize("call, message", [
    (lambda: default_boxes((4, 2), ((2,),)), "2 feature maps but 1"),
    (lambda: scales(1), "at least 2"),
    (lambda: SmallSSD()(torch.zeros(1, 3, 32, 32)), r"Tensor\[m, 3, 64, 64\]"),
    (lambda: ssd_loss(torch.zeros(1, 5, 4), torch.zeros(1, 5, 3), torch.zeros(4, 4), [], [], image_size=64),
     "must agree"),
])
def test_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()
