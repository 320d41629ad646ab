"""Per-channel statistics, normalisation and its inverse.

``Normalize`` maps each channel to zero mean and unit standard deviation:
``x_norm[c] = (x[c] - mean[c]) / std[c]``. Its inverse, needed to display a
normalised image, is ``x[c] = x_norm[c] * std[c] + mean[c]``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor


def channel_mean_std(images: Tensor, *, chunk: int = 4096) -> tuple[Tensor, Tensor]:
    """Mean and (unbiased) standard deviation of each channel over a whole image set.

    Args:
        images: ``Tensor[N, C, H, W]``; uint8 values are scaled to [0, 1] (as
            ``ToTensor`` does), float values are used as they are.
        chunk: images per step, to bound memory (CIFAR-10's training set is
            153.6 M values; a float64 copy at once would take 1.2 GB).

    Returns:
        ``(mean, std)``, each ``Tensor[C]`` float64. For uint8 input the sums are
        exact (int64 accumulation), so the result does not depend on ``chunk``.
    """
    if not isinstance(images, Tensor) or images.ndim != 4:
        shape = tuple(images.shape) if isinstance(images, Tensor) else type(images).__name__
        raise ValueError(f"images must be a Tensor[N, C, H, W]; got {shape}")
    n, c = images.shape[:2]
    count = n * images.shape[2] * images.shape[3]
    if count < 2:
        raise ValueError("need at least two values per channel to estimate a standard deviation")
    exact = images.dtype == torch.uint8
    acc_dtype = torch.int64 if exact else torch.float64
    total = torch.zeros(c, dtype=acc_dtype)
    total_sq = torch.zeros(c, dtype=acc_dtype)
    for start in range(0, n, chunk):
        block = images[start : start + chunk].to(acc_dtype).transpose(0, 1).reshape(c, -1)  # (C, chunk*H*W)
        total += block.sum(dim=1)
        total_sq += (block * block).sum(dim=1)
    total, total_sq = total.double(), total_sq.double()
    mean = total / count
    var = (total_sq - total * mean) / (count - 1)  # unbiased, like Tensor.std
    std = var.clamp_min(0).sqrt()
    if exact:
        mean, std = mean / 255, std / 255
    return mean, std


def _stats_like(x: Tensor, values: Sequence[float] | Tensor, what: str) -> Tensor:
    v = torch.as_tensor(values, dtype=x.dtype, device=x.device).flatten()
    channel_dim = -3
    if x.ndim < 3:
        raise ValueError(f"expected an image Tensor[C, H, W] or Tensor[B, C, H, W]; got shape {tuple(x.shape)}")
    if v.numel() != x.shape[channel_dim]:
        raise ValueError(f"{what} has {v.numel()} values but the image has {x.shape[channel_dim]} channels")
    return v.view(-1, 1, 1)


def normalize(x: Tensor, mean: Sequence[float] | Tensor, std: Sequence[float] | Tensor) -> Tensor:
    """``(x - mean) / std`` per channel; ``x`` is ``Tensor[C, H, W]`` or ``Tensor[B, C, H, W]`` float."""
    s = _stats_like(x, std, "std")
    if bool((s == 0).any()):
        raise ValueError("std must be non-zero in every channel")
    return (x - _stats_like(x, mean, "mean")) / s


def denormalize(x: Tensor, mean: Sequence[float] | Tensor, std: Sequence[float] | Tensor) -> Tensor:
    """Undo :func:`normalize`: ``x * std + mean`` per channel (for display)."""
    return x * _stats_like(x, std, "std") + _stats_like(x, mean, "mean")
