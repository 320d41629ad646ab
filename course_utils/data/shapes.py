"""The shapes world: procedural scenes of coloured shapes, with boxes and descriptions.

Every scene is a pure function of its seed and size, so data never needs
downloading: the detection chapters train on it offline, at any size, and the
multimodal chapter turns the same structured descriptions into captions and
question/answer pairs.

A scene holds 1 to ``max_objects`` shapes (circle, square, triangle, rectangle,
diamond) in several colours, of widely varying sizes and aspect ratios, some
overlapping and some cut by the border, on a textured background (stripes,
checks or noise). Boxes are ``xyxy`` in pixels: ``x0, y0`` is the top-left
corner of the top-left pixel and ``x1, y1`` the bottom-right corner of the
bottom-right pixel, so ``x1 - x0`` is the width in pixels.

Splits never share scenes: the seeds of ``train``, ``val`` and ``test`` come
from disjoint ranges (:data:`SPLIT_OFFSETS`).
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw
from torch import Tensor

from .. import validate
from ._paths import cache_dir

SHAPES = ("circle", "square", "triangle", "rectangle", "diamond")
"""The object classes; label ``k`` is ``SHAPES[k]``."""

COLOURS = {
    "red": (220, 40, 40),
    "green": (40, 170, 60),
    "blue": (40, 80, 220),
    "yellow": (235, 200, 30),
    "purple": (150, 60, 190),
    "white": (245, 245, 245),
}
"""Object colours by name (RGB)."""

SPLIT_OFFSETS = {"train": 0, "val": 10_000_000, "test": 20_000_000}
"""Scene ``i`` of a split has seed ``SPLIT_OFFSETS[split] + i``: splits never overlap."""


@dataclass(frozen=True)
class ShapeObject:
    """One object of a scene: what it is, where, and words to describe it.

    Raises:
        ValueError: an unknown shape or colour, or a box that is not xyxy with ``x0 <= x1`` and ``y0 <=
            y1``.
    """

    shape: str  # a name in SHAPES
    colour: str  # a name in COLOURS
    box: tuple[float, float, float, float]  # xyxy in pixels, clipped to the image
    truncated: bool  # cut by the image border

    def __post_init__(self) -> None:
        if self.shape not in SHAPES or self.colour not in COLOURS:
            raise ValueError(f"a shape in {SHAPES} and a colour in {COLOURS} are needed, got {self.shape!r}, "
                             f"{self.colour!r}")
        if len(self.box) != 4 or self.box[2] < self.box[0] or self.box[3] < self.box[1]:
            raise ValueError(f"box must be xyxy (x0, y0, x1, y1) with x0 <= x1 and y0 <= y1, got {self.box!r}")

    @property
    def label(self) -> int:
        return SHAPES.index(self.shape)

    @property
    def area(self) -> float:
        x0, y0, x1, y1 = self.box
        return (x1 - x0) * (y1 - y0)


@dataclass
class Scene:
    """An image, its objects, and the words the multimodal chapter needs.

    Attributes:
        image: ``Tensor[3, H, W]`` uint8.
        objects: the objects, drawn in this order (later ones may cover earlier ones).
        background: ``"stripes"``, ``"checks"`` or ``"noise"``.
        seed: the scene's seed (it regenerates the scene exactly).

    Raises:
        TypeError: ``image`` is not a tensor, or ``objects`` not a list of :class:`ShapeObject`.
        ValueError: ``image`` is not uint8 ``Tensor[3, H, W]``.
    """

    image: Tensor
    objects: list[ShapeObject]
    background: str
    seed: int
    size: int = field(default=0)

    def __post_init__(self) -> None:
        validate.tensor(self.image, "image", ndim=3, hint="(uint8 Tensor[3, H, W])")
        if self.image.dtype != torch.uint8 or self.image.shape[0] != 3:
            raise ValueError(f"image must be uint8 Tensor[3, H, W], got {validate.describe(self.image)}")
        if not all(isinstance(o, ShapeObject) for o in self.objects):
            raise TypeError("objects must be a list of ShapeObject")

    @property
    def boxes(self) -> Tensor:
        """``Tensor[N, 4]`` float32, ``xyxy`` in pixels."""
        return torch.tensor([o.box for o in self.objects], dtype=torch.float32).view(-1, 4)

    @property
    def labels(self) -> Tensor:
        """``Tensor[N]`` int64, indices into :data:`SHAPES`."""
        return torch.tensor([o.label for o in self.objects], dtype=torch.long)

    def describe(self) -> dict:
        """A structured description: background and objects with shape, colour, position and size words."""
        h = w = self.size
        objs = []
        for o in self.objects:
            x0, y0, x1, y1 = o.box
            cx, cy = (x0 + x1) / 2 / w, (y0 + y1) / 2 / h
            vert = "top" if cy < 1 / 3 else "bottom" if cy > 2 / 3 else "middle"
            horiz = "left" if cx < 1 / 3 else "right" if cx > 2 / 3 else "centre"
            frac = o.area / (w * h)
            objs.append({"shape": o.shape, "colour": o.colour, "box": list(o.box),
                         "position": f"{vert} {horiz}" if (vert, horiz) != ("middle", "centre") else "centre",
                         "size": "large" if frac > 0.12 else "small" if frac < 0.03 else "medium",
                         "truncated": o.truncated})
        return {"background": self.background, "objects": objs}


def _background(rng: np.random.Generator, size: int) -> tuple[np.ndarray, str]:
    kind = str(rng.choice(["stripes", "checks", "noise"]))
    base = rng.uniform(60, 190, size=3)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    if kind == "stripes":
        angle = rng.uniform(0, math.pi)
        period = rng.uniform(6, 16)
        wave = np.sin((xx * math.cos(angle) + yy * math.sin(angle)) * 2 * math.pi / period)
        img = base[None, None] + 25 * wave[..., None]
    elif kind == "checks":
        cell = int(rng.integers(5, 13))
        checks = ((xx // cell + yy // cell) % 2) * 2 - 1
        img = base[None, None] + 20 * checks[..., None]
    else:
        img = base[None, None] + np.zeros((size, size, 1))
    img = img + rng.normal(0, 12, size=(size, size, 3))  # sensor-like noise on every background
    return np.clip(img, 0, 255).astype(np.uint8), kind


def _draw(draw: ImageDraw.ImageDraw, shape: str, box: tuple[float, float, float, float], rgb: tuple[int, int, int]) -> None:
    x0, y0, x1, y1 = box
    # PIL's coordinates name pixels; our box names pixel edges: the last covered pixel is x1 - 1.
    x1, y1 = x1 - 1, y1 - 1
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    if shape == "circle":
        draw.ellipse([x0, y0, x1, y1], fill=rgb)
    elif shape in ("square", "rectangle"):
        draw.rectangle([x0, y0, x1, y1], fill=rgb)
    elif shape == "triangle":
        draw.polygon([(cx, y0), (x1, y1), (x0, y1)], fill=rgb)
    elif shape == "diamond":
        draw.polygon([(cx, y0), (x1, cy), (cx, y1), (x0, cy)], fill=rgb)
    else:
        raise ValueError(f"unknown shape {shape!r}; expected one of {SHAPES}")


def make_scene(seed: int, size: int = 64, *, max_objects: int = 4, min_size: float = 0.12,
               max_size: float = 0.6, cut_fraction: float = 1 / 6, min_visible: float = 0.5) -> Scene:
    """Generate one scene, deterministically from ``seed``.

    Args:
        size: image height and width in pixels.
        max_objects: 1 to this many objects.
        min_size, max_size: object side lengths as fractions of the image size
            (before the aspect ratio stretches one side).
        cut_fraction: the share of objects placed so that the border may cut them.
        min_visible: the share of an earlier object's pixels that a later one must
            leave visible (1.0: objects never cover each other).

    Circles and squares keep an aspect ratio of 1 (their names say so); rectangles
    get one between 1.5:1 and 2.6:1 either way (so they are never confused with
    squares by construction), triangles and diamonds any between 1:2.5 and 2.5:1. About one object in six is placed so
    that the border cuts it (its box is clipped to the image; ``cut_fraction``). Objects may
    overlap, but a new object is never placed where it would hide more than
    ``1 - min_visible`` of an earlier one (after 10 tries it is left out).

    Raises:
        TypeError: ``seed`` is not an int.
        ValueError: ``seed`` is negative, ``size`` below 16, ``max_objects`` outside [1, 12], or the size
            and visibility fractions out of range.
    """
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be a non-negative int (it names the scene), got {seed!r}")
    if seed < 0:
        raise ValueError(f"seed must be a non-negative int (it names the scene), got {seed}")
    if size < 16:
        raise ValueError(f"size must be at least 16 pixels, got {size}")
    if not 1 <= max_objects <= 12:
        raise ValueError(f"max_objects must be between 1 and 12, got {max_objects}")
    if not 0 < min_size <= max_size <= 1:
        raise ValueError(f"need 0 < min_size <= max_size <= 1, got {min_size}, {max_size}")
    if not (0 <= cut_fraction <= 1 and 0 <= min_visible <= 1):
        raise ValueError(f"cut_fraction and min_visible must lie in [0, 1], got {cut_fraction}, {min_visible}")
    rng = np.random.default_rng(seed)
    pixels, kind = _background(rng, size)
    image = Image.fromarray(pixels)
    draw = ImageDraw.Draw(image)
    objects: list[ShapeObject] = []
    owner = np.full((size, size), -1)  # which object each pixel shows (-1: background)
    drawn_area: list[int] = []  # pixels of each object when drawn
    for _ in range(int(rng.integers(1, max_objects + 1))):
        shape = str(rng.choice(SHAPES))
        colour = str(rng.choice(list(COLOURS)))
        for _attempt in range(10):  # place it so that no earlier object ends up mostly hidden
            side = rng.uniform(min_size, max_size) * size
            if shape in ("circle", "square"):
                aspect = 1.0
            elif shape == "rectangle":  # never nearly square: at least 1.5:1 either way
                aspect = float(np.exp(rng.choice([-1, 1]) * rng.uniform(0.4, 0.95)))
            else:
                aspect = float(np.exp(rng.uniform(-0.9, 0.9)))
            w, h = max(4.0, side * math.sqrt(aspect)), max(4.0, side / math.sqrt(aspect))
            w, h = round(min(w, size)), round(min(h, size))
            cut = rng.random() < cut_fraction
            lo_x, hi_x = (-w / 2, size - w / 2) if cut else (0, size - w)
            lo_y, hi_y = (-h / 2, size - h / 2) if cut else (0, size - h)
            x0, y0 = round(rng.uniform(lo_x, hi_x)), round(rng.uniform(lo_y, hi_y))
            full = (x0, y0, x0 + w, y0 + h)
            mask_img = Image.new("L", (size, size), 0)
            _draw(ImageDraw.Draw(mask_img), shape, full, 255)  # type: ignore[arg-type]
            mask = np.asarray(mask_img) > 0
            if mask.sum() < 12:
                continue  # almost entirely outside the image
            after = np.where(mask, len(objects), owner)
            if all((after == k).sum() >= min_visible * drawn_area[k] for k in range(len(objects))):
                break
        else:
            continue  # no acceptable place: leave this object out
        _draw(draw, shape, full, COLOURS[colour])
        owner, drawn_area = after, drawn_area + [int(mask.sum())]
        box = (float(max(x0, 0)), float(max(y0, 0)), float(min(x0 + w, size)), float(min(y0 + h, size)))
        objects.append(ShapeObject(shape, colour, box, truncated=box != tuple(map(float, full))))
    img = torch.from_numpy(np.asarray(image, dtype=np.uint8).copy()).permute(2, 0, 1).contiguous()
    return Scene(image=img, objects=objects, background=kind, seed=seed, size=size)


CACHE_PIXELS = 20_000_000
"""Splits with more pixels than this (e.g. 5,000 scenes of 64x64) are cached on disk by default."""


def _cache_path(split: str, n: int, size: int, scene_kwargs: dict):
    # The key includes this file's source, so a change to the generator invalidates old caches.
    code = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:12]
    args = hashlib.sha256(json.dumps(scene_kwargs, sort_keys=True).encode()).hexdigest()[:8]
    return cache_dir("shapes") / f"{split}-{n}-{size}-{args}-{code}.pt"


def shapes_split(split: str, n: int, size: int = 64, *, cache: bool | None = None, **scene_kwargs) -> list[Scene]:
    """Scenes ``0..n-1`` of a split (``"train"``, ``"val"`` or ``"test"``).

    Args:
        cache: keep the generated split in the cache folder and load it from there next
            time; None: only for splits larger than :data:`CACHE_PIXELS` pixels.
        scene_kwargs: passed to :func:`make_scene` (``max_objects``, ``min_size``, ``max_size``).

    Raises:
        TypeError: ``n`` is not an int.
        ValueError: an unknown split, ``n`` outside [1, 10,000,000], or bad ``scene_kwargs`` (as
            :func:`make_scene`).
    """
    if split not in SPLIT_OFFSETS:
        raise ValueError(f"unknown split {split!r}; expected one of {list(SPLIT_OFFSETS)}")
    validate.positive_int(n, "n")
    if n > 10_000_000:
        raise ValueError(f"n must be between 1 and 10,000,000, got {n}")
    if cache is None:
        cache = n * size * size > CACHE_PIXELS
    path = _cache_path(split, n, size, scene_kwargs) if cache else None
    if path is not None and path.is_file():
        try:
            saved = torch.load(path, weights_only=True)
            return [Scene(image=img, background=d["background"], seed=d["seed"], size=size,
                          objects=[ShapeObject(o["shape"], o["colour"], tuple(o["box"]), o["truncated"])
                                   for o in d["objects"]])
                    for img, d in zip(saved["images"], json.loads(saved["scenes"]), strict=True)]
        except Exception:  # a damaged cache file (a killed writer, a full disk): rebuild it below
            path.unlink(missing_ok=True)
    scenes = [make_scene(SPLIT_OFFSETS[split] + i, size, **scene_kwargs) for i in range(n)]
    if path is not None:
        meta = [{"seed": sc.seed, "background": sc.background,
                 "objects": [{"shape": o.shape, "colour": o.colour, "box": list(o.box), "truncated": o.truncated}
                             for o in sc.objects]} for sc in scenes]
        tmp = path.with_suffix(".tmp")
        torch.save({"images": torch.stack([sc.image for sc in scenes]), "scenes": json.dumps(meta)}, tmp)
        tmp.replace(path)  # atomic: a half-written file is never read
    return scenes
