"""Perfect eyes: patch features written from a scene's ground truth instead of seen by a tower.

An oracle vision tower is a diagnostic, not a model: if stage 2 fails even when
every image token states exactly what lies in its patch, the failure is in the
language model, not in the vision tower. Each patch token holds

* a one-hot of the shape and of the colour of every object whose box overlaps
  the patch (two overlapping objects add up: the token then names both),
* the object's size word (small, medium, large) the same way,
* a flag on the patch that holds an object's centre (position words come from
  the centre, see :meth:`Scene.describe`),
* a one-hot of the patch's own index, as a position embedding would give.

Nothing else, so the tokens are as easy to read as features can be while keeping
the patch grid's layout: which object a token belongs to is visible only through
*where* it is.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor

from .. import validate
from ..data.shapes import COLOURS, SHAPES, Scene
from .dataset import _check_scenes
from .patches import overlapped_patches

SIZES = ("small", "medium", "large")


def oracle_layout(n_patches: int) -> dict[str, slice]:
    """Where each group of features sits in a token: ``{"shape": slice, "colour": ..., "size": ..., "centre": ...,
    "patch": ...}``.

    Raises:
        TypeError: ``n_patches`` is not an int.
        ValueError: ``n_patches`` is below 1.
    """
    validate.positive_int(n_patches, "n_patches")
    widths = {"shape": len(SHAPES), "colour": len(COLOURS), "size": len(SIZES), "centre": 1, "patch": n_patches}
    out, start = {}, 0
    for name, w in widths.items():
        out[name] = slice(start, start + w)
        start += w
    return out


def oracle_patch_features(scenes: Sequence[Scene], grid: int, width: int) -> Tensor:
    """Ground-truth patch tokens for ``scenes`` -> ``Tensor[N, grid * grid, width]`` (row-major patches).

    ``grid`` patches a side (3 for the course's 48 px images in 16 px patches);
    ``width`` is the vision tower's width, so the features drop in where the
    tower's would (zeros beyond :func:`oracle_layout`).

    Raises:
        TypeError: ``scenes`` is not a list of Scenes, or ``grid``/``width`` not an int.
        ValueError: ``grid`` below 1, a ``width`` that cannot hold the layout, or scenes of several sizes.
    """
    _check_scenes(scenes)
    validate.positive_int(grid, "grid")
    validate.positive_int(width, "width")
    n_patches = grid * grid
    lay = oracle_layout(n_patches)
    need = lay["patch"].stop
    if grid < 1 or width < need:
        raise ValueError(f"oracle features for a {grid}x{grid} grid need grid >= 1 and width >= {need}, "
                         f"got grid={grid}, width={width}")
    if len({sc.size for sc in scenes}) > 1:
        raise ValueError(f"scenes of several sizes {sorted({sc.size for sc in scenes})}; expected one size")
    colours = list(COLOURS)
    out = torch.zeros(len(scenes), n_patches, width)
    out[:, :, lay["patch"]] = torch.eye(n_patches)
    for i, sc in enumerate(scenes):
        cell = sc.size / grid
        for o, d in zip(sc.objects, sc.describe()["objects"]):
            for p in overlapped_patches(o.box, sc.size, grid):
                out[i, p, lay["shape"].start + SHAPES.index(o.shape)] += 1
                out[i, p, lay["colour"].start + colours.index(o.colour)] += 1
                out[i, p, lay["size"].start + SIZES.index(d["size"])] += 1
            x0, y0, x1, y1 = o.box
            r = min(grid - 1, int((y0 + y1) / 2 // cell))
            c = min(grid - 1, int((x0 + x1) / 2 // cell))
            out[i, r * grid + c, lay["centre"].start] += 1
    return out


__all__ = ["SIZES", "oracle_layout", "oracle_patch_features", "overlapped_patches"]
