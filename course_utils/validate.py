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

import dataclasses
import functools
import types
import typing
from collections.abc import Mapping, Sequence, Sized
from typing import Any

import torch
from torch import Tensor

_KINDS = {"float": " of floats", "int": " of integers", "bool": " of bools", "integer-or-bool": " of integers or bools"}


def describe(x: Any) -> str:
    """How a value looks in an error message: ``Tensor[3, 5] float32``, ``list of 3``, ``str`` (any value)."""
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

    Raises:
        ValueError: the arguments differ in length (the message gives each).
        TypeError: an argument has no length.
    """
    lengths = {k: len(v) for k, v in named.items()}
    if len(set(lengths.values())) > 1:
        names = " and ".join(lengths)
        raise ValueError(f"{names} must have the same length, got " + ", ".join(f"{n} {k}" for k, n in lengths.items()))
    return next(iter(lengths.values()), 0)


def class_indices(x: Tensor, name: str, num_classes: int | None = None) -> Tensor:
    """Check integer class indices in ``[0, num_classes)`` (any shape); returns them.

    Raises:
        TypeError: ``x`` is not a tensor.
        ValueError: ``x`` is not integer, or a value lies outside ``[0, num_classes)``.
    """
    tensor(x, name, dtype="int", hint="(class indices; cast with .long() if they are whole numbers)")
    if x.numel() and (int(x.min()) < 0 or (num_classes is not None and int(x.max()) >= num_classes)):
        upper = f"{num_classes}" if num_classes is not None else "the number of classes"
        raise ValueError(f"{name} must lie in [0, {upper}), got values from {int(x.min())} to {int(x.max())}")
    return x


def positive_int(x: Any, name: str) -> int:
    """Check a positive ``int`` (not a bool, not a float that happens to be whole); returns it.

    Raises:
        TypeError: ``x`` is not an int (bools and whole floats included).
        ValueError: ``x`` is below 1.
    """
    if isinstance(x, bool) or not isinstance(x, int):
        raise TypeError(f"{name} must be a positive int, got {x!r} ({type(x).__name__})")
    if x < 1:
        raise ValueError(f"{name} must be a positive int, got {x}")
    return x


def instance(x: Any, name: str, kind: type | tuple[type, ...], what: str = "") -> Any:
    """Check that ``x`` is an instance of ``kind``; returns it.

    Raises:
        TypeError: ``x`` is of another type (``model must be a torch.nn.Module, got function``).
    """
    if not isinstance(x, kind):
        want = what or " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        raise TypeError(f"{name} must be {want}, got {describe(x)}")
    return x


def sequence_of(x: Any, name: str, kind: type | tuple[type, ...], *, non_empty: bool = False) -> Sequence[Any]:
    """Check a list or tuple whose every item is a ``kind`` (a lone string is not a list of strings); returns it.

    >>> sequence_of(["a red circle"], "captions", str)
    ['a red circle']

    Raises:
        TypeError: ``x`` is not a list or tuple (a lone ``str`` gets a hint to wrap it), or an item is of
            another type (the message gives its index).
        ValueError: ``x`` is empty and ``non_empty``.
    """
    kinds = kind if isinstance(kind, tuple) else (kind,)
    want = " or ".join(k.__name__ for k in kinds)
    if not isinstance(x, (list, tuple)):
        hint = f" (wrap it: [{x!r}])" if isinstance(x, str) and len(x) < 60 else ""
        raise TypeError(f"{name} must be a list of {want}, got {describe(x)}{hint}")
    bad = next((i for i, item in enumerate(x)
                if not isinstance(item, kinds) or (isinstance(item, bool) and bool not in kinds)), None)
    if bad is not None:
        raise TypeError(f"{name} must be a list of {want}, got {describe(x[bad])} at index {bad}")
    if non_empty and not x:
        raise ValueError(f"{name} must hold at least one {want}, got an empty {type(x).__name__}")
    return x


def choice(x: Any, name: str, choices: Sequence[Any]) -> Any:
    """Check that ``x`` is one of ``choices``; returns it.

    Raises:
        ValueError: ``x`` is not among them (``how must be one of ('max', 'mean'), got 'avg'``).
    """
    if x not in choices:
        raise ValueError(f"{name} must be one of {tuple(choices)}, got {x!r}")
    return x


def number(x: Any, name: str, *, low: float | None = None, high: float | None = None,
           integer: bool = False, low_open: bool = False) -> float:
    """Check a real number (``int`` when ``integer``) in ``[low, high]`` (``(low, high]`` when ``low_open``); returns it.

    Raises:
        TypeError: ``x`` is not a number (a bool, a string, a tensor), or a float where an int is meant.
        ValueError: ``x`` is NaN or outside the range.
    """
    kinds = (int,) if integer else (int, float)
    if isinstance(x, bool) or not isinstance(x, kinds):
        raise TypeError(f"{name} must be {'an int' if integer else 'a number'}, got {x!r} ({type(x).__name__})")
    bad = x != x or (low is not None and (x <= low if low_open else x < low)) or (high is not None and x > high)
    if bad:
        lo = "-inf" if low is None else f"{low:g}"
        hi = "inf" if high is None else f"{high:g}"
        raise ValueError(f"{name} must lie in {'(' if low_open else '['}{lo}, {hi}], got {x!r}")
    return x


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)  # evaluated once per class: the annotations are strings


def _matches(value: Any, hint: Any) -> bool:
    """Does ``value`` fit the annotation? Checks the outer type (and tuple/list items); other hints pass."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any or isinstance(hint, typing.TypeVar):
        return True
    if hint is type(None):
        return value is None
    if origin in (typing.Union, types.UnionType):
        return any(_matches(value, a) for a in args)
    if origin is typing.Literal:
        return value in args
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if origin in (tuple, list):
        if not isinstance(value, origin):
            return False
        if origin is tuple and args and args[-1] is not Ellipsis:
            return len(value) == len(args) and all(_matches(v, a) for v, a in zip(value, args))
        return not args or all(_matches(v, args[0]) for v in value)
    if origin is not None:
        kind = {dict: Mapping}.get(origin, origin)
        return not isinstance(kind, type) or isinstance(value, kind)
    return not isinstance(hint, type) or isinstance(value, hint)


