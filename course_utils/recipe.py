"""The base of every training recipe: a frozen, typed dataclass of sizes, one preset per profile.

A recipe says what a training run uses -- epochs, batch size, learning rate, how
much data -- and nothing else: the ``run_*`` function of its domain
(:mod:`course_utils.classification.recipe`, :mod:`course_utils.detection.recipe`,
:mod:`course_utils.vlm.recipe`) does the work. Chapters and ``course_utils.bench``
read their sizes from the same recipe, so a benchmark measures what a chapter runs.

* ``SomeRecipe.for_profile()`` is the active profile's preset
  (:func:`course_utils.runtime.get_profile`; ``"cpu"`` or ``"gpu"``).
* ``recipe.replace(epochs=1)`` is a copy with some fields changed. An unknown name
  raises ``TypeError`` listing the fields, so a typo never trains silently with the
  default. Each recipe checks its own values when it is built (``ValueError``).

A subclass declares its fields with their defaults and ``PROFILES``: for each profile
the values that differ from those defaults. Further presets (a chapter's quick run
of the same loop) are classmethods built with :meth:`Recipe._preset`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from . import validate
from .runtime import PROFILES, get_profile

R = TypeVar("R", bound="Recipe")


@dataclass(frozen=True)
class Recipe:
    """Base class: subclasses are frozen dataclasses with a ``PROFILES`` table."""

    PROFILES: ClassVar[Mapping[str, Mapping[str, Any]]] = {}

    def __post_init__(self) -> None:
        validate.fields(self)  # every subclass's own checks call this first

    @classmethod
    def fields(cls) -> tuple[str, ...]:
        """The names a recipe of this class has (what :meth:`replace` accepts)."""
        return tuple(f.name for f in dataclasses.fields(cls))

    @classmethod
    def _check_names(cls, names) -> None:
        unknown = sorted(set(names) - set(cls.fields()))
        if unknown:
            raise TypeError(f"{cls.__name__} has no field(s) {unknown}; its fields are {list(cls.fields())}")

    @classmethod
    def _preset(cls: type[R], table: Mapping[str, Mapping[str, Any]], profile: str | None, changes: dict) -> R:
        profile = get_profile() if profile is None else profile
        if profile not in PROFILES:
            raise ValueError(f"unknown profile {profile!r}; expected one of {PROFILES}")
        if profile not in table:
            raise ValueError(f"{cls.__name__} has no preset for profile {profile!r}; it has {sorted(table)}")
        cls._check_names(table[profile])
        cls._check_names(changes)
        return cls(**{**table[profile], **changes})

    @classmethod
    def for_profile(cls: type[R], profile: str | None = None, **changes: Any) -> R:
        """The preset of ``profile`` (default: the active one), with ``changes`` applied.

        Raises:
            ValueError: ``profile`` is unknown, or has no preset for this recipe; or a value is out of
                range.
            TypeError: ``changes`` names a field the recipe does not have (the message lists them), or a
                value has the wrong type.
        """
        return cls._preset(cls.PROFILES, profile, changes)

    def replace(self: R, **changes: Any) -> R:
        """A copy with ``changes``; an unknown field raises ``TypeError``.

        Raises:
            TypeError: ``changes`` names a field the recipe does not have, or a value has the wrong type.
            ValueError: a value is out of range.
        """
        self._check_names(changes)
        return dataclasses.replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        """The fields as plain data (nested config dataclasses become dicts), for results files."""
        return dataclasses.asdict(self)

    def _require_positive(self, *names: str) -> None:
        for name in names:
            value = getattr(self, name)
            if value is not None and (not isinstance(value, (int, float)) or isinstance(value, bool) or not value > 0):
                raise ValueError(f"{type(self).__name__}.{name} must be a positive number, got {value!r}")

    def _require_non_negative(self, *names: str) -> None:
        for name in names:
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not value >= 0:
                raise ValueError(f"{type(self).__name__}.{name} must be >= 0, got {value!r}")

    def _require_fraction(self, name: str) -> None:
        value = getattr(self, name)
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value < 1:
            raise ValueError(f"{type(self).__name__} needs {name} in [0, 1), got {value!r}")

    def _require_choice(self, name: str, choices: tuple) -> None:
        if getattr(self, name) not in choices:
            raise ValueError(f"{type(self).__name__}.{name} must be one of {choices}, got {getattr(self, name)!r}")


__all__ = ["Recipe"]
