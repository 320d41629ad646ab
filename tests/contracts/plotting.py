"""Bad-input cases: the figures (course_utils.plotting).

A figure helper that guessed would draw something plausible and wrong, so each refuses a
tensor in the wrong layout (HWC for CHW, a batch for one image), counts that do not match,
and detection dicts without what a box needs.
"""

from __future__ import annotations

import matplotlib
import torch

from course_utils import plotting
from course_utils.training import History

from . import Case

matplotlib.use("Agg")

IMAGES = torch.rand(2, 3, 8, 8)
DET = {"boxes": torch.tensor([[1.0, 1.0, 5.0, 5.0]]), "labels": torch.tensor([0])}

CASES = [
    Case("an HWC image for display", plotting.to_display, lambda: plotting.to_display(torch.rand(8, 8, 3)),
         ValueError, r"permute\(2, 0, 1\)"),
    Case("a NumPy array to display", plotting.to_display, lambda: plotting.to_display(IMAGES.numpy()), TypeError,
         "images must be a torch.Tensor"),
    Case("one title for two images", plotting.show_images, lambda: plotting.show_images(IMAGES, ["one"]),
         ValueError, "1 titles for 2 images"),
    Case("a fractional column count", plotting.show_images, lambda: plotting.show_images(IMAGES, ncols=2.5),
         TypeError, "ncols must be a positive int"),
    Case("a batch where one image is meant", plotting.show_channels, lambda: plotting.show_channels(IMAGES),
         ValueError, r"one image Tensor\[C, H, W\]"),
    Case("a 3-D tensor as a matrix", plotting.show_matrix, lambda: plotting.show_matrix(torch.zeros(1, 3, 3)),
         ValueError, r"2-D Tensor\[H, W\]"),
    Case("a matrix too large to annotate", plotting.show_matrices,
         lambda: plotting.show_matrices([torch.zeros(31, 31)]), ValueError, "too many cells"),
    Case("a flat vector as feature maps", plotting.show_feature_maps,
         lambda: plotting.show_feature_maps(torch.zeros(16)), ValueError, r"layer output Tensor\[C, H, W\]"),
    Case("fewer boxes than heatmaps", plotting.show_heatmaps,
         lambda: plotting.show_heatmaps(torch.zeros(2, 4, 4), boxes=[(0, 0, 1, 1)]), ValueError,
         "1 boxes for 2 heatmaps"),
    Case("attribution maps of another size", plotting.show_attributions,
         lambda: plotting.show_attributions(IMAGES, torch.zeros(2, 4, 4)), ValueError, r"maps must be Tensor\[N, H, W\]"),
    Case("a detection dict without labels", plotting.show_detections,
         lambda: plotting.show_detections(IMAGES[:1], [{"boxes": DET["boxes"]}], ["a"]), ValueError,
         r"detections\[0\] must be a dict with 'boxes' and 'labels'"),
    Case("boxes as a list", plotting.show_detections,
         lambda: plotting.show_detections(IMAGES[:1], [{"boxes": [[1, 1, 5, 5]], "labels": DET["labels"]}], ["a"]),
         TypeError, r"detections\[0\]\['boxes'\] must be a Tensor of floats, got list"),
    Case("a NaN box", plotting.show_detections,
         lambda: plotting.show_detections(IMAGES[:1], [{**DET, "boxes": torch.full((1, 4), float("nan"))}], ["a"]),
         ValueError, "must be finite"),
    Case("two labels for one box", plotting.show_detections,
         lambda: plotting.show_detections(IMAGES[:1], [{**DET, "labels": torch.tensor([0, 0])}], ["a"]), ValueError,
         "one label per box: 1 boxes, 2 labels"),
    Case("a label past the class names", plotting.show_detections,
         lambda: plotting.show_detections(IMAGES[:1], [{**DET, "labels": torch.tensor([3])}], ["a"]), ValueError,
         "label 3 outside the 1 class names"),
    Case("a series shorter than the labels", plotting.grouped_bars,
         lambda: plotting.grouped_bars(None, {"a": [1.0]}, ["x", "y"]), ValueError, "one value per label"),
    Case("a list of losses as a history", plotting.plot_history, lambda: plotting.plot_history([0.5, 0.4]),
         TypeError, "expected a training.History"),
    Case("an empty history", plotting.plot_history, lambda: plotting.plot_history(History()), ValueError,
         "is empty: nothing was trained"),
    Case("a non-square confusion matrix", plotting.plot_confusion_matrix,
         lambda: plotting.plot_confusion_matrix(torch.zeros(3, 2), ["a", "b", "c"]), ValueError,
         r"square Tensor\[K, K\]"),
]
