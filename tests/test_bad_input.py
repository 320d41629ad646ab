"""Bad input never passes silently: the classes of bad input a new user tried, each with a clear error.

Each case is what a learner might pass by mistake, the error it must raise, and the
words the message must hold (the argument, and what was expected). Before the shared
validators (course_utils.validate) these were accepted silently, or failed deep inside
torch with a bare ``IndexError``/``RuntimeError``.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from course_utils.attribution import saliency, smoothgrad
from course_utils.detection.boxes import batched_nms, box_area, box_convert, box_iou, nms
from course_utils.detection.metrics import match_detections, mean_average_precision, precision_recall
from course_utils.detection.yolo import YoloConfig, build_targets, yolo_loss
from course_utils.receptive_field import receptive_field
from course_utils.training import confusion_matrix

NAN_BOX = torch.tensor([[0.0, 0.0, math.nan, 4.0]])
INVERTED = torch.tensor([[5.0, 0.0, 1.0, 4.0]])
OK_BOX = torch.tensor([[0.0, 0.0, 4.0, 4.0]])
ANCHORS = torch.tensor(YoloConfig().anchors)
CLASSIFIER = nn.Sequential(nn.Flatten(), nn.Linear(12, 3))
X = torch.rand(2, 3, 2, 2)


def _pred(boxes, scores, labels):
    return {"boxes": boxes, "scores": scores, "labels": labels}


CASES = [
    # NaN and negative geometry
    ("NaN box into IoU", lambda: box_iou(NAN_BOX, OK_BOX), ValueError, "boxes1 must be finite"),
    ("NaN box into NMS", lambda: nms(NAN_BOX, torch.ones(1), 0.5), ValueError, "boxes must be finite"),
    ("NaN score into NMS", lambda: nms(OK_BOX, torch.tensor([math.nan]), 0.5), ValueError, "scores must be finite"),
    ("NaN box into mAP", lambda: mean_average_precision([_pred(NAN_BOX, torch.ones(1), torch.zeros(1, dtype=torch.long))],
                                                        [{"boxes": OK_BOX, "labels": torch.zeros(1, dtype=torch.long)}]),
     ValueError, r"predictions\[0\]\['boxes'\] must be finite"),
    ("inverted xyxy into box_convert", lambda: box_convert(INVERTED, "xyxy", "cxcywh"), ValueError,
     "x0 <= x1 and y0 <= y1; box 0"),
    ("negative width in cxcywh", lambda: box_convert(torch.tensor([[2.0, 2.0, -1.0, 3.0]]), "cxcywh", "xyxy"),
     ValueError, "non-negative width and height; box 0"),
    ("inverted target box into YOLO's targets", lambda: build_targets([INVERTED], [torch.zeros(1, dtype=torch.long)],
                                                                      ANCHORS, 8, 8), ValueError, "x0 <= x1"),
    ("NaN target box into YOLO's targets", lambda: build_targets([NAN_BOX], [torch.zeros(1, dtype=torch.long)],
                                                                 ANCHORS, 8, 8), ValueError,
     r"boxes\[0\] must be finite"),
    ("IoU threshold out of range", lambda: nms(OK_BOX, torch.ones(1), 1.5), ValueError, r"iou_threshold .* \[0, 1\]"),
    # floats where integers are meant
    ("float attribution target", lambda: saliency(CLASSIFIER, X, torch.tensor([0.7, 1.2])), TypeError,
     "integer class indices"),
    ("float attribution target (Python)", lambda: saliency(CLASSIFIER, X, 1.5), TypeError, "int class index"),
    ("float SmoothGrad targets", lambda: smoothgrad(CLASSIFIER, X, [0.0, 1.0], n_samples=2), TypeError,
     "integer class indices"),
    ("float predictions into the confusion matrix", lambda: confusion_matrix(torch.tensor([0.9, 1.2]),
                                                                             torch.tensor([0, 1]), 3),
     ValueError, "predictions must be a 1-dimensional Tensor of integers.*argmax"),
    ("integer hits into precision_recall", lambda: precision_recall(torch.tensor([1, 0, 1]), 2), ValueError,
     "hits must be a 1-dimensional Tensor of bools"),
    ("fewer ground truths than hits", lambda: precision_recall(torch.tensor([True, True]), 1), ValueError,
     "n_truth must be an int of at least the 2 hits"),
    ("float labels into batched NMS", lambda: batched_nms(OK_BOX, torch.ones(1), torch.zeros(1), 0.5), ValueError,
     "labels must be Tensor\\[1\\] of integers"),
    ("float target labels into YOLO's targets", lambda: build_targets([OK_BOX], [torch.zeros(1)], ANCHORS, 8, 8),
     ValueError, r"labels\[0\] must be Tensor\[1\] of integers"),
    ("float num_classes", lambda: confusion_matrix(torch.tensor([0]), torch.tensor([0]), 3.0), TypeError,
     "num_classes must be a positive int"),
    # ambiguous shapes
    ("(C, H, W) as a receptive field's input size", lambda: receptive_field(nn.Conv2d(3, 4, 3), (3, 32, 32)),
     ValueError, r"\(H, W\), got \(3, 32, 32\) \(drop the channels"),
    ("a float input size", lambda: receptive_field(nn.Conv2d(3, 4, 3), 32.0), ValueError, "int or a pair of ints"),
    # mismatched lengths
    ("boxes and labels of different counts", lambda: build_targets([OK_BOX], [torch.zeros(2, dtype=torch.long)],
                                                                   ANCHORS, 8, 8), ValueError,
     r"labels\[0\] must be Tensor\[1\]"),
    ("a batch of predictions for another batch of targets",
     lambda: match_detections([_pred(OK_BOX, torch.ones(1), torch.zeros(1, dtype=torch.long))] * 2,
                              [{"boxes": OK_BOX, "labels": torch.zeros(1, dtype=torch.long)}], 0),
     ValueError, "predictions and targets must have the same length, got 2 predictions, 1 targets"),
    ("scores for another number of boxes", lambda: nms(OK_BOX, torch.ones(3), 0.5), ValueError,
     r"scores must be Tensor\[1\]"),
    ("a grid of one size against targets for another",
     lambda: yolo_loss(torch.zeros(1, 4, 4, 4, 10), build_targets([OK_BOX], [torch.zeros(1, dtype=torch.long)],
                                                                 ANCHORS, 8, 8), ANCHORS, 64),
     ValueError, "must match: build the targets with the model's grid"),
    # wrong types deep in the API
    ("a list of boxes", lambda: box_area([[0.0, 0.0, 1.0, 1.0]]), TypeError, r"boxes must be Tensor\[N, 4\]"),
    ("a list of scores", lambda: nms(OK_BOX, [1.0], 0.5), TypeError, r"scores must be Tensor\[1\]"),
    ("a list as predicted classes", lambda: confusion_matrix([0, 1], torch.tensor([0, 1]), 2), TypeError,
     "predictions must be"),
]


@pytest.mark.parametrize("what, call, error, message", CASES, ids=[c[0] for c in CASES])
def test_bad_input_raises_a_clear_error(what, call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_the_vlm_refuses_a_number_as_a_question(tmp_path):
    pytest.importorskip("transformers")
    from course_utils.vlm import VisionLanguageModel, tiny_config
    from course_utils.vlm.app import ask
    from course_utils.vlm.dataset import text_corpus, vlm_scenes
    from course_utils.vlm.language_model import build_lm
    from course_utils.vlm.tokenizer import train_tokenizer
    from course_utils.vlm.vision import build_vision_tower

    cfg = tiny_config(d_lm=16, lm_layers=1, lm_heads=2, lm_intermediate=32, d_vision=16, vision_layers=1,
                      vision_heads=2)
    scenes = vlm_scenes("train", 10)
    tok = train_tokenizer(text_corpus(scenes, cfg.eoi, cfg.eoq), 300)
    vlm = VisionLanguageModel(cfg, tok, build_lm(cfg, tok), vision=build_vision_tower(cfg))
    with pytest.raises(TypeError, match="question must be a str or None, got int"):
        ask(vlm, scenes[0].image, 5)
    with pytest.raises(ValueError, match=r"image must be .*Tensor\[3, H, W\]"):
        ask(vlm, scenes[0].image.float(), "what colour is the circle?")
    with pytest.raises(TypeError, match="each question must be a str or None, got 7"):
        vlm.generate(None, [7])
    with pytest.raises(TypeError, match="questions must be a list of str"):
        vlm.generate(None, "what shape?")
