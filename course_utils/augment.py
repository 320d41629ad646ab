"""Data augmentation applied to whole batches on their device (no per-image Python).

Each function takes a float batch ``Tensor[B, C, H, W]`` and an optional
``torch.Generator`` (on the CPU) and returns a batch of the same shape.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from . import validate


def _check(x: Tensor) -> None:
    validate.tensor(x, "x", ndim=4, hint="(a batch Tensor[B, C, H, W]; add a batch dimension with x[None])")


PADDINGS = ("zeros", "reflect")


def random_translate(x: Tensor, max_shift: int, generator: torch.Generator | None = None, *,
                     padding: str = "zeros") -> Tensor:
    """Shift each image by a random whole number of pixels in [-max_shift, max_shift] along x and y.

    ``padding="zeros"`` fills the uncovered pixels with zeros (the background after
    ``ToTensor``; pass un-normalised batches); ``"reflect"`` mirrors the image at its
    border, as airbench does, so no black stripes appear.

    Raises:
        TypeError: ``x`` is not a tensor.
        ValueError: ``x`` is not a batch ``Tensor[B, C, H, W]``, ``max_shift`` is not a non-negative int
            (below the image's side for ``"reflect"``), or an unknown ``padding``.
    """
    _check(x)
    if not isinstance(max_shift, int) or max_shift < 0:
        raise ValueError(f"max_shift must be a non-negative int, got {max_shift!r}")
    validate.choice(padding, "padding", PADDINGS)
    if max_shift == 0:
        return x
    b, _, h, w = x.shape
    if padding == "reflect" and max_shift >= min(h, w):
        raise ValueError(f"reflect padding needs max_shift < the image's side ({min(h, w)}), got {max_shift}")
    mode = "constant" if padding == "zeros" else "reflect"
    padded = F.pad(x, (max_shift,) * 4, mode=mode)  # (B, C, H + 2m, W + 2m)
    shifts = torch.randint(0, 2 * max_shift + 1, (b, 2), generator=generator).to(x.device)
    rows = (shifts[:, 0].view(b, 1) + torch.arange(h, device=x.device).view(1, h))  # (B, H)
    cols = (shifts[:, 1].view(b, 1) + torch.arange(w, device=x.device).view(1, w))  # (B, W)
    batch = torch.arange(b, device=x.device).view(b, 1, 1)
    out = padded.permute(0, 2, 3, 1)[batch, rows.view(b, h, 1), cols.view(b, 1, w)]  # (B, H, W, C)
    return out.permute(0, 3, 1, 2).contiguous()


def random_hflip(x: Tensor, p: float = 0.5, generator: torch.Generator | None = None) -> Tensor:
    """Mirror each image left-right with probability ``p``.

    Raises:
        TypeError: ``x`` is not a tensor, or ``p`` not a number.
        ValueError: ``x`` is not a batch ``Tensor[B, C, H, W]``, or ``p`` lies outside [0, 1].
    """
    _check(x)
    validate.number(p, "p", low=0.0, high=1.0)
    flip = (torch.rand(x.shape[0], generator=generator) < p).to(x.device).view(-1, 1, 1, 1)
    return torch.where(flip, x.flip(3), x)


def alternating_hflip(x: Tensor, index: Tensor, epoch: int, seed: int = 0) -> Tensor:
    """Derandomised flips (Jordan's airbench): each image is mirrored in every other epoch.

    Whether image ``index[i]`` is mirrored in epoch 0 is a fixed pseudo-random bit of
    its index and ``seed`` (a multiplicative hash); every later epoch inverts it. So
    over any two consecutive epochs each image is seen once each way, where random
    flips leave a quarter of the images unflipped, and another quarter flipped, twice
    in a row.

    Args:
        x: ``Tensor[B, C, H, W]``.
        index: ``Tensor[B]`` integer, each image's index in its dataset.
        epoch: the epoch, from 0.

    Raises:
        TypeError: ``x`` or ``index`` is not a tensor, or ``epoch``/``seed`` not an int.
        ValueError: ``x`` is not a batch, ``index`` not ``Tensor[B]`` non-negative integers, or ``epoch`` negative.
    """
    _check(x)
    validate.tensor(index, "index", shape=(x.shape[0],), dtype="int", hint="(each image's index in the dataset)")
    validate.number(epoch, "epoch", low=0, integer=True)
    validate.number(seed, "seed", low=0, integer=True)
    if len(index) and int(index.min()) < 0:
        raise ValueError("index must hold non-negative dataset indices")
    mixed = (index.long().cpu() + seed * 1_000_003) * 2_654_435_761 % (2**32)  # Knuth's multiplicative hash
    first = ((mixed >> 16) & 1).bool()
    flip = (first ^ bool(epoch % 2)).to(x.device).view(-1, 1, 1, 1)
    return torch.where(flip, x.flip(3), x)


def cutout(
    x: Tensor,
    size: int,
    fill: float | Tensor = 0.0,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Blank one ``size`` x ``size`` square per image at a random centre (DeVries & Taylor, 2017).

    The centre may lie anywhere in the image, so squares near a border are clipped
    (as in the paper). ``fill`` is a number or a per-channel ``Tensor[C]``; the paper
    zeroes normalised images, which is the dataset's mean colour before normalisation.

    Raises:
        TypeError: ``x`` is not a tensor.
        ValueError: ``x`` is not a batch ``Tensor[B, C, H, W]``, ``size`` is not a non-negative int, or
            ``fill`` is neither a number nor a ``Tensor[C]``.
    """
    _check(x)
    if not isinstance(size, int) or size < 0:
        raise ValueError(f"size must be a non-negative int, got {size!r}")
    b, c, h, w = x.shape
    fill = torch.as_tensor(fill, dtype=x.dtype, device=x.device)
    if fill.ndim not in (0, 1) or (fill.ndim == 1 and fill.numel() != c):
        raise ValueError(f"fill must be a number or a Tensor[{c}], got shape {tuple(fill.shape)}")
    if size == 0:
        return x
    centres = torch.stack([torch.randint(0, h, (b,), generator=generator),
                           torch.randint(0, w, (b,), generator=generator)], 1).to(x.device)  # (B, 2)
    top = (centres[:, 0] - size // 2).view(b, 1, 1)
    left = (centres[:, 1] - size // 2).view(b, 1, 1)
    rows = torch.arange(h, device=x.device).view(1, h, 1)
    cols = torch.arange(w, device=x.device).view(1, 1, w)
    inside = (rows >= top) & (rows < top + size) & (cols >= left) & (cols < left + size)  # (B, H, W)
    return torch.where(inside.unsqueeze(1), fill.view(1, -1, 1, 1), x)
