"""Convolution by hand: a readable reference for ``F.conv2d`` and the output-size formula.

Deep-learning "convolution" is cross-correlation: the kernel slides over the
input without being flipped, and each output value is the dot product of the
kernel with the input window under it (plus a bias). ``conv2d_naive`` computes
exactly that, one output position at a time, so it is slow but easy to read;
``tests/test_conv.py`` proves it equal to ``torch.nn.functional.conv2d`` for
every argument.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from . import validate

IntPair = int | tuple[int, int]


def _pair(value: IntPair, name: str, minimum: int) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, int) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) for v in pair):
        raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
    if min(pair) < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return pair  # type: ignore[return-value]


def conv_output_size(size: int, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> int:
    """Output length of a convolution or pooling along one dimension.

    ``floor((W - F + 2P) / S) + 1`` for input size W, kernel F, padding P, stride S.
    Dilation d spreads the kernel's taps d pixels apart, so it covers
    ``d * (F - 1) + 1`` input pixels; that span replaces F in the formula
    (PyTorch's documented formula for ``Conv2d`` and ``MaxPool2d``).

    Raises:
        ValueError: a non-positive size, kernel, stride or dilation, negative
            padding, or a kernel span larger than the padded input.
    """
    for name, value, minimum in (("size", size, 1), ("kernel", kernel, 1), ("stride", stride, 1),
                                 ("padding", padding, 0), ("dilation", dilation, 1)):
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    span = dilation * (kernel - 1) + 1
    if span > size + 2 * padding:
        raise ValueError(
            f"the kernel spans {span} pixels but the padded input has only {size + 2 * padding} "
            f"(size {size} + 2 x padding {padding})"
        )
    return math.floor((size + 2 * padding - span) / stride) + 1


def _same_padding(kernel: tuple[int, int], dilation: tuple[int, int]) -> tuple[int, int, int, int]:
    """(left, right, top, bottom) so that stride-1 output size equals input size, as PyTorch pads."""
    pads = []
    for k, d in zip(reversed(kernel), reversed(dilation)):  # F.pad wants the last dimension first
        total = d * (k - 1)
        pads += [total // 2, total - total // 2]  # the odd pixel goes on the right/bottom
    return tuple(pads)  # type: ignore[return-value]


def conv2d_naive(
    x: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: IntPair = 1,
    padding: IntPair | str = 0,
    dilation: IntPair = 1,
    groups: int = 1,
) -> Tensor:
    """2-D convolution (cross-correlation) computed window by window; same contract as ``F.conv2d``.

    Args:
        x: ``Tensor[B, C_in, H, W]`` (or an unbatched ``Tensor[C_in, H, W]``).
        weight: ``Tensor[C_out, C_in / groups, kH, kW]``: one kernel per output channel.
        bias: ``Tensor[C_out]`` or None.
        stride: step between windows, int or (sH, sW).
        padding: zeros added on every side, int or (pH, pW), or ``"valid"`` (none) or
            ``"same"`` (output as large as the input; stride 1 only).
        dilation: spacing between kernel taps, int or (dH, dW).
        groups: split input and output channels into this many independent groups
            (``groups = C_in`` is a depthwise convolution).

    Returns:
        ``Tensor[B, C_out, H_out, W_out]`` with ``H_out = conv_output_size(H, kH, sH, pH, dH)``.

    Raises:
        TypeError: ``x``, ``weight`` or ``bias`` is not a tensor.
        ValueError: ``x`` is not 3- or 4-dimensional or not floating point, ``weight`` not ``Tensor[C_out,
            C_in/groups, kH, kW]``, the channels do not split into ``groups``, ``bias`` is not
            ``Tensor[C_out]``, a stride, padding or dilation is not an int or pair of ints in
            range, ``padding="same"`` with a stride, or the kernel spans more than the padded
            input.
    """
    validate.tensor(x, "x", dtype="float")
    if x.ndim not in (3, 4):
        raise ValueError(f"x must be Tensor[B, C, H, W] or Tensor[C, H, W], got {validate.describe(x)}")
    if x.ndim == 3:
        return conv2d_naive(x[None], weight, bias, stride, padding, dilation, groups)[0]
    validate.tensor(weight, "weight", ndim=4, dtype="float", hint="(Tensor[C_out, C_in/groups, kH, kW])")
    if not isinstance(groups, int) or groups < 1:
        raise ValueError(f"groups must be a positive int, got {groups!r}")
    b, c_in, h, w = x.shape
    c_out, c_per_group, kh, kw = weight.shape
    if c_in != c_per_group * groups:
        raise ValueError(
            f"x has {c_in} channels but weight expects {c_per_group} per group x {groups} groups = {c_per_group * groups}"
        )
    if c_out % groups:
        raise ValueError(f"{c_out} output channels cannot be split into {groups} groups")
    if bias is not None:
        validate.tensor(bias, "bias", shape=(c_out,), dtype="float")
    s, d = _pair(stride, "stride", 1), _pair(dilation, "dilation", 1)

    if isinstance(padding, str):
        if padding == "valid":
            pads = (0, 0, 0, 0)
        elif padding == "same":
            if s != (1, 1):
                raise ValueError("padding='same' needs stride 1, as in F.conv2d")
            pads = _same_padding((kh, kw), d)
        else:
            raise ValueError(f"padding must be an int, a pair, 'valid' or 'same'; got {padding!r}")
    else:
        ph, pw = _pair(padding, "padding", 0)
        pads = (pw, pw, ph, ph)
    xp = F.pad(x, pads)  # zero padding: (left, right, top, bottom)

    span_h, span_w = d[0] * (kh - 1) + 1, d[1] * (kw - 1) + 1
    h_out = (xp.shape[2] - span_h) // s[0] + 1
    w_out = (xp.shape[3] - span_w) // s[1] + 1
    if h_out < 1 or w_out < 1:
        raise ValueError(f"kernel span {span_h}x{span_w} is larger than the padded input {xp.shape[2]}x{xp.shape[3]}")

    out = x.new_zeros(b, c_out, h_out, w_out)
    oc_per_group = c_out // groups
    for i in range(h_out):
        for j in range(w_out):
            top, left = i * s[0], j * s[1]
            window = xp[:, :, top : top + span_h : d[0], left : left + span_w : d[1]]  # (B, C_in, kH, kW)
            for g in range(groups):
                xs = window[:, g * c_per_group : (g + 1) * c_per_group]  # (B, C_in/groups, kH, kW)
                ws = weight[g * oc_per_group : (g + 1) * oc_per_group]  # (C_out/groups, C_in/groups, kH, kW)
                # the dot product of each kernel with the window: sum over channels and kernel taps
                out[:, g * oc_per_group : (g + 1) * oc_per_group, i, j] = torch.einsum("bchw,ochw->bo", xs, ws)
    if bias is not None:
        out += bias.view(1, -1, 1, 1)
    return out



def named_kernels() -> dict[str, Tensor]:
    """Classic hand-made 3x3 kernels, ``Tensor[3, 3]`` each (float32).

    Sobel kernels estimate the image derivative along x (left to right) and y
    (top to bottom) while smoothing across the other direction (Sobel & Feldman, 1968).
    """
    return {
        "identity": torch.tensor([[0.0, 0, 0], [0, 1, 0], [0, 0, 0]]),
        "vertical edge": torch.tensor([[1.0, 0, -1], [1, 0, -1], [1, 0, -1]]),
        "horizontal edge": torch.tensor([[1.0, 1, 1], [0, 0, 0], [-1, -1, -1]]),
        "sobel x": torch.tensor([[-1.0, 0, 1], [-2, 0, 2], [-1, 0, 1]]),
        "sobel y": torch.tensor([[-1.0, -2, -1], [0, 0, 0], [1, 2, 1]]),
        "box blur": torch.full((3, 3), 1 / 9),
        "sharpen": torch.tensor([[0.0, -1, 0], [-1, 5, -1], [0, -1, 0]]),
    }
