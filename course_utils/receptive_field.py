"""Receptive fields, layer by layer, by the jump/RF recurrence.

For a layer with kernel k, stride s, padding p and dilation d, the effective
kernel spans ``k_eff = d (k - 1) + 1`` input positions, and (per spatial axis)

    n_out     = floor((n_in + 2p - k_eff) / s) + 1       output size
    j_out     = j_in * s                                  jump: input pixels between adjacent outputs
    r_out     = r_in + (k_eff - 1) * j_in                 receptive field
    start_out = start_in + ((k_eff - 1) / 2 - p) * j_in   centre of the first output's field

starting from the image itself (n = size, j = 1, r = 1, start = 0, pixel
centres at 0, 1, 2, ...). See Araujo, Norris & Sim, "Computing Receptive
Fields of Convolutional Neural Networks", Distill 2019.

:func:`receptive_field` runs the model once on a zero image and applies the
recurrence to every leaf layer *in execution order* (forward hooks), so it
works for ``nn.Sequential`` models and for torchvision classifiers whose
``forward`` is plain Python (VGG, AlexNet, ResNet). A layer is fed the state of
the tensor it receives. A tensor made by a function rather than a layer (the
``torch.flatten`` in VGG's ``forward``, a residual sum ``out + identity``)
takes the state of the most recent layer output; in a residual block that is
the main path, whose field contains the shortcut's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from . import validate

# Layers that leave the spatial geometry alone (one row each, same field).
_POINTWISE = (
    nn.BatchNorm1d, nn.BatchNorm2d, nn.GroupNorm, nn.InstanceNorm2d, nn.LocalResponseNorm,
    nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.PReLU, nn.ELU, nn.SELU, nn.CELU, nn.GELU, nn.SiLU,
    nn.Mish, nn.Hardswish, nn.Hardsigmoid, nn.Tanh, nn.Sigmoid, nn.Softmax, nn.LogSoftmax,
    nn.Dropout, nn.Dropout2d, nn.AlphaDropout, nn.Identity,
)  # fmt: skip
# Layers after which every output sees the whole previous map.
_GLOBAL = (nn.Linear, nn.Flatten)
_WINDOWED = (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)
_ADAPTIVE = (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)


@dataclass(frozen=True)
class _Axis:
    """Recurrence state along one spatial axis."""

    size: int  # n: positions along the axis
    jump: int  # j: input pixels between neighbouring positions
    rf: int  # r: input pixels each position sees
    start: float  # centre of the first position's field, in input pixel coordinates

    def apply(self, k: int, s: int, p: int, d: int) -> "_Axis":
        k_eff = d * (k - 1) + 1
        size = (self.size + 2 * p - k_eff) // s + 1
        if size < 1:
            raise ValueError(f"a kernel spanning {k_eff} does not fit an input of {self.size} with padding {p}")
        return _Axis(size, self.jump * s, self.rf + (k_eff - 1) * self.jump,
                     self.start + ((k_eff - 1) / 2 - p) * self.jump)


@dataclass(frozen=True)
class RFRow:
    """One layer of a receptive-field table; spatial values are (height, width) pairs.

    ``jump`` is None after a global layer (Linear, Flatten), where positions no longer exist.
    """

    name: str  # module path in the model, e.g. "features.0" or "layer1.0.conv2"
    layer: str  # class name, e.g. "Conv2d"
    kernel: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int]
    dilation: tuple[int, int]
    size: tuple[int, int]  # output height, width
    jump: tuple[int, int] | None
    rf: tuple[int, int]
    start: tuple[float, float]



def _pair(v: int | Sequence[int]) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else (int(v[0]), int(v[1]))


def _input_size(v: int | Sequence[int]) -> tuple[int, int]:
    """An int, or exactly two ints (H, W); anything else is ambiguous and raises."""
    if isinstance(v, bool):
        raise TypeError(f"input_size must be an int or (H, W), got {v!r}")
    if isinstance(v, int):
        return v, v
    if not isinstance(v, (tuple, list)) or len(v) != 2 or not all(isinstance(x, int) and not isinstance(x, bool)
                                                                   for x in v):
        hint = " (drop the channels: input_size is (H, W), in_channels is separate)" if (
            isinstance(v, (tuple, list)) and len(v) == 3) else ""
        raise ValueError(f"input_size must be an int or a pair of ints (H, W), got {v!r}{hint}")
    return v[0], v[1]


def _fmt(pair: tuple | None) -> str:
    if pair is None:
        return "-"
    a, b = pair
    f = (lambda v: f"{v:g}") if isinstance(a, float) else str
    return f(a) if a == b else f"{f(a)}×{f(b)}"


class RFTable(list):
    """A list of :class:`RFRow` that prints as a table (in a notebook too)."""

    def __init__(self, rows: Sequence[RFRow], input_size: tuple[int, int]) -> None:
        super().__init__(rows)
        self.input_size = input_size

    @property
    def final(self) -> RFRow:
        return self[-1]

    def covers(self, row: RFRow) -> bool:
        """Does ``row``'s receptive field span the whole input (in both directions)?

        Raises:
            TypeError: ``row`` is not an :class:`RFRow`.
        """
        validate.instance(row, "row", RFRow, "an RFRow (a row of this table)")
        return all(r >= n for r, n in zip(row.rf, self.input_size))

    def spatial(self) -> "RFTable":
        """Only the rows that change the geometry (convolutions, pooling, global layers)."""
        keep = [r for r in self if r.layer not in {t.__name__ for t in _POINTWISE}]
        return RFTable(keep, self.input_size)

    def _lines(self) -> list[str]:
        wn = max([len("layer")] + [len(r.name) for r in self]) + 2  # columns as wide as their contents
        wt = max([len("type")] + [len(r.layer) for r in self]) + 1
        head = f"{'layer':<{wn}}{'type':<{wt}}{'k':>4}{'s':>3}{'p':>3}{'d':>3}{'out':>8}{'jump':>6}{'RF':>6}{'start':>7}"
        rows = [head, "-" * len(head)]
        for r in self:
            rows.append(
                f"{r.name:<{wn}}{r.layer:<{wt}}{_fmt(r.kernel):>4}{_fmt(r.stride):>3}{_fmt(r.padding):>3}"
                f"{_fmt(r.dilation):>3}{_fmt(r.size):>8}{_fmt(r.jump):>6}{_fmt(r.rf):>6}{_fmt(r.start):>7}"
            )
        return rows

    def __str__(self) -> str:
        return "\n".join(self._lines())

    def _repr_pretty_(self, printer, cycle) -> None:  # IPython
        printer.text(str(self))


def receptive_field(model: nn.Module, input_size: int | tuple[int, int], in_channels: int = 3) -> RFTable:
    """One row per leaf layer: output size, jump, receptive field and start, per spatial axis.

    Args:
        model: an ``nn.Module`` made of Conv2d, MaxPool2d, AvgPool2d, adaptive pooling,
            normalisation, activation, dropout, Flatten and Linear layers, combined in
            ``nn.Sequential`` or any ``forward`` (residual blocks included).
        input_size: image height and width (an int for square images).
        in_channels: channels of the zero image the model is run on.

    Returns:
        An :class:`RFTable` (a list of :class:`RFRow`) in execution order.

    Raises:
        TypeError: ``model`` is not an ``nn.Module``, or ``input_size`` is a bool.
        ValueError: ``input_size`` is not an int or ``(H, W)`` (a ``(C, H, W)`` triple says to drop
            the channels), a layer type the recurrence does not cover (named in the message),
            or an adaptive pooling that is not a whole-number downsampling.
    """
    validate.instance(model, "model", nn.Module, "a torch.nn.Module")
    h, w = _input_size(input_size)
    if h < 1 or w < 1:
        raise ValueError(f"input_size must be positive, got {input_size!r}")
    leaves = [(name, m) for name, m in model.named_modules() if not any(m.children())]
    for name, m in leaves:
        if not isinstance(m, _POINTWISE + _GLOBAL + _WINDOWED + _ADAPTIVE):
            raise ValueError(
                f"layer {name!r} ({type(m).__name__}) is not supported by the receptive-field recurrence; "
                "supported: Conv2d, MaxPool2d, AvgPool2d, AdaptiveAvg/MaxPool2d, Linear, Flatten, "
                "normalisation, activation and dropout layers"
            )
    start_state = (_Axis(h, 1, 1, 0.0), _Axis(w, 1, 1, 0.0))
    states: dict[int, tuple[Tensor, tuple[_Axis, _Axis], bool]] = {}  # id -> (tensor kept alive, state, global?)
    last: list = [start_state, False]
    rows: list[RFRow] = []

    def hook(name: str):
        def run(module: nn.Module, inputs: tuple, output: Tensor) -> None:
            x = inputs[0] if inputs else None
            if isinstance(x, Tensor) and id(x) in states:
                _, state, is_global = states[id(x)]
            else:
                state, is_global = last
            k = s = p = d = (1, 1)
            if isinstance(module, _POINTWISE):
                pass
            elif is_global or isinstance(module, _GLOBAL):
                if not is_global:  # the first global layer: one window over the whole map
                    k = s = (state[0].size, state[1].size)
                    state = tuple(a.apply(kk, ss, 0, 1) for a, kk, ss in zip(state, k, s))
                is_global = True
            elif isinstance(module, _WINDOWED):
                k, s = _pair(module.kernel_size), _pair(module.stride or module.kernel_size)
                pad = getattr(module, "padding", 0)
                if isinstance(pad, str):
                    if pad != "valid":
                        raise ValueError(f"layer {name!r}: padding={pad!r} is not supported; use explicit padding")
                    pad = 0
                p, d = _pair(pad), _pair(getattr(module, "dilation", 1))
                if getattr(module, "ceil_mode", False):
                    raise ValueError(f"layer {name!r}: ceil_mode=True is not supported")
                state = tuple(a.apply(*args) for a, *args in zip(state, k, s, p, d))
            else:  # adaptive pooling: a whole-number downsampling is a window of in/out
                out = _pair(module.output_size if module.output_size is not None else 1)
                for a, o in zip(state, out):
                    if a.size % o:
                        raise ValueError(
                            f"layer {name!r}: adaptive pooling from {a.size} to {o} is not a whole-number downsampling"
                        )
                k = s = tuple(a.size // o for a, o in zip(state, out))
                state = tuple(a.apply(kk, ss, 0, 1) for a, kk, ss in zip(state, k, s))
            rows.append(RFRow(
                name=name, layer=type(module).__name__, kernel=k, stride=s, padding=p, dilation=d,
                size=(state[0].size, state[1].size),
                jump=None if is_global else (state[0].jump, state[1].jump),
                rf=(state[0].rf, state[1].rf), start=(state[0].start, state[1].start),
            ))
            if isinstance(output, Tensor):
                states[id(output)] = (output, state, is_global)
            last[0], last[1] = state, is_global

        return run

    handles = [m.register_forward_hook(hook(name)) for name, m in leaves]
    was_training = model.training
    try:
        model.eval()
        param = next(model.parameters(), None)
        device = param.device if param is not None else torch.device("cpu")
        dtype = param.dtype if param is not None and param.is_floating_point() else torch.float32
        with torch.no_grad():
            model(torch.zeros(1, in_channels, h, w, device=device, dtype=dtype))
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return RFTable(rows, (h, w))


def effective_receptive_field(model: nn.Module, x: Tensor, position: tuple[int, int] | None = None) -> Tensor:
    """|d output / d input| for one output position, summed over output channels and averaged over the batch.

    Args:
        model: maps ``Tensor[B, C, H, W]`` to a feature map ``Tensor[B, C', H', W']``.
        x: input batch ``Tensor[B, C, H, W]``.
        position: the output position (row, column); default: the centre.

    Returns:
        ``Tensor[H, W]``: how strongly each input pixel (summed over input channels)
        influences that output position. Its support is the theoretical receptive
        field; its shape is the *effective* receptive field (Luo et al., 2016).

    Raises:
        TypeError: ``model`` is not an ``nn.Module``, or ``x`` not a tensor.
        ValueError: ``x`` is not a float ``Tensor[B, C, H, W]``, the model's output is not a feature map, or
            ``position`` lies outside it.
    """
    validate.instance(model, "model", nn.Module, "a torch.nn.Module")
    validate.tensor(x, "x", dtype="float")
    if x.ndim != 4:
        raise ValueError(f"x must be Tensor[B, C, H, W], got {tuple(x.shape)}")
    x = x.detach().clone().requires_grad_(True)
    out = model(x)
    if out.ndim != 4:
        raise ValueError(f"the model must output a feature map Tensor[B, C, H, W], got {tuple(out.shape)}")
    i, j = position if position is not None else (out.shape[2] // 2, out.shape[3] // 2)
    if not (0 <= i < out.shape[2] and 0 <= j < out.shape[3]):
        raise ValueError(f"position {(i, j)} is outside the {out.shape[2]}x{out.shape[3]} output")
    out[:, :, i, j].sum().backward()
    return x.grad.abs().sum(dim=1).mean(dim=0)  # (H, W)
