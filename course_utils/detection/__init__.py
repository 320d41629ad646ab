"""Single-shot object detection from scratch: boxes, metrics, anchors, YOLOv2 (and SSD).

* :mod:`.boxes` -- formats, IoU, NMS (equal to ``torchvision.ops``).
* :mod:`.metrics` -- precision, recall, AP and mAP.
* :mod:`.anchors` -- k-means anchors with the 1 - IoU distance.
* :mod:`.yolo` -- the YOLOv2 head, target assignment, loss and decoding.
"""

from .boxes import FORMATS, batched_nms, box_area, box_convert, box_iou, nms

__all__ = ["FORMATS", "batched_nms", "box_area", "box_convert", "box_iou", "nms"]
