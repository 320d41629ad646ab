"""Batches straight from an in-memory uint8 tensor: no per-item Python, data can live on the GPU.

A ``torch.utils.data.DataLoader`` over a per-item dataset spends most of a small
model's epoch in Python; slicing one tensor per batch does not. Conversion to
float, scaling to [0, 1] and normalisation happen per batch, on the batch's device.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence

import torch
from torch import Tensor

from .. import validate
from .dataset import ImageDataset
from .normalize import normalize


class BatchLoader:
    """Iterate ``(images, labels)`` batches of an :class:`ImageDataset`.

    Args:
        dataset: the images (uint8) and labels.
        batch_size: images per batch.
        shuffle: a new random order every epoch (seeded by ``seed`` and the epoch).
        mean, std: per-channel normalisation applied to each batch (None: just [0, 1]).
        augment: optional function ``Tensor[B, C, H, W] -> Tensor[B, C, H, W]`` applied
            to each float batch before normalisation (training only).
        indexed_augment: optional function ``(batch, index Tensor[B], epoch) -> batch``,
            applied before ``augment``, for augmentations that depend on which image
            it is and on the epoch (from 0), such as :func:`~course_utils.augment.alternating_hflip`.
        device: where batches are produced; the whole dataset is moved there once.
        drop_last: skip a final smaller batch.
        seed: base seed of the shuffling.

    Yields:
        ``(Tensor[B, C, H, W] float32, Tensor[B] int64)``.

    Raises:
        TypeError: ``dataset`` is not an :class:`ImageDataset`, or ``augment`` or ``indexed_augment`` not
            callable.
        ValueError: ``batch_size`` is not a positive int, only one of ``mean``/``std`` is given, they do not
            have one value per channel, a std is 0, or ``device`` is not a device.
    """

    def __init__(
        self,
        dataset: ImageDataset,
        batch_size: int,
        *,
        shuffle: bool = False,
        mean: Sequence[float] | Tensor | None = None,
        std: Sequence[float] | Tensor | None = None,
        augment: Callable[[Tensor], Tensor] | None = None,
        indexed_augment: Callable[[Tensor, Tensor, int], Tensor] | None = None,
        device: torch.device | str = "cpu",
        drop_last: bool = False,
        seed: int = 0,
    ) -> None:
        if not isinstance(dataset, ImageDataset):
            raise TypeError(f"BatchLoader needs an ImageDataset, got {type(dataset).__name__}")
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        if (mean is None) != (std is None):
            raise ValueError("give both mean and std, or neither")
        if mean is not None:
            c = dataset.images.shape[1]
            for name, values in (("mean", mean), ("std", std)):
                if len(values) != c:
                    raise ValueError(f"{name} must have one value per channel ({c}), got {len(values)}")
            if any(float(s) == 0 for s in std):
                raise ValueError("std must be non-zero in every channel")
        if augment is not None and not callable(augment):
            raise TypeError(f"augment must be a function of a batch, got {validate.describe(augment)}")
        if indexed_augment is not None and not callable(indexed_augment):
            raise TypeError("indexed_augment must be a function of (batch, index, epoch), got "
                            f"{validate.describe(indexed_augment)}")
        try:
            self.device = torch.device(device)
        except (RuntimeError, TypeError) as err:
            raise ValueError(f"device must be a torch.device or a name like 'cpu', got {device!r}") from err
        self.images = dataset.images.to(self.device)
        self.labels = dataset.labels.to(self.device)
        self.batch_size, self.shuffle, self.drop_last = batch_size, shuffle, drop_last
        self.mean, self.std, self.augment, self.indexed_augment = mean, std, augment, indexed_augment
        self.seed, self.epoch = seed, 0

    def __len__(self) -> int:
        n = len(self.labels)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        n = len(self.labels)
        if self.shuffle:
            gen = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
            order = torch.randperm(n, generator=gen).to(self.device)
        else:
            order = torch.arange(n, device=self.device)
        epoch, self.epoch = self.epoch, self.epoch + 1
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            idx = order[start : start + self.batch_size]
            x = self.images[idx].float().div_(255)  # (B, C, H, W) in [0, 1]
            if self.indexed_augment is not None:
                x = self.indexed_augment(x, idx, epoch)
            if self.augment is not None:
                x = self.augment(x)
            if self.mean is not None:
                x = normalize(x, self.mean, self.std)  # type: ignore[arg-type]
            yield x, self.labels[idx]
