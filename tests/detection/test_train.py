"""course_utils.detection.train: the shared detector trainer learns, and evaluates."""

from __future__ import annotations

import torch

from course_utils.data.shapes import SHAPES, shapes_split
from course_utils.detection.train import evaluate_detector, scenes_to_data, train_detector
from course_utils.detection.yolo import YoloConfig, YoloV2, build_targets, postprocess, yolo_loss


def test_trainer_learns_and_evaluates():
    cfg = YoloConfig(widths=(8, 16, 16, 32))
    net = YoloV2(cfg)
    data = scenes_to_data(shapes_split("train", 48, 64))
    anchors = torch.tensor(cfg.anchors)

    def loss_fn(raw, boxes, labels):
        return yolo_loss(raw, build_targets(boxes, labels, anchors, cfg.grid, cfg.stride), anchors, 64)

    history = train_detector(net, data, loss_fn, epochs=3, batch_size=16, lr=3e-3, progress=False)
    assert history.train_loss[-1] < history.train_loss[0] and len(history.parts) == 3
    result = evaluate_detector(net, data, lambda raw: postprocess(raw, anchors, cfg.stride))
    assert 0.0 <= result["map"] <= 1.0 and set(result["ap"]) <= set(range(len(SHAPES)))
