"""How fast is the teaching NMS? Side by side with ``torchvision.ops.nms``, on the same boxes.

Two kinds of box set, because NMS's cost depends on how much the boxes overlap:

* ``"uniform"``: boxes 10-40 px wide scattered over a 200 x 200 canvas; most boxes
  survive (like a detector with a high score threshold);
* ``"clustered"``: jittered copies around 20 objects, as a detector's raw output
  before NMS; few boxes survive.

Both functions are timed in the same run, alternately, on one set of boxes, and
the median of the repeats is reported (``bench nms`` prints the table; chapter 7
prints a smaller one). Speed is measured here, never in a test.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from .. import validate
from .boxes import nms

KINDS = ("uniform", "clustered")


def nms_boxes(n: int, kind: str = "uniform", seed: int = 0) -> tuple[Tensor, Tensor]:
    """``(boxes Tensor[n, 4] xyxy float32, scores Tensor[n])``: a reproducible box set for timing NMS.

    Raises:
        TypeError: ``n`` or ``seed`` is not an int.
        ValueError: ``n`` below 1, or ``kind`` not one of :data:`KINDS`.
    """
    validate.positive_int(n, "n")
    validate.choice(kind, "kind", KINDS)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, got {seed!r}")
    g = torch.Generator().manual_seed(seed)
    if kind == "uniform":
        xy = torch.rand(n, 2, generator=g) * 200
        boxes = torch.cat([xy, xy + 10 + torch.rand(n, 2, generator=g) * 30], 1)
    else:
        xy = torch.rand(20, 2, generator=g) * 360
        objects = torch.cat([xy, xy + 10 + torch.rand(20, 2, generator=g) * 30], 1)
        jittered = objects[torch.randint(0, 20, (n,), generator=g)] + torch.randn(n, 4, generator=g) * 3
        boxes = torch.cat([torch.minimum(jittered[:, :2], jittered[:, 2:]),
                           torch.maximum(jittered[:, :2], jittered[:, 2:])], 1)
    return boxes, torch.rand(n, generator=g)


@dataclass(frozen=True)
class NmsTiming:
    """One row of :func:`time_nms`: milliseconds per call (medians) and how many boxes were kept."""

    boxes: int
    kind: str
    kept: int
    ours_ms: float
    torchvision_ms: float
    equal: bool

    @property
    def ratio(self) -> float:
        """How many times slower the teaching NMS is than torchvision's compiled one."""
        return self.ours_ms / self.torchvision_ms


def time_nms(sizes: Sequence[int] = (100, 1_000, 2_000, 10_000), kinds: Sequence[str] = KINDS,
             repeats: int = 5, iou_threshold: float = 0.45) -> list[NmsTiming]:
    """Time :func:`~course_utils.detection.nms` against ``torchvision.ops.nms`` on each box set.

    Each repeat calls both, one after the other, after one untimed warm-up call each.

    Raises:
        TypeError: ``sizes`` or ``kinds`` is not a list, ``repeats`` not an int, or ``iou_threshold``
            not a number.
        ValueError: a size below 1, an unknown kind, ``repeats`` below 1, or ``iou_threshold``
            outside [0, 1].
    """
    import torchvision.ops as tvops

    validate.sequence_of(sizes, "sizes", int, non_empty=True)
    validate.sequence_of(kinds, "kinds", str, non_empty=True)
    validate.positive_int(repeats, "repeats")
    validate.number(iou_threshold, "iou_threshold", low=0.0, high=1.0)
    rows = []
    for kind in kinds:
        for n in sizes:
            boxes, scores = nms_boxes(n, kind)
            ours, theirs = nms(boxes, scores, iou_threshold), tvops.nms(boxes, scores, iou_threshold)
            times: dict[str, list[float]] = {"ours": [], "torchvision": []}
            for _ in range(repeats):
                for name, fn in (("ours", nms), ("torchvision", tvops.nms)):
                    start = time.perf_counter()
                    fn(boxes, scores, iou_threshold)
                    times[name].append(1000 * (time.perf_counter() - start))
            rows.append(NmsTiming(n, kind, len(ours), statistics.median(times["ours"]),
                                  statistics.median(times["torchvision"]), torch.equal(ours, theirs)))
    return rows
