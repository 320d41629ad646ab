"""A labelled image dataset held in memory as one uint8 tensor.

Small vision datasets (MNIST: 47 MB, CIFAR-10: 184 MB as uint8) fit in memory.
Keeping them as a single ``uint8`` tensor ``Tensor[N, C, H, W]`` means images are
decoded once, batches can be sliced without a Python loop, and the whole set can
be moved to a GPU; ``float32`` would take four times the memory.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import torch
from torch import Tensor
from torch.utils.data import Dataset

from .. import validate


class DatasetNotFoundError(RuntimeError):
    """Raised when a dataset is neither in the offline mirror nor downloadable."""


@dataclass(frozen=True, eq=False)
class ImageDataset(Dataset):
    """Images, labels and class names, indexable like a torchvision dataset.

    Attributes:
        images: ``Tensor[N, C, H, W]``, dtype uint8 (0..255).
        labels: ``Tensor[N]``, dtype int64, each in ``[0, len(classes))``.
        classes: class names; ``classes[k]`` is the name of label ``k``.
        name: dataset name, e.g. ``"cifar10"``.
        split: ``"train"`` or ``"test"``.
        source: where the data came from (a mirror path or ``"download"``).
        transform: applied to each float image in ``__getitem__`` (e.g. ``Normalize``).

    ``dataset[i]`` returns ``(image, label)`` with ``image`` a ``Tensor[C, H, W]``
    float32 in [0, 1] (as ``ToTensor`` would give), then ``transform`` if set.

    Raises:
        TypeError: ``images`` or ``labels`` is not a tensor, ``classes`` not a tuple of names, or
            ``transform`` not callable.
        ValueError: ``images`` is not uint8 ``Tensor[N, C, H, W]``, ``labels`` not int64 ``Tensor[N]`` in
            ``[0, len(classes))``, or the lengths differ.
    """

    images: Tensor
    labels: Tensor
    classes: tuple[str, ...]
    name: str
    split: str
    source: str = ""
    transform: Callable[[Tensor], Tensor] | None = None

    def __post_init__(self) -> None:
        validate.tensor(self.images, "images", hint="(uint8 Tensor[N, C, H, W])")
        validate.tensor(self.labels, "labels", hint="(int64 Tensor[N])")
        if isinstance(self.classes, str) or not all(isinstance(c, str) for c in self.classes):
            raise TypeError(f"classes must be a tuple of class names, got {self.classes!r}")
        if self.transform is not None and not callable(self.transform):
            raise TypeError(f"transform must be callable or None, got {validate.describe(self.transform)}")
        if not isinstance(self.images, Tensor) or self.images.dtype != torch.uint8 or self.images.ndim != 4:
            got = (
                f"{type(self.images).__name__}"
                if not isinstance(self.images, Tensor)
                else f"dtype={self.images.dtype}, shape={tuple(self.images.shape)}"
            )
            raise ValueError(f"images must be a uint8 Tensor[N, C, H, W]; got {got}")
        if self.labels.ndim != 1 or self.labels.dtype != torch.int64:
            raise ValueError(
                f"labels must be an int64 Tensor[N]; got dtype={self.labels.dtype}, "
                f"shape={tuple(self.labels.shape)}"
            )
        if len(self.labels) != len(self.images):
            raise ValueError(f"{len(self.images)} images but {len(self.labels)} labels")
        if len(self.labels) and (int(self.labels.min()) < 0 or int(self.labels.max()) >= len(self.classes)):
            raise ValueError(
                f"labels must lie in [0, {len(self.classes)}) for {len(self.classes)} classes; "
                f"got range [{int(self.labels.min())}, {int(self.labels.max())}]"
            )

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[Tensor, int]:
        image = self.images[index].float().div_(255)  # (C, H, W) in [0, 1]
        if self.transform is not None:
            image = self.transform(image)
        return image, int(self.labels[index])

    def __repr__(self) -> str:
        n, c, h, w = self.images.shape
        return (
            f"ImageDataset(name={self.name!r}, split={self.split!r}, n={n}, "
            f"image=(C={c}, H={h}, W={w}) uint8, classes={len(self.classes)}, source={self.source!r})"
        )

    @property
    def targets(self) -> Tensor:
        """Alias of ``labels``, as torchvision's datasets call them."""
        return self.labels

    def with_transform(self, transform: Callable[[Tensor], Tensor] | None) -> "ImageDataset":
        """The same data with another per-item transform (no copy of the tensors).

        Raises:
            TypeError: ``transform`` is neither callable nor None.
        """
        if transform is not None and not callable(transform):
            raise TypeError(f"transform must be callable or None, got {validate.describe(transform)}")
        return replace(self, transform=transform)

    def select(self, indices: Sequence[int] | Tensor) -> "ImageDataset":
        """A new dataset holding only ``indices`` (in that order).

        Raises:
            TypeError: ``indices`` are not ints (floats, bools, a string).
            ValueError: an index lies outside the dataset.
        """
        if isinstance(indices, Tensor):
            validate.tensor(indices, "indices", ndim=1, dtype="int", hint="(item indices)")
            idx = indices.long()
        elif isinstance(indices, (str, bytes)) or not all(isinstance(i, int) and not isinstance(i, bool)
                                                          for i in indices):
            raise TypeError(f"indices must be ints (a list or a Tensor[K] of integers), got {indices!r}")
        else:
            idx = torch.as_tensor(list(indices), dtype=torch.long)
        if len(idx) and (int(idx.min()) < -len(self) or int(idx.max()) >= len(self)):
            raise ValueError(f"indices must lie in [0, {len(self)}), got values from {int(idx.min())} to "
                             f"{int(idx.max())}")
        return replace(self, images=self.images[idx], labels=self.labels[idx])

    def keep_classes(self, names: Sequence[str]) -> "ImageDataset":
        """Only the items of the classes ``names``, relabelled ``0..len(names)-1`` in that order.

        ``load_dataset("cifar10", "train").keep_classes(["airplane", "automobile", "ship"])``
        is the CIFAR-3 of the seed walk-through.

        Raises:
            TypeError: ``names`` is one string, not a list of names.
            ValueError: ``names`` is empty, repeats a class, or names one the dataset does not have.
        """
        if isinstance(names, str):
            raise TypeError(f"names must be a list of class names, got the str {names!r} (wrap it: [{names!r}])")
        names = tuple(names)
        unknown = [n for n in names if n not in self.classes]
        if not names or unknown or len(set(names)) != len(names):
            raise ValueError(f"names must be distinct classes of {self.name} {list(self.classes)}; "
                             f"got {list(names)}")
        old = torch.tensor([self.classes.index(n) for n in names])
        mapping = torch.full((len(self.classes),), -1, dtype=torch.long)
        mapping[old] = torch.arange(len(names))
        keep = torch.nonzero(mapping[self.labels] >= 0).flatten()
        return replace(self, images=self.images[keep], labels=mapping[self.labels[keep]], classes=names)

    def subset(self, n: int, *, seed: int = 0, per_class: bool = True) -> "ImageDataset":
        """A reproducible random subset of ``n`` items (the ``cpu`` profile's slices).

        Args:
            n: how many items; must be between 1 and ``len(self)``.
            seed: seed of the random choice, so a chapter gets the same slice every run.
            per_class: keep classes balanced (``n // num_classes`` each, the
                remainder to the first classes) instead of a plain random draw.

        Raises:
            TypeError: ``n`` is not an int.
            ValueError: ``n`` lies outside [1, len], or a class has too few items for a balanced subset.
        """
        if isinstance(n, bool) or not isinstance(n, int):
            raise TypeError(f"n must be an int (a number of items), got {n!r}")
        if not 1 <= n <= len(self):
            raise ValueError(f"subset size must be in [1, {len(self)}], got {n}")
        gen = torch.Generator().manual_seed(seed)
        if not per_class:
            return self.select(torch.randperm(len(self), generator=gen)[:n].sort().values)
        k = len(self.classes)
        chosen = []
        for c in range(k):
            want = n // k + (1 if c < n % k else 0)
            members = torch.nonzero(self.labels == c).flatten()
            if want > len(members):
                raise ValueError(f"class {self.classes[c]!r} has {len(members)} items, {want} requested")
            chosen.append(members[torch.randperm(len(members), generator=gen)[:want]])
        return self.select(torch.cat(chosen).sort().values)

    def per_class_indices(self, k: int = 1) -> Tensor:
        """``Tensor[k, K]``: row r holds the index of the r-th item of each of the K classes.

        Flattened row by row it orders a gallery with one class per column.

        Raises:
            TypeError: ``k`` is not an int.
            ValueError: ``k`` lies outside [1, the smallest class's size].
        """
        if isinstance(k, bool) or not isinstance(k, int):
            raise TypeError(f"k must be an int, got {k!r}")
        counts = self.class_counts()
        if k < 1 or int(counts.min()) < k:
            raise ValueError(f"k must be between 1 and the smallest class size {int(counts.min())}, got {k}")
        columns = [torch.nonzero(self.labels == c).flatten()[:k] for c in range(len(self.classes))]
        return torch.stack(columns, dim=1)  # (k, K)

    def class_counts(self) -> Tensor:
        """``Tensor[K]``: how many items each class has."""
        return torch.bincount(self.labels, minlength=len(self.classes))