def _hint_name(hint: Any) -> str:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return " or ".join("None" if a is type(None) else _hint_name(a) for a in typing.get_args(hint))
    return getattr(hint, "__name__", None) if typing.get_origin(hint) is None else str(hint).replace("typing.", "")


def fields(obj: Any) -> None:
    """Check that each field of a dataclass instance has its annotated type (call it in ``__post_init__``).

    ``int`` refuses bools and floats, ``float`` accepts ints, ``tuple[int, int]`` checks the length
    and items; annotations it cannot check (callables, generics) pass.

    Raises:
        TypeError: a field holds a value of another type, e.g. ``YoloConfig.num_classes must be
            int, got 3.0 (float)``.
        ValueError: a fixed-length tuple field has another length (``widths must have 4 items``).
    """
    for f in dataclasses.fields(obj):
        hint = _hints(type(obj))[f.name]
        value = getattr(obj, f.name)
        if not _matches(value, hint):
            args = typing.get_args(hint)
            if (typing.get_origin(hint) is tuple and isinstance(value, tuple) and args and args[-1] is not Ellipsis
                    and len(value) != len(args)):
                raise ValueError(f"{type(obj).__name__}.{f.name} must have {len(args)} items "
                                 f"({_hint_name(hint)}), got {value!r}")
            raise TypeError(f"{type(obj).__name__}.{f.name} must be {_hint_name(hint)}, got {value!r} "
                            f"({describe(value)})")


__all__ = ["choice", "class_indices", "describe", "fields", "instance", "number", "positive_int", "same_length",
           "sequence_of", "tensor"]
