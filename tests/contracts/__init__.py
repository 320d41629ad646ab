"""Bad-input cases for every public callable of course_utils, one module per area (see tests/test_contracts.py).

Each case is what a learner might pass by mistake, the error it must raise, and words its
message must hold: the argument, and what was expected.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Case:
    """One bad input: ``call()`` must raise ``error`` with a message matching ``match`` (a regex)."""

    what: str
    target: Callable
    call: Callable[[], object]
    error: type[BaseException]
    match: str


def _load() -> list[Case]:
    from . import classification, core, data, detection, plotting, vlm

    return [case for module in (core, data, detection, classification, plotting, vlm) for case in module.CASES]


ALL_CASES: list[Case] = _load()
