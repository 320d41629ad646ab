"""Patch geometry: which of a ViT's ``grid x grid`` patches an object's box covers.

Patches are numbered row-major, as the vision tower's tokens are (CLS token
excluded): patch ``r * grid + c`` covers pixels ``[c * cell, (c + 1) * cell)`` across
and ``[r * cell, (r + 1) * cell)`` down, ``cell = image_size / grid``. The grounded
loss, the oracle features and the probes all ask this question.
"""

from __future__ import annotations

from typing import Sequence


def overlapped_patches(box: Sequence[float], image_size: float, grid: int) -> list[int]:
    """Row-major indices of the ``grid x grid`` patches that an xyxy ``box`` (pixels) overlaps."""
    x0, y0, x1, y1 = box
    cell = image_size / grid
    return [r * grid + c for r in range(grid) for c in range(grid)
            if x0 < (c + 1) * cell and x1 > c * cell and y0 < (r + 1) * cell and y1 > r * cell]


__all__ = ["overlapped_patches"]
