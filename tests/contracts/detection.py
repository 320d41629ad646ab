"""Bad-input cases: detection (boxes, anchors, metrics, YOLOv2, SSD, the training loop and the runs)."""

from __future__ import annotations

import math

import torch
from torch import nn

from course_utils.data.shapes import make_scene
from course_utils.detection import anchors, boxes, metrics, nms_speed, ssd, train, yolo
from course_utils.detection.recipe import DetectorRecipe
from course_utils.detection.run import run_ssd_shapes, run_yolo_shapes, trained_yolo_model
from course_utils.runtime import FLOAT32

from . import Case

NAN_BOX = torch.tensor([[0.0, 0.0, math.nan, 4.0]])
INVERTED = torch.tensor([[5.0, 0.0, 1.0, 4.0]])
OK_BOX = torch.tensor([[0.0, 0.0, 4.0, 4.0]])
ANCHORS = torch.tensor(yolo.YoloConfig().anchors)
ONE = torch.zeros(1, dtype=torch.long)
DEFAULTS = torch.tensor([[0.5, 0.5, 0.2, 0.2], [0.25, 0.25, 0.5, 0.5]])


def _pred(b=OK_BOX, scores=None, labels=ONE):
    return {"boxes": b, "scores": torch.ones(len(b)) if scores is None else scores, "labels": labels}


def _truth(b=OK_BOX, labels=ONE):
    return {"boxes": b, "labels": labels}


def _data(n=2):
    return train.scenes_to_data([make_scene(i) for i in range(n)])


