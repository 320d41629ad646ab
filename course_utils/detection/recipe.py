"""The detectors' recipe as data: how many shapes-world scenes, epochs, batch size, learning rate.

YOLOv2 (chapter 7) and SSD (chapter 8) train on the same scenes with the same loop
(:func:`.train.train_detector`: AdamW, one cycle, flips); :mod:`.run` builds and
measures them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ..recipe import Recipe


@dataclass(frozen=True)
class DetectorRecipe(Recipe):
    """A detector's training run on the shapes world (64x64 scenes).

    Evidence (``cpu`` presets, 2-core x86_64 CPU, torch 2.14.1, 2026; ``python -m
    course_utils.bench yolo|ssd``): the small YOLOv2 reaches mAP@0.5 0.897 on 500 test
    scenes after 7 epochs on 6,000 (98 s of training, 3.1 ms per image); the small SSD
    0.859 after 6 epochs (73 s, 3.5 ms per image). The ``gpu`` presets are not yet timed.

    Raises:
        TypeError: a field has another type (a float epoch count).
        ValueError: a size, epoch count or learning rate is not positive.
    """

    n_train: int = 6000
    epochs: int = 7
    batch_size: int = 32
    lr: float = 3e-3
    n_test: int = 500
    seed: int = 0

    PROFILES: ClassVar = {"cpu": {}, "gpu": {"n_train": 20000, "epochs": 30, "batch_size": 64, "n_test": 2000}}

    def __post_init__(self) -> None:
        super().__post_init__()
        self._require_positive("n_train", "epochs", "batch_size", "lr", "n_test")

    @classmethod
    def yolo(cls, profile: str | None = None, **changes) -> "DetectorRecipe":
        """Chapter 7's YOLOv2: 7 epochs on ``cpu`` (the profile's preset).

        Raises:
            ValueError: an unknown profile, or a value out of range.
            TypeError: an unknown field in ``changes``, or a value of the wrong type.
        """
        return cls.for_profile(profile, **changes)

    @classmethod
    def ssd(cls, profile: str | None = None, **changes) -> "DetectorRecipe":
        """Chapter 8's SSD: the same data, 6 epochs on ``cpu`` (it reaches its plateau sooner).

        Raises:
            ValueError: an unknown profile, or a value out of range.
            TypeError: an unknown field in ``changes``, or a value of the wrong type.
        """
        return cls._preset({"cpu": {"epochs": 6}, "gpu": dict(cls.PROFILES["gpu"])}, profile, changes)


__all__ = ["DetectorRecipe"]
