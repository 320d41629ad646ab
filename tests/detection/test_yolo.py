"""course_utils.detection.yolo: the head's shapes, decoding, targets and the loss."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from course_utils.data.shapes import shapes_split
from course_utils.detection.train import scenes_to_data
from course_utils.detection.yolo import (
    YoloConfig,
    YoloV2,
    assign_in_cell,
    build_targets,
    decode,
    output_shape,
    postprocess,
    space_to_depth,
    yolo_loss,
)


def test_output_shapes_of_the_real_yolov2():
    assert output_shape(416, 5, 20) == (13, 13, 5, 25)  # 13 x 13 x 125 channels for VOC
    assert output_shape(608, 5, 80) == (19, 19, 5, 85)  # COCO
    with pytest.raises(ValueError, match="multiple of the stride"):
        output_shape(400, 5, 20)


def test_space_to_depth_equals_pixel_unshuffle():
    x = torch.randn(2, 3, 8, 6)
    assert torch.equal(space_to_depth(x), F.pixel_unshuffle(x, 2))
    with pytest.raises(ValueError, match="multiples of the block"):
        space_to_depth(torch.randn(1, 1, 5, 4))


def test_small_yolo_shapes_and_passthrough():
    cfg = YoloConfig()
    net = YoloV2(cfg)
    raw = net(torch.randn(2, 3, 64, 64))
    assert raw.shape == (2, 8, 8, len(cfg.anchors), 5 + cfg.num_classes)
    plain = YoloV2(cfg, passthrough=False)
    assert plain(torch.randn(1, 3, 64, 64)).shape == (1, *raw.shape[1:])
    assert sum(p.numel() for p in plain.parameters()) < sum(p.numel() for p in net.parameters())
    with pytest.raises(ValueError, match="multiples of 8"):
        net(torch.randn(1, 3, 60, 60))


def test_decode_by_hand():
    anchors = torch.tensor([[10.0, 20.0]])
    raw = torch.zeros(1, 2, 2, 1, 7)  # all zeros: centre of each cell, anchor size
    out = decode(raw, anchors, stride=8)
    # cell (row 1, col 0): centre (4, 12), size 10 x 20 -> xyxy (-1, 2, 9, 22)
    assert torch.allclose(out["boxes"][0, 1, 0, 0], torch.tensor([-1.0, 2.0, 9.0, 22.0]))
    assert torch.allclose(out["objectness"], torch.full((1, 2, 2, 1), 0.5))
    assert torch.allclose(out["class_probs"], torch.full((1, 2, 2, 1, 2), 0.5))
    raw[0, 0, 1, 0, 2] = torch.log(torch.tensor(2.0))  # tw = log 2 doubles the width
    assert torch.allclose(decode(raw, anchors, 8)["boxes"][0, 0, 1, 0], torch.tensor([2.0, -6.0, 22.0, 14.0]))


def test_assign_in_cell_resolves_the_bottle_and_laptop_collision_by_hand():
    # Anil Bhatt's YOLO article: bottle and laptop share a cell and both match anchor A best
    bottle = [0.73, 0.57, 0.61, 0.52, 0.45]
    laptop = [0.74, 0.68, 0.59, 0.53, 0.47]
    assert assign_in_cell(torch.tensor([bottle, laptop])) == [2, 0]  # laptop takes A (0.74), bottle C (0.61)
    assert assign_in_cell(torch.tensor([laptop, bottle])) == [0, 2]  # the order of the objects does not matter
    assert assign_in_cell(torch.tensor([[0.9], [0.5]])) == [0, None]  # one anchor, two objects: one dropped
    assert assign_in_cell(torch.zeros(0, 3)) == []


def test_assign_in_cell_rejects_what_is_not_an_iou_matrix():
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        assign_in_cell(torch.tensor([[1.5, 0.2]]))
    with pytest.raises(ValueError, match="shape_iou"):
        assign_in_cell(torch.tensor([0.3, 0.2]))
    with pytest.raises(ValueError, match="shape_iou"):
        assign_in_cell(torch.tensor([[float("nan"), 0.2]]))
    with pytest.raises(TypeError, match="shape_iou"):
        assign_in_cell([[0.3, 0.2]])


def test_build_targets_assigns_cell_and_anchor_and_counts_collisions():
    anchors = torch.tensor([[8.0, 8.0], [24.0, 12.0]])
    boxes = [torch.tensor([[2.0, 2.0, 10.0, 10.0],  # centre (6, 6): cell (0, 0), square: anchor 0
                           [20.0, 10.0, 44.0, 22.0],  # centre (32, 16): cell row 2, col 4; wide: anchor 1
                           [3.0, 3.0, 9.0, 9.0]])]  # same cell, same best anchor as the first: a collision
    labels = [torch.tensor([1, 2, 0])]
    t = build_targets(boxes, labels, anchors, grid=8, stride=8)
    # the first box matches anchor 0 exactly (IoU 1) and keeps it; the 6x6 box (IoU 36/64 with it)
    # falls back to anchor 1 of the same cell
    assert t.responsible.sum() == 3 and t.collisions == 1 and t.dropped == 0
    assert t.responsible[0, 0, 0, 0] and t.responsible[0, 0, 0, 1] and t.responsible[0, 2, 4, 1]
    assert t.labels[0, 0, 0, 0] == 1 and t.labels[0, 0, 0, 1] == 0
    crowd = [torch.tensor([[1.0, 1.0, 7.0, 7.0], [2.0, 2.0, 6.0, 6.0], [0.0, 0.0, 8.0, 8.0]])]
    t2 = build_targets(crowd, [torch.tensor([0, 1, 2])], anchors, grid=8, stride=8)
    assert t2.responsible.sum() == 2 and t2.dropped == 1  # three objects, two anchors
    assert torch.allclose(t.xy[0, 2, 4, 1], torch.tensor([0.0, 0.0]))  # centre exactly on the cell corner
    assert torch.allclose(t.xy[0, 0, 0, 0], torch.tensor([0.75, 0.75]))
    assert t.wh[0, 2, 4, 1].tolist() == [24.0, 12.0] and t.labels[0, 2, 4, 1] == 2


def test_loss_is_zero_for_a_perfect_prediction_and_parts_add_up():
    cfg = YoloConfig(anchors=((8.0, 8.0),), num_classes=2, image_size=16)
    anchors = torch.tensor(cfg.anchors)
    boxes, labels = [torch.tensor([[2.0, 2.0, 10.0, 10.0]])], [torch.tensor([1])]
    t = build_targets(boxes, labels, anchors, grid=2, stride=8)
    raw = torch.full((1, 2, 2, 1, 7), -30.0)  # objectness 0 everywhere
    raw[0, 0, 0, 0, :2] = torch.logit(torch.tensor(0.75))  # the centre offsets
    raw[0, 0, 0, 0, 2:4] = 0.0  # the anchor's size, which is the box's
    raw[0, 0, 0, 0, 4] = 30.0  # objectness 1
    raw[0, 0, 0, 0, 5:] = torch.tensor([-30.0, 30.0])  # class 1
    loss, parts = yolo_loss(raw, t, anchors, 16)
    assert loss.item() < 1e-6 and set(parts) == {"xy", "wh", "obj", "noobj", "cls"}
    raw2 = raw.clone()
    raw2[0, 1, 1, 0, 4] = 0.0  # a background predictor at objectness 0.5
    loss2, parts2 = yolo_loss(raw2, t, anchors, 16, lambda_noobj=0.5)
    assert parts2["noobj"] == pytest.approx(0.25) and loss2.item() == pytest.approx(0.125, abs=1e-5)
    # IoU objectness target: the perfect box has IoU 1, so nothing changes
    loss3, _ = yolo_loss(raw, t, anchors, 16, objectness_target="iou", ignore_iou=0.6, gt_boxes=boxes)
    assert loss3.item() < 1e-6
    with pytest.raises(ValueError, match="needs gt_boxes"):
        yolo_loss(raw, t, anchors, 16, ignore_iou=0.6)


def test_loss_gradients_flow_and_postprocess_format():
    cfg = YoloConfig(widths=(4, 8, 8, 8))
    net = YoloV2(cfg)
    scenes = shapes_split("train", 4, 64)
    data = scenes_to_data(scenes)
    anchors = torch.tensor(cfg.anchors)
    raw = net((data.images.float() / 255 - 0.5) / 0.25)
    t = build_targets(data.boxes, data.labels, anchors, cfg.grid, cfg.stride)
    loss, _ = yolo_loss(raw, t, anchors, cfg.image_size)
    loss.backward()
    assert all(p.grad is not None for p in net.parameters())
    dets = postprocess(raw.detach(), anchors, cfg.stride, conf_threshold=0.0, max_detections=7)
    assert len(dets) == 4 and all(len(d["boxes"]) <= 7 and d["boxes"].shape[1] == 4 for d in dets)
