"""Which object is an image token about? Linear probes on patch features.

Binding needs image tokens that keep objects apart: to answer "what colour is
the circle?" about a circle and a square, the LM has to find a token that says
"circle" and read "red" from the *same* token (or its neighbours). A linear
probe asks whether the features allow that. Take two-object scenes whose
objects differ in an attribute, and every patch that exactly one object's box
overlaps; train a linear classifier to read that object's attribute from the
patch token alone, and score it on held-out scenes. Reading the *other*
object's value instead means the token mixes the two objects.
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from .. import validate
from ..data.shapes import COLOURS, SHAPES, Scene
from .dataset import _check_scenes
from .patches import overlapped_patches

ATTRIBUTES = {"shape": tuple(SHAPES), "colour": tuple(COLOURS)}


def own_object_patches(scenes: Sequence[Scene], grid: int, attribute: str) -> dict[str, Tensor]:
    """Patches that belong to exactly one object, in two-object scenes whose objects differ in ``attribute``.

    Returns ``{"scene": [M], "patch": [M], "own": [M], "other": [M]}`` (int64):
    the scene's index, the patch's row-major index on the ``grid x grid`` grid,
    and the class index (into ``ATTRIBUTES[attribute]``) of the patch's own
    object and of the other object.

    Raises:
        TypeError: ``scenes`` is not a list of Scenes, or ``grid`` not an int.
        ValueError: an unknown ``attribute``, or ``grid`` below 1.
    """
    if attribute not in ATTRIBUTES:
        raise ValueError(f"attribute must be one of {sorted(ATTRIBUTES)}, got {attribute!r}")
    _check_scenes(scenes)
    validate.positive_int(grid, "grid")
    names = ATTRIBUTES[attribute]
    rows: list[tuple[int, int, int, int]] = []
    for i, sc in enumerate(scenes):
        if len(sc.objects) != 2:
            continue
        values = [names.index(getattr(o, attribute)) for o in sc.objects]
        if values[0] == values[1]:
            continue
        cover = [set(overlapped_patches(o.box, sc.size, grid)) for o in sc.objects]
        for k in (0, 1):
            rows += [(i, p, values[k], values[1 - k]) for p in sorted(cover[k] - cover[1 - k])]
    out = torch.tensor(rows, dtype=torch.int64).view(-1, 4)
    return {"scene": out[:, 0], "patch": out[:, 1], "own": out[:, 2], "other": out[:, 3]}


def linear_probe(x_train: Tensor, y_train: Tensor, x_test: Tensor, n_classes: int, *, steps: int = 300,
                 lr: float = 1e-2, seed: int = 0) -> Tensor:
    """Fit a linear classifier (full-batch Adam on standardised features); predict ``x_test``.

    Args:
        x_train: ``Tensor[M, D]`` features; y_train: ``Tensor[M]`` class indices in ``[0, n_classes)``.
        x_test: ``Tensor[K, D]``.

    Returns ``Tensor[K]`` predicted class indices.

    Raises:
        TypeError: a feature or label argument is not a tensor; ``n_classes``, ``steps`` or ``seed`` not an int.
        ValueError: features not Tensor[M, D] and Tensor[K, D] of finite floats; labels not one integer class
            index per training row in ``[0, n_classes)``; no training rows; ``lr`` not positive.
    """
    validate.tensor(x_train, "x_train", ndim=2, dtype="float", finite=True)
    validate.tensor(x_test, "x_test", ndim=2, dtype="float", finite=True)
    validate.positive_int(n_classes, "n_classes")
    validate.class_indices(y_train, "y_train", n_classes)
    validate.positive_int(steps, "steps")
    validate.number(lr, "lr", low=0.0, low_open=True)
    validate.number(seed, "seed", low=0, integer=True)
    if x_train.dim() != 2 or x_test.dim() != 2 or x_train.shape[1] != x_test.shape[1]:
        raise ValueError(f"expected features [M, D] and [K, D], got {tuple(x_train.shape)} and {tuple(x_test.shape)}")
    if y_train.shape != (len(x_train),) or len(x_train) == 0:
        raise ValueError(f"expected {len(x_train)} > 0 labels for {len(x_train)} rows, got {tuple(y_train.shape)}")
    if int(y_train.min()) < 0 or int(y_train.max()) >= n_classes:
        raise ValueError(f"labels must lie in [0, {n_classes}), got {int(y_train.min())}..{int(y_train.max())}")
    mu, sd = x_train.mean(0), x_train.std(0) + 1e-5
    g = torch.Generator().manual_seed(seed)
    w = (torch.randn(x_train.shape[1], n_classes, generator=g) * 0.01).requires_grad_()
    b = torch.zeros(n_classes, requires_grad=True)
    opt = torch.optim.Adam([w, b], lr=lr)
    xs = (x_train - mu) / sd
    with torch.enable_grad():
        for _ in range(steps):
            loss = F.cross_entropy(xs @ w + b, y_train)
            opt.zero_grad()
            loss.backward()
            opt.step()
    with torch.no_grad():
        return (((x_test - mu) / sd) @ w + b).argmax(1)


def patch_probe(train_features: Tensor, train_scenes: Sequence[Scene], test_features: Tensor,
                test_scenes: Sequence[Scene], attribute: str, grid: int) -> dict[str, float]:
    """Read each patch's own object's ``attribute`` from its token alone (see the module docstring).

    Args:
        train_features: ``Tensor[N, grid * grid, D]`` patch features of ``train_scenes``; likewise for the test.

    Returns ``{"own": accuracy, "other": how often it names the other object's value, "guess": 1 / classes,
    "n_train": patches, "n_test": patches}``.

    Raises:
        TypeError: features are not tensors, scenes not lists of Scenes, or ``grid`` not an int.
        ValueError: features not Tensor[N, grid * grid, D] for their N scenes; an unknown ``attribute``; no
            test patch that belongs to exactly one of two objects differing in it.
    """
    validate.tensor(train_features, "train_features", ndim=3, dtype="float")
    validate.tensor(test_features, "test_features", ndim=3, dtype="float")
    _check_scenes(train_scenes, "train_scenes")
    _check_scenes(test_scenes, "test_scenes")
    validate.positive_int(grid, "grid")
    validate.choice(attribute, "attribute", tuple(ATTRIBUTES))
    for f, scs in ((train_features, train_scenes), (test_features, test_scenes)):
        if f.dim() != 3 or f.shape[:2] != (len(scs), grid * grid):
            raise ValueError(f"expected features [{len(scs)}, {grid * grid}, D] for {len(scs)} scenes on a "
                             f"{grid}x{grid} grid, got {tuple(f.shape)}")
    tr = own_object_patches(train_scenes, grid, attribute)
    te = own_object_patches(test_scenes, grid, attribute)
    if len(te["own"]) == 0:
        raise ValueError("no test patch belongs to exactly one of two objects that differ in " + attribute)
    n_classes = len(ATTRIBUTES[attribute])
    pred = linear_probe(train_features[tr["scene"], tr["patch"]], tr["own"],
                        test_features[te["scene"], te["patch"]], n_classes)
    return {"own": float((pred == te["own"]).float().mean()), "other": float((pred == te["other"]).float().mean()),
            "guess": 1 / n_classes, "n_train": len(tr["own"]), "n_test": len(te["own"])}


__all__ = ["ATTRIBUTES", "linear_probe", "own_object_patches", "patch_probe"]
