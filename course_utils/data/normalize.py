"""Per-channel statistics, normalisation and its inverse.

``Normalize`` maps each channel to zero mean and unit standard deviation:
``x_norm[c] = (x[c] - mean[c]) / std[c]``. Its inverse, needed to display a
normalised image, is ``x[c] = x_norm[c] * std[c] + mean[c]``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from .. import validate


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

    Raises:
        TypeError: ``images`` is not a tensor, or ``chunk`` not an int.
        ValueError: ``images`` is not ``Tensor[N, C, H, W]``, holds fewer than two values per channel, or
            ``chunk`` is below 1.
    """
    validate.tensor(images, "images", ndim=4, hint="(Tensor[N, C, H, W])")
    validate.positive_int(chunk, "chunk")
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
    validate.tensor(x, "x", dtype="float", hint="(an image Tensor[C, H, W] or Tensor[B, C, H, W] of floats)")
    if isinstance(values, str):
        raise TypeError(f"{what} must be one number per channel, got {values!r}")
    v = torch.as_tensor(values, dtype=x.dtype, device=x.device).flatten()
    channel_dim = -3
    if x.ndim < 3:
        raise ValueError(f"expected an image Tensor[C, H, W] or Tensor[B, C, H, W]; got shape {tuple(x.shape)}")
    if v.numel() != x.shape[channel_dim]:
        raise ValueError(f"{what} has {v.numel()} values but the image has {x.shape[channel_dim]} channels")
    return v.view(-1, 1, 1)


def normalize(x: Tensor, mean: Sequence[float] | Tensor, std: Sequence[float] | Tensor) -> Tensor:
    """``(x - mean) / std`` per channel; ``x`` is ``Tensor[C, H, W]`` or ``Tensor[B, C, H, W]`` float.

    Raises:
        TypeError: ``x`` is not a tensor, or ``mean``/``std`` a string.
        ValueError: ``x`` is not a float image ``Tensor[C, H, W]``/``Tensor[B, C, H, W]``, ``mean``/``std``
            do not have one value per channel, or a std is 0.
    """
    s = _stats_like(x, std, "std")
    if bool((s == 0).any()):
        raise ValueError("std must be non-zero in every channel")
    return (x - _stats_like(x, mean, "mean")) / s


def denormalize(x: Tensor, mean: Sequence[float] | Tensor, std: Sequence[float] | Tensor) -> Tensor:
    """Undo :func:`normalize`: ``x * std + mean`` per channel (for display).

    Raises:
        TypeError: ``x`` is not a tensor, or ``mean``/``std`` a string.
        ValueError: ``x`` is not a float image ``Tensor[C, H, W]``/``Tensor[B, C, H, W]``, or
            ``mean``/``std`` do not have one value per channel.
    """
    return x * _stats_like(x, std, "std") + _stats_like(x, mean, "mean")