CASES = [
    # anchors
    Case("one width-height pair without its batch", anchors.wh_iou,
         lambda: anchors.wh_iou(torch.ones(2), torch.ones(1, 2)), ValueError, r"wh1 must be Tensor\[N, 2\]"),
    Case("a negative width", anchors.wh_iou, lambda: anchors.wh_iou(torch.tensor([[-1.0, 2.0]]), torch.ones(1, 2)),
         ValueError, "widths and heights must be positive"),
    Case("no boxes for a mean IoU", anchors.mean_iou, lambda: anchors.mean_iou(torch.zeros(0, 2), ANCHORS),
         ValueError, "holds no boxes"),
    Case("more anchors than boxes", anchors.kmeans_anchors, lambda: anchors.kmeans_anchors(torch.ones(3, 2), 5),
         ValueError, "k must be between 1 and the number of boxes"),
    # boxes
    Case("NaN box into IoU", boxes.box_iou, lambda: boxes.box_iou(NAN_BOX, OK_BOX), ValueError,
         "boxes1 must be finite"),
    Case("an inverted box into IoU", boxes.box_iou, lambda: boxes.box_iou(OK_BOX, INVERTED), ValueError,
         r"boxes2 must be xyxy.*box_convert"),
    Case("NaN box into NMS", boxes.nms, lambda: boxes.nms(NAN_BOX, torch.ones(1), 0.5), ValueError,
         "boxes must be finite"),
    Case("NaN score into NMS", boxes.nms, lambda: boxes.nms(OK_BOX, torch.tensor([math.nan]), 0.5), ValueError,
         "scores must be finite"),
    Case("IoU threshold out of range", boxes.nms, lambda: boxes.nms(OK_BOX, torch.ones(1), 1.5), ValueError,
         r"iou_threshold .* \[0, 1\]"),
    Case("scores for another number of boxes", boxes.nms, lambda: boxes.nms(OK_BOX, torch.ones(3), 0.5), ValueError,
         r"scores must be Tensor\[1\]"),
    Case("a list of scores", boxes.nms, lambda: boxes.nms(OK_BOX, [1.0], 0.5), TypeError, r"scores must be Tensor\[1\]"),
    Case("inverted xyxy into box_convert", boxes.box_convert, lambda: boxes.box_convert(INVERTED, "xyxy", "cxcywh"),
         ValueError, "x0 <= x1 and y0 <= y1; box 0"),
    Case("negative width in cxcywh", boxes.box_convert,
         lambda: boxes.box_convert(torch.tensor([[2.0, 2.0, -1.0, 3.0]]), "cxcywh", "xyxy"), ValueError,
         "non-negative width and height; box 0"),
    Case("an unknown box format", boxes.box_convert, lambda: boxes.box_convert(OK_BOX, "xyxy", "yolo"), ValueError,
         "unknown box format 'yolo'"),
    Case("a list of boxes", boxes.box_area, lambda: boxes.box_area([[0.0, 0.0, 1.0, 1.0]]), TypeError,
         r"boxes must be Tensor\[N, 4\]"),
    Case("a zero block size for NMS", boxes.nms, lambda: boxes.nms(OK_BOX, torch.ones(1), 0.5, block=0), ValueError,
         "block must be a positive int"),
    # the NMS timing
    Case("an unknown kind of box set", nms_speed.nms_boxes, lambda: nms_speed.nms_boxes(10, "dense"), ValueError,
         r"kind must be one of \('uniform', 'clustered'\)"),
    Case("no boxes to time", nms_speed.nms_boxes, lambda: nms_speed.nms_boxes(0), ValueError,
         "n must be a positive int"),
    Case("one size where a list is meant", nms_speed.time_nms, lambda: nms_speed.time_nms(100), TypeError,
         "sizes must be a list of int"),
    Case("zero repeats", nms_speed.time_nms, lambda: nms_speed.time_nms([10], repeats=0), ValueError,
         "repeats must be a positive int"),
    Case("float labels into batched NMS", boxes.batched_nms,
         lambda: boxes.batched_nms(OK_BOX, torch.ones(1), torch.zeros(1), 0.5), ValueError,
         r"labels must be Tensor\[1\] of integers"),
    # metrics
    Case("a batch of predictions for another batch of targets", metrics.match_detections,
         lambda: metrics.match_detections([_pred()] * 2, [_truth()], 0), ValueError,
         "predictions and targets must have the same length, got 2 predictions, 1 targets"),
    Case("a float class to match", metrics.match_detections,
         lambda: metrics.match_detections([_pred()], [_truth()], 0.0), TypeError, "label must be an int"),
    Case("a prediction without scores", metrics.match_detections,
         lambda: metrics.match_detections([_truth()], [_truth()], 0), ValueError,
         r"predictions\[0\] must be a dict with keys \('boxes', 'scores', 'labels'\)"),
    Case("integer hits into precision_recall", metrics.precision_recall,
         lambda: metrics.precision_recall(torch.tensor([1, 0, 1]), 2), ValueError,
         "hits must be a 1-dimensional Tensor of bools"),
    Case("fewer ground truths than hits", metrics.precision_recall,
         lambda: metrics.precision_recall(torch.tensor([True, True]), 1), ValueError,
         "n_truth must be an int of at least the 2 hits"),
    Case("curves of two lengths", metrics.average_precision,
         lambda: metrics.average_precision(torch.ones(3), torch.ones(2)), ValueError, r"recall must be Tensor\[3\]"),
    Case("an unknown interpolation", metrics.average_precision,
         lambda: metrics.average_precision(torch.ones(1), torch.ones(1), "coco"), ValueError,
         r"interpolation must be one of \('all-point', '11-point', '101-point'\)"),
    Case("no detections allowed per image", metrics.coco_map,
         lambda: metrics.coco_map([_pred()], [_truth()], max_detections=0), ValueError,
         "max_detections must be a positive int"),
    Case("an inverted box into COCO mAP", metrics.coco_map, lambda: metrics.coco_map([_pred(INVERTED)], [_truth()]),
         ValueError, "must be xyxy"),
    Case("one image of predictions for two of targets", metrics.detection_scores,
         lambda: metrics.detection_scores([_pred()], [_truth(), _truth()]), ValueError,
         "predictions and targets must have the same length"),
    Case("NaN box into mAP", metrics.mean_average_precision,
         lambda: metrics.mean_average_precision([_pred(NAN_BOX)], [_truth()]), ValueError,
         r"predictions\[0\]\['boxes'\] must be finite"),
    Case("an IoU threshold of 0 into mAP", metrics.mean_average_precision,
         lambda: metrics.mean_average_precision([_pred()], [_truth()], iou_threshold=0.0), ValueError,
         r"iou_threshold must lie in \(0, 1\]"),
    Case("float target labels into recall_by_size", metrics.recall_by_size,
         lambda: metrics.recall_by_size([_pred()], [_truth(labels=torch.zeros(1))]), ValueError,
         r"targets\[0\]\['labels'\] must be Tensor\[1\] of integers"),
    # recipes and runs
    Case("a float epoch count", DetectorRecipe, lambda: DetectorRecipe(epochs=7.0), TypeError,
         "DetectorRecipe.epochs must be int, got 7.0"),
    Case("a zero learning rate", DetectorRecipe.yolo, lambda: DetectorRecipe.yolo("cpu", lr=0.0), ValueError,
         "lr must be a positive number"),
    Case("a misspelt preset override", DetectorRecipe.ssd, lambda: DetectorRecipe.ssd("cpu", epoch=3), TypeError,
         r"no field\(s\) \['epoch'\]"),
    Case("a dict as the YOLO recipe", run_yolo_shapes, lambda: run_yolo_shapes({"epochs": 1}), TypeError,
         "recipe must be a DetectorRecipe"),
    Case("a YOLO config for the SSD", run_ssd_shapes,
         lambda: run_ssd_shapes(DetectorRecipe.ssd("cpu"), config=yolo.YoloConfig()), TypeError,
         "config must be SSDConfig, got YoloConfig"),
    Case("scenes instead of detection data", trained_yolo_model,
         lambda: trained_yolo_model(profile="cpu", train=[make_scene(0)]), TypeError,
         "train must be DetectionData"),
    # SSD
    Case("one feature map", ssd.scales, lambda: ssd.scales(1), ValueError, "need at least 2 feature maps"),
    Case("conv4_3's scale above the others", ssd.ssd300_scales, lambda: ssd.ssd300_scales(20, 90, 30), ValueError,
         "first_ratio < min_ratio"),
    Case("an IoU above 1 for the anchor assignment", yolo.assign_in_cell,
         lambda: yolo.assign_in_cell(torch.tensor([[1.5, 0.2]])), ValueError, r"IoUs in \[0, 1\]"),
    Case("s_max below s_min", ssd.scales, lambda: ssd.scales(4, 0.5, 0.2), ValueError, r"s_max must lie in \[0.5, 1\]"),
    Case("flat aspect ratios", ssd.default_boxes, lambda: ssd.default_boxes([4, 2], [2, 3]), TypeError,
         "one sequence of ratios per feature map"),
    Case("a ratio of 0", ssd.boxes_per_position, lambda: ssd.boxes_per_position([(0,)]), ValueError,
         r"each aspect ratio must lie in \(0, inf\]"),
    Case("matched boxes for other defaults", ssd.encode, lambda: ssd.encode(torch.rand(3, 4), DEFAULTS), ValueError,
         r"matched must be Tensor\[2, 4\]"),
    Case("offsets for other defaults", ssd.decode, lambda: ssd.decode(torch.rand(1, 3, 4), DEFAULTS), ValueError,
         r"offsets must be Tensor\[\.\.\., 2, 4\]"),
    Case("float ground-truth labels into SSD's matching", ssd.match,
         lambda: ssd.match(OK_BOX / 8, torch.zeros(1), DEFAULTS), ValueError,
         r"gt_labels must be Tensor\[1\] of integers"),
    Case("mismatched loc and defaults", ssd.ssd_loss,
         lambda: ssd.ssd_loss(torch.zeros(1, 5, 4), torch.zeros(1, 5, 3), torch.zeros(4, 4), [], [], image_size=64),
         ValueError, "must agree"),
    Case("ground truth for another batch", ssd.ssd_loss,
         lambda: ssd.ssd_loss(torch.zeros(1, 2, 4), torch.zeros(1, 2, 3), DEFAULTS, [], [], image_size=64),
         ValueError, "loc and gt_boxes and gt_labels must have the same length"),
    Case("conf for other boxes", ssd.postprocess,
         lambda: ssd.postprocess(torch.zeros(1, 2, 4), torch.zeros(1, 3, 3), DEFAULTS, 64), ValueError,
         r"conf must be Tensor\[1, 2, N\]"),
    Case("a float image size in the SSD config", ssd.SSDConfig, lambda: ssd.SSDConfig(image_size=64.0), TypeError,
         "SSDConfig.image_size must be int"),
    Case("a dict as the SSD's config", ssd.SmallSSD, lambda: ssd.SmallSSD({"image_size": 64}), TypeError,
         "cfg must be SSDConfig"),
    Case("32-pixel images into a 64-pixel SSD", ssd.SmallSSD.forward,
         lambda: ssd.SmallSSD()(torch.zeros(1, 3, 32, 32)), ValueError, r"Tensor\[m, 3, 64, 64\]"),
    # the training loop
    Case("float images as detection data", train.DetectionData,
         lambda: train.DetectionData(torch.zeros(1, 3, 8, 8), [OK_BOX], [ONE]), ValueError,
         r"images must be a uint8 Tensor\[N, 3, H, W\]"),
    Case("one box tensor for the whole batch", train.DetectionData,
         lambda: train.DetectionData(torch.zeros(1, 3, 8, 8, dtype=torch.uint8), OK_BOX, [ONE]), TypeError,
         "one tensor per image"),
    Case("images instead of scenes", train.scenes_to_data,
         lambda: train.scenes_to_data(torch.zeros(2, 3, 8, 8)), TypeError, "scenes must be a list of shapes-world"),
    Case("no scenes", train.scenes_to_data, lambda: train.scenes_to_data([]), ValueError, "no scenes"),
    Case("normalised images into to_input", train.to_input, lambda: train.to_input(torch.rand(1, 3, 8, 8)),
         ValueError, "images must be uint8"),
    Case("a batch size of 0", train.batches, lambda: next(train.batches(_data(), 0)), ValueError,
         "batch_size must be a positive int"),
    Case("a float epoch count into train_detector", train.train_detector,
         lambda: train.train_detector(nn.Conv2d(3, 3, 1), _data(), lambda *a: None, epochs=1.0), TypeError,
         "epochs must be a positive int"),
    Case("a dtype as the precision", train.train_detector,
         lambda: train.train_detector(nn.Conv2d(3, 3, 1), _data(), lambda *a: None, epochs=1, precision=torch.float16),
         TypeError, "precision must be a runtime.Precision"),
    Case("detections as the postprocess function", train.predict_detector,
         lambda: train.predict_detector(nn.Conv2d(3, 3, 1), _data(), []), TypeError, "postprocess_fn must be callable"),
    Case("a model's output as the model", train.evaluate_detector,
         lambda: train.evaluate_detector(torch.zeros(1), _data(), lambda raw: []), TypeError,
         "model must be a torch.nn.Module"),
    # YOLOv2
    Case("a float class count in the YOLO config", yolo.YoloConfig, lambda: yolo.YoloConfig(num_classes=5.0),
         TypeError, "YoloConfig.num_classes must be int"),
    Case("a zero-width anchor", yolo.YoloConfig, lambda: yolo.YoloConfig(anchors=((0.0, 10.0),)), ValueError,
         "anchors must be positive"),
    Case("one image into space_to_depth", yolo.space_to_depth, lambda: yolo.space_to_depth(torch.zeros(3, 8, 8)),
         ValueError, "x must be a 4-dimensional Tensor"),
    Case("a dict as YOLO's config", yolo.YoloV2, lambda: yolo.YoloV2({"image_size": 64}), TypeError,
         "cfg must be YoloConfig"),
    Case("60-pixel images into YOLOv2", yolo.YoloV2.forward, lambda: yolo.YoloV2()(torch.zeros(1, 3, 60, 60)),
         ValueError, "multiples of 8"),
    Case("raw output for other anchors", yolo.decode, lambda: yolo.decode(torch.zeros(1, 4, 4, 2, 10), ANCHORS, 8),
         ValueError, r"raw must be Tensor\[m, S, S, B=4, 5 \+ C\]"),
    Case("inverted target box into YOLO's targets", yolo.build_targets,
         lambda: yolo.build_targets([INVERTED], [ONE], ANCHORS, 8, 8), ValueError, "x0 <= x1"),
    Case("NaN target box into YOLO's targets", yolo.build_targets,
         lambda: yolo.build_targets([NAN_BOX], [ONE], ANCHORS, 8, 8), ValueError, r"boxes\[0\] must be finite"),
    Case("float target labels into YOLO's targets", yolo.build_targets,
         lambda: yolo.build_targets([OK_BOX], [torch.zeros(1)], ANCHORS, 8, 8), ValueError,
         r"labels\[0\] must be Tensor\[1\] of integers"),
    Case("boxes and labels of different counts", yolo.build_targets,
         lambda: yolo.build_targets([OK_BOX], [torch.zeros(2, dtype=torch.long)], ANCHORS, 8, 8), ValueError,
         r"labels\[0\] must be Tensor\[1\]"),
    Case("a grid of one size against targets for another", yolo.yolo_loss,
         lambda: yolo.yolo_loss(torch.zeros(1, 4, 4, 4, 10), yolo.build_targets([OK_BOX], [ONE], ANCHORS, 8, 8),
                                ANCHORS, 64), ValueError, "must match: build the targets with the model's grid"),
    Case("a score threshold of 5", yolo.postprocess,
         lambda: yolo.postprocess(torch.zeros(1, 8, 8, 4, 10), ANCHORS, 8, conf_threshold=5.0), ValueError,
         r"conf_threshold must lie in \[0, 1\]"),
    Case("an image size off the stride", yolo.output_shape, lambda: yolo.output_shape(416, 5, 20, 30), ValueError,
         "must be a multiple of the stride"),
]
