"""Patch geometry: which of a ViT's ``grid x grid`` patches an object's box covers.

Patches are numbered row-major, as the vision tower's tokens are (CLS token
excluded): patch ``r * grid + c`` covers pixels ``[c * cell, (c + 1) * cell)`` across
and ``[r * cell, (r + 1) * cell)`` down, ``cell = image_size / grid``. The grounded
loss, the oracle features and the probes all ask this question.
"""

from __future__ import annotations

import math
from typing import Sequence

from .. import validate


def overlapped_patches(box: Sequence[float], image_size: float, grid: int) -> list[int]:
    """Row-major indices of the ``grid x grid`` patches that an xyxy ``box`` (pixels) overlaps.

    Raises:
        TypeError: ``box`` is not a list or tuple of numbers, ``image_size`` not a number, or ``grid`` not an int.
        ValueError: ``box`` is not four numbers, holds a NaN, or has x1 < x0 or y1 < y0 (xyxy is meant);
            ``image_size`` is not positive; ``grid`` is below 1.
    """
    validate.sequence_of(box, "box", (int, float))
    if len(box) != 4:
        raise ValueError(f"box must be four numbers (x0, y0, x1, y1), got {len(box)}")
    x0, y0, x1, y1 = box
    if any(math.isnan(v) for v in box) or x1 < x0 or y1 < y0:
        raise ValueError(f"box must be xyxy with x0 <= x1 and y0 <= y1, got {tuple(box)} (another format?)")
    validate.number(image_size, "image_size", low=0, low_open=True)
    validate.positive_int(grid, "grid")
    cell = image_size / grid
    return [r * grid + c for r in range(grid) for c in range(grid)
            if x0 < (c + 1) * cell and x1 > c * cell and y0 < (r + 1) * cell and y1 > r * cell]


__all__ = ["overlapped_patches"]
