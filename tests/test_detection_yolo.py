"""Anchors, the YOLOv2 head, targets, loss and decoding, the shapes world and the detection trainer."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from course_utils.data.shapes import SHAPES, SPLIT_OFFSETS, make_scene, shapes_split
from course_utils.detection.anchors import kmeans_anchors, mean_iou, wh_iou
from course_utils.detection.train import evaluate_detector, scenes_to_data, train_detector
from course_utils.detection.yolo import (
    YoloConfig,
    YoloV2,
    build_targets,
    decode,
    output_shape,
    postprocess,
    space_to_depth,
    yolo_loss,
)


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


def test_shapes_world_is_deterministic_and_splits_are_disjoint():
    a, b = make_scene(5, 64), make_scene(5, 64)
    assert torch.equal(a.image, b.image) and a.objects == b.objects
    assert a.image.shape == (3, 64, 64) and a.image.dtype == torch.uint8
    assert SPLIT_OFFSETS["train"] + 10**6 < SPLIT_OFFSETS["val"] < SPLIT_OFFSETS["test"]
    test = shapes_split("test", 3, 48)
    assert test[0].seed == SPLIT_OFFSETS["test"] and test[0].size == 48


def test_shapes_boxes_cover_their_objects():
    for scene in shapes_split("train", 30, 64):
        boxes = scene.boxes
        assert ((boxes >= 0) & (boxes <= 64)).all() and (boxes[:, 2:] > boxes[:, :2]).all()
        assert scene.labels.max() < len(SHAPES)
        bg = scene.image.float().mean()
        assert 0 < bg < 255
        d = scene.describe()
        assert len(d["objects"]) == len(scene.objects) and d["background"] in ("stripes", "checks", "noise")


def test_a_square_is_drawn_exactly_in_its_box():
    # find a scene with one untruncated square and check the colour inside its box
    for seed in range(200):
        s = make_scene(seed, 64, max_objects=1)
        if s.objects and s.objects[0].shape == "square" and not s.objects[0].truncated:
            break
    x0, y0, x1, y1 = map(int, s.objects[0].box)
    from course_utils.data.shapes import COLOURS

    rgb = torch.tensor(COLOURS[s.objects[0].colour], dtype=torch.uint8).view(3, 1, 1)
    assert (s.image[:, y0:y1, x0:x1] == rgb).all()  # every pixel of the box has the colour
    ring = s.image[:, max(y0 - 1, 0):y1 + 1, max(x0 - 1, 0):x1 + 1]
    assert (ring == rgb).all(0).sum() == (y1 - y0) * (x1 - x0)  # and not one pixel more


def test_scenes_without_cuts_or_cover():
    # min_visible=1: no object hides any pixel of another; cut_fraction=0: none is cut by the border
    from course_utils.data.shapes import COLOURS

    checked = 0
    for seed in range(60):
        s = make_scene(seed, 48, max_objects=2, min_size=0.3, cut_fraction=0.0, min_visible=1.0)
        assert not any(o.truncated for o in s.objects)
        for o in s.objects:
            if o.shape in ("square", "rectangle"):  # a box-filling shape: every pixel of its box is its colour
                x0, y0, x1, y1 = map(int, o.box)
                rgb = torch.tensor(COLOURS[o.colour], dtype=torch.uint8).view(3, 1, 1)
                assert (s.image[:, y0:y1, x0:x1] == rgb).all()
                checked += len(s.objects) - 1
    assert checked > 5  # some of those boxes shared a scene with another object
    # the default keeps the chapters' scenes as they were: some cut, some covered
    assert any(o.truncated for seed in range(60) for o in make_scene(seed, 48, max_objects=2, min_size=0.3).objects)


@pytest.mark.parametrize("call, message", [
    (lambda: make_scene(0, 8), "at least 16"),
    (lambda: make_scene(0, 64, cut_fraction=1.5), "cut_fraction and min_visible"),
    (lambda: shapes_split("dev", 3), "unknown split 'dev'"),
    (lambda: make_scene(0, 64, max_objects=0), "max_objects"),
])
def test_shapes_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_trainer_learns_and_evaluates():
    cfg = YoloConfig(widths=(8, 16, 16, 32))
    net = YoloV2(cfg)
    data = scenes_to_data(shapes_split("train", 48, 64))
    anchors = torch.tensor(cfg.anchors)

    def loss_fn(raw, boxes, labels):
        return yolo_loss(raw, build_targets(boxes, labels, anchors, cfg.grid, cfg.stride), anchors, 64)

    history = train_detector(net, data, loss_fn, epochs=3, batch_size=16, lr=3e-3, progress=False)
    assert history.loss[-1] < history.loss[0]
    result = evaluate_detector(net, data, lambda raw: postprocess(raw, anchors, cfg.stride))
    assert 0.0 <= result["map"] <= 1.0 and set(result["ap"]) <= set(range(len(SHAPES)))


def test_bench_yolo_record(monkeypatch):
    from course_utils import bench, recipes

    tiny = {"n_train": 16, "epochs": 1, "batch_size": 8, "lr": 1e-3, "n_test": 8,
            "config": YoloConfig(widths=(4, 8, 8, 8))}
    monkeypatch.setattr(recipes, "yolo_settings", lambda profile=None: dict(tiny))
    record = bench.run("yolo")
    assert record["task"] == "yolo" and record["epochs"] == 1 and record["test_images"] == 8
    assert 0.0 <= record["value"] <= 1.0 and set(record["ap_per_class"]) <= set(SHAPES)
    assert {"parameters", "seconds", "inference_ms_per_image", "device", "profile"} <= record.keys()


def test_large_splits_are_cached_and_reload_identically():
    from course_utils.data import cache_dir

    first = shapes_split("val", 5, 32, cache=True)
    files = list(cache_dir("shapes").glob("val-5-32-*.pt"))
    assert len(files) == 1
    again = shapes_split("val", 5, 32, cache=True)  # loaded from the file
    assert all(torch.equal(a.image, b.image) and a.objects == b.objects and a.describe() == b.describe()
               for a, b in zip(first, again))
    fresh = shapes_split("val", 5, 32, cache=False)
    assert all(torch.equal(a.image, b.image) for a, b in zip(first, fresh))
    shapes_split("val", 5, 32, cache=True, max_objects=1)
    assert len(list(cache_dir("shapes").glob("val-5-32-*.pt"))) == 2  # other arguments, another file
