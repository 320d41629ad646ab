"""Pooling between average and max, and pooling to a fixed size: Lp pooling and spatial pyramid pooling.

*Lp pooling* summarises a window by the generalised mean ``(mean a^p)^(1/p)`` of its
activations: ``p = 1`` is average pooling, and as ``p`` grows the largest activation
dominates, so the limit is max pooling. ``torch.nn.functional.lp_pool2d`` computes the
sum form ``(sum a^p)^(1/p)``, the window's size to the power ``1/p`` times larger;
:func:`lp_pool2d` gives either.

*Spatial pyramid pooling* (SPP; He et al., 2014) pools the last feature map into a
fixed grid of bins at several levels (1x1, 2x2, 4x4 by default) and concatenates
them, so a network with fully connected layers after it accepts any input size:
the bins grow with the image, the number of features does not.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from . import validate

IntPair = int | tuple[int, int]


def lp_pool2d(x: Tensor, p: float, kernel_size: IntPair, stride: IntPair | None = None, *,
              mean: bool = True) -> Tensor:
    """``Tensor[N, C, H', W']``: the Lp norm of every window of non-negative activations ``x``.

    Args:
        x: ``Tensor[N, C, H, W]`` of non-negative floats (activations after a ReLU, say).
        p: the exponent, ``p >= 1``; ``float("inf")`` gives max pooling.
        kernel_size, stride: as for ``F.avg_pool2d`` (the stride defaults to the kernel size).
        mean: ``(mean a^p)^(1/p)``, between average (p = 1) and max pooling (p -> inf); with
            ``False``, ``(sum a^p)^(1/p)`` as ``F.lp_pool2d`` computes it.

    The windows are scaled by their maximum before the power, so large ``p`` neither
    overflows nor underflows.

    Raises:
        TypeError: ``x`` is not a tensor, or ``p`` not a number.
        ValueError: ``x`` is not a float ``Tensor[N, C, H, W]``, holds NaN or a negative value,
            or ``p < 1``.
    """
    validate.tensor(x, "x", ndim=4, dtype="float", finite=True, hint="(feature maps Tensor[N, C, H, W])")
    validate.number(p, "p", low=1.0)
    if x.numel() and x.min() < 0:
        raise ValueError(f"x must be non-negative (Lp pooling of activations after a ReLU), got a minimum of "
                         f"{x.min().item():g}")
    k = (kernel_size, kernel_size) if isinstance(kernel_size, int) else tuple(kernel_size)
    if k[0] > x.shape[-2] or k[1] > x.shape[-1]:
        raise ValueError(f"a {k[0]}x{k[1]} window does not fit a {x.shape[-2]}x{x.shape[-1]} map")
    stride = kernel_size if stride is None else stride
    peak = F.max_pool2d(x, kernel_size, stride)
    if p == float("inf"):
        return peak
    windows = F.unfold(x, kernel_size, stride=stride)  # (N, C * k * k, L)
    n, c = x.shape[:2]
    windows = windows.view(n, c, -1, windows.shape[-1])  # (N, C, k * k, L)
    top = windows.amax(dim=2, keepdim=True)
    ratio = torch.where(top > 0, windows / top.clamp(min=torch.finfo(x.dtype).tiny), torch.zeros_like(windows))
    pooled = ratio.pow(p).mean(dim=2) if mean else ratio.pow(p).sum(dim=2)
    out = pooled.pow(1.0 / p) * top.squeeze(2)  # (N, C, L)
    return out.view(peak.shape)


def _check_pyramid(levels: Sequence[int], mode: str) -> None:
    validate.sequence_of(levels, "levels", int, non_empty=True)
    for level in levels:
        validate.positive_int(level, "each level")
    validate.choice(mode, "mode", ("max", "avg"))


def spatial_pyramid_pool(x: Tensor, levels: Sequence[int] = (1, 2, 4), mode: str = "max") -> Tensor:
    """``Tensor[N, C * sum(l * l for l in levels)]``: ``x`` pooled into l x l bins at every level, concatenated.

    Level l splits the map into an l x l grid of (adaptive) bins, as
    ``F.adaptive_max_pool2d(x, l)`` does; the features of level 1 come first, each level
    channel by channel, bin by bin (row by row).

    Args:
        x: ``Tensor[N, C, H, W]`` with ``H, W >= max(levels)``.
        levels: the grid sizes, each a positive int.
        mode: ``"max"`` or ``"avg"``.

    Raises:
        TypeError: ``x`` is not a tensor, or a level not an int.
        ValueError: ``x`` is not a float ``Tensor[N, C, H, W]``, no level is given, an unknown ``mode``,
            or a map smaller than the finest level.
    """
    validate.tensor(x, "x", ndim=4, dtype="float", hint="(feature maps Tensor[N, C, H, W])")
    _check_pyramid(levels, mode)
    if min(x.shape[-2:]) < max(levels):
        raise ValueError(f"a {x.shape[-2]}x{x.shape[-1]} map cannot be split into {max(levels)}x{max(levels)} bins; "
                         "use coarser levels or a larger input")
    pool = F.adaptive_max_pool2d if mode == "max" else F.adaptive_avg_pool2d
    return torch.cat([pool(x, level).flatten(1) for level in levels], dim=1)


class SpatialPyramidPool(nn.Module):
    """:func:`spatial_pyramid_pool` as a layer: ``Tensor[N, C, H, W] -> Tensor[N, C * sum(l * l)]``.

    Raises:
        TypeError: ``levels`` is not a list or tuple of ints.
        ValueError: no level, a level below 1, or an unknown ``mode``.
    """

    def __init__(self, levels: Sequence[int] = (1, 2, 4), mode: str = "max") -> None:
        super().__init__()
        _check_pyramid(levels, mode)
        self.levels, self.mode = tuple(levels), mode

    def features(self, channels: int) -> int:
        """How many numbers the layer outputs for ``channels`` input channels, whatever the map's size.

        Raises:
            TypeError: ``channels`` is not an int.
            ValueError: ``channels`` is below 1.
        """
        return validate.positive_int(channels, "channels") * sum(level * level for level in self.levels)

    def forward(self, x: Tensor) -> Tensor:
        """``Tensor[N, C, H, W] -> Tensor[N, C * sum(l * l)]``.

        Raises:
            TypeError: ``x`` is not a tensor.
            ValueError: ``x`` is not a float ``Tensor[N, C, H, W]``, or smaller than the finest level.
        """
        return spatial_pyramid_pool(x, self.levels, self.mode)

    def extra_repr(self) -> str:
        return f"levels={self.levels}, mode={self.mode!r}"
