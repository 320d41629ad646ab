"""Bad-input cases: data (datasets, the loader, normalisation, the shapes world, the readers' entry points).

The readers' damaged-file contracts are fuzzed in tests/test_fuzz_readers.py; these cases
are the arguments a learner gets wrong.
"""

from __future__ import annotations

import torch

from course_utils.data import load_dataset
from course_utils.data.cifar import decode_image_folder, load_cifar10
from course_utils.data.dataset import ImageDataset
from course_utils.data.loader import BatchLoader
from course_utils.data.mnist import load_mnist
from course_utils.data.normalize import channel_mean_std, denormalize, normalize
from course_utils.data.shapes import Scene, ShapeObject, make_scene, shapes_split

from . import Case


def _dataset(n=6):
    return ImageDataset(torch.zeros(n, 3, 4, 4, dtype=torch.uint8), torch.arange(n) % 3, ("a", "b", "c"), "toy",
                        "train")


CASES = [
    Case("an unknown dataset", load_dataset, lambda: load_dataset("imagenet"), ValueError,
         "unknown dataset 'imagenet'"),
    Case("an unknown CIFAR split", load_cifar10, lambda: load_cifar10("validation"), ValueError,
         "unknown split 'validation'"),
    Case("an unknown MNIST split", load_mnist, lambda: load_mnist("val"), ValueError, "unknown split 'val'"),
    Case("a class CIFAR-10 does not have", decode_image_folder,
         lambda: decode_image_folder(iter([("train", "llama", "0001", b"")])), ValueError,
         "unexpected class folder 'llama'"),
    Case("float images in a dataset", ImageDataset,
         lambda: ImageDataset(torch.rand(2, 3, 4, 4), torch.zeros(2, dtype=torch.long), ("a",), "toy", "train"),
         ValueError, r"images must be a uint8 Tensor\[N, C, H, W\]"),
    Case("a list of labels in a dataset", ImageDataset,
         lambda: ImageDataset(torch.zeros(2, 3, 4, 4, dtype=torch.uint8), [0, 0], ("a",), "toy", "train"), TypeError,
         "labels must be a Tensor"),
    Case("a transform that is not a function", ImageDataset.with_transform,
         lambda: _dataset().with_transform("normalize"), TypeError, "transform must be callable or None"),
    Case("float indices", ImageDataset.select, lambda: _dataset().select([0.5, 1.0]), TypeError,
         "indices must be ints"),
    Case("an index past the end", ImageDataset.select, lambda: _dataset().select([0, 6]), ValueError,
         r"indices must lie in \[0, 6\)"),
    Case("one class name as a string", ImageDataset.keep_classes, lambda: _dataset().keep_classes("a"), TypeError,
         r"wrap it: \['a'\]"),
    Case("a class the dataset lacks", ImageDataset.keep_classes, lambda: _dataset().keep_classes(["z"]), ValueError,
         "names must be distinct classes"),
    Case("a fraction as a subset size", ImageDataset.subset, lambda: _dataset().subset(0.5), TypeError,
         "n must be an int"),
    Case("more items per class than there are", ImageDataset.per_class_indices,
         lambda: _dataset().per_class_indices(3), ValueError, "k must be between 1 and the smallest class size 2"),
    Case("a float k", ImageDataset.per_class_indices, lambda: _dataset().per_class_indices(1.0), TypeError,
         "k must be an int"),
    Case("a tensor as the dataset", BatchLoader, lambda: BatchLoader(torch.zeros(2, 3, 4, 4), 2), TypeError,
         "BatchLoader needs an ImageDataset"),
    Case("a mean without a std", BatchLoader, lambda: BatchLoader(_dataset(), 2, mean=(0.5,) * 3), ValueError,
         "give both mean and std"),
    Case("grey statistics for colour images", BatchLoader,
         lambda: BatchLoader(_dataset(), 2, mean=(0.5,), std=(0.2,)), ValueError,
         r"mean must have one value per channel \(3\), got 1"),
    Case("an augmentation's result as the augmentation", BatchLoader,
         lambda: BatchLoader(_dataset(), 2, augment=torch.zeros(1)), TypeError, "augment must be a function"),
    Case("one image into channel_mean_std", channel_mean_std,
         lambda: channel_mean_std(torch.zeros(3, 4, 4, dtype=torch.uint8)), ValueError,
         "images must be a 4-dimensional Tensor"),
    Case("uint8 images into normalize", normalize,
         lambda: normalize(torch.zeros(3, 4, 4, dtype=torch.uint8), (0.5,) * 3, (0.2,) * 3), ValueError,
         "x must be a Tensor of floats"),
    Case("a zero std", normalize, lambda: normalize(torch.rand(3, 4, 4), (0.5,) * 3, (0.2, 0.0, 0.2)), ValueError,
         "std must be non-zero"),
    Case("statistics for another channel count", denormalize,
         lambda: denormalize(torch.rand(3, 4, 4), (0.5,), (0.2,)), ValueError, "std has 1 values but the image has 3"),
    Case("an unknown shape", ShapeObject, lambda: ShapeObject("hexagon", "red", (0, 0, 4, 4), False), ValueError,
         "a shape in"),
    Case("an inverted object box", ShapeObject, lambda: ShapeObject("circle", "red", (5, 0, 1, 4), False), ValueError,
         "box must be xyxy"),
    Case("a float image as a scene", Scene, lambda: Scene(torch.rand(3, 8, 8), [], "noise", 0), ValueError,
         r"image must be uint8 Tensor\[3, H, W\]"),
    Case("a float seed", make_scene, lambda: make_scene(1.5), TypeError, "seed must be a non-negative int"),
    Case("a negative seed", make_scene, lambda: make_scene(-1), ValueError, "seed must be a non-negative int"),
    Case("a tiny scene", make_scene, lambda: make_scene(0, size=8), ValueError, "size must be at least 16"),
    Case("an unknown shapes split", shapes_split, lambda: shapes_split("dev", 4), ValueError, "unknown split 'dev'"),
    Case("a float scene count", shapes_split, lambda: shapes_split("train", 4.0), TypeError,
         "n must be a positive int"),
]
