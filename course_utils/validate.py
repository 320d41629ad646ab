"""Checks at the package's boundary, in one style: the argument, what was expected, what was given.

Every public function checks what it receives once, cheaply, with these helpers,
and raises ``TypeError`` (not a tensor, not a number) or ``ValueError`` (wrong shape,
dtype, length, range, or a NaN) whose message names the argument::

    boxes must be Tensor[N, 4] of floats, got Tensor[3, 5] float32
    labels must be Tensor[4] of integers, got Tensor[4] float32 (one class per box)
    boxes and labels must have one entry each per box: 3 boxes, 2 labels

The checks cost a few tensor reductions per call: nothing next to a forward pass.
"""

from __future__ import annotations

from collections.abc import Sequence, Sized
from typing import Any

import torch
from torch import Tensor

_KINDS = {"float": " of floats", "int": " of integers", "bool": " of bools", "integer-or-bool": " of integers or bools"}


def describe(x: Any) -> str:
    """How a value looks in an error message: ``Tensor[3, 5] float32``, ``list of 3``, ``str``."""
    if isinstance(x, Tensor):
        return f"Tensor[{', '.join(map(str, x.shape))}] {str(x.dtype).removeprefix('torch.')}"
    if isinstance(x, (list, tuple)):
        return f"{type(x).__name__} of {len(x)}"
    return type(x).__name__


def _dtype_ok(x: Tensor, kind: str) -> bool:
    if kind == "float":
        return x.is_floating_point()
    if kind == "int":
        return not x.is_floating_point() and not x.is_complex() and x.dtype != torch.bool
    if kind == "bool":
        return x.dtype == torch.bool
    return not x.is_floating_point() and not x.is_complex()


def tensor(x: Any, name: str, *, shape: Sequence[int | None] | None = None, ndim: int | None = None,
           dtype: str | None = None, finite: bool = False, hint: str = "") -> Tensor:
    """Check that ``x`` is a tensor of the expected shape and dtype kind; returns it.

    Args:
        shape: the expected shape, ``None`` for any size in that dimension (``(None, 4)``: ``Tensor[N, 4]``).
        ndim: the expected number of dimensions, when the sizes are free.
        dtype: ``"float"``, ``"int"``, ``"bool"`` or ``"integer-or-bool"``.
        finite: no NaN or infinity (for floating-point values that would propagate).
        hint: appended to the message, e.g. ``"(another format? convert with box_convert)"``.

    Raises:
        TypeError: ``x`` is not a ``torch.Tensor`` (a list, a NumPy array...).
        ValueError: the shape, dimensions, dtype or finiteness differ.
    """
    if shape is not None:
        want = "Tensor[" + ", ".join("N" if s is None else str(s) for s in shape) + "]"
    else:
        want = f"a {ndim}-dimensional Tensor" if ndim is not None else "a Tensor"
    if dtype is not None:
        want += _KINDS[dtype]
    end = f" {hint}" if hint else ""
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be {want}, got {describe(x)}{end}")
    bad_shape = (shape is not None and (x.ndim != len(shape) or any(s is not None and s != d
                                                                    for s, d in zip(shape, x.shape))))
    if bad_shape or (ndim is not None and x.ndim != ndim) or (dtype is not None and not _dtype_ok(x, dtype)):
        raise ValueError(f"{name} must be {want}, got {describe(x)}{end}")
    if finite and x.is_floating_point() and x.numel() and not bool(torch.isfinite(x).all()):
        where = torch.nonzero(~torch.isfinite(x))[0].tolist()
        raise ValueError(f"{name} must be finite, got {x[tuple(where)].item()} at index {where}{end}")
    return x


def same_length(**named: Sized) -> int:
    """Check that every argument has the same length; returns it.

    >>> same_length(boxes=[1, 2], labels=[3, 4])
    2
    """
    lengths = {k: len(v) for k, v in named.items()}
    if len(set(lengths.values())) > 1:
        names = " and ".join(lengths)
        raise ValueError(f"{names} must have the same length, got " + ", ".join(f"{n} {k}" for k, n in lengths.items()))
    return next(iter(lengths.values()), 0)


def class_indices(x: Tensor, name: str, num_classes: int | None = None) -> Tensor:
    """Check integer class indices in ``[0, num_classes)`` (any shape); returns them."""
    tensor(x, name, dtype="int", hint="(class indices; cast with .long() if they are whole numbers)")
    if x.numel() and (int(x.min()) < 0 or (num_classes is not None and int(x.max()) >= num_classes)):
        upper = f"{num_classes}" if num_classes is not None else "the number of classes"
        raise ValueError(f"{name} must lie in [0, {upper}), got values from {int(x.min())} to {int(x.max())}")
    return x


def positive_int(x: Any, name: str) -> int:
    """Check a positive ``int`` (not a bool, not a float that happens to be whole); returns it."""
    if isinstance(x, bool) or not isinstance(x, int):
        raise TypeError(f"{name} must be a positive int, got {x!r} ({type(x).__name__})")
    if x < 1:
        raise ValueError(f"{name} must be a positive int, got {x}")
    return x


__all__ = ["class_indices", "describe", "positive_int", "same_length", "tensor"]
