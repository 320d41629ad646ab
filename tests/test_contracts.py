"""Every public function of course_utils states its input contract, and a test shows it enforced.

The rule (README, "Bad input"): a public function checks what it receives and raises a
clear error that says what was expected. This file holds the rule for the whole package:

1. **Discovery.** Every public function, class and method defined in ``course_utils`` (not
   re-exports, not properties, not the CLIs' argparse internals) that takes an argument.
2. **The contract is written down.** Its docstring (for a class, the class docstring, which
   covers the constructor) has a ``Raises:`` section naming each error it raises for bad input.
3. **The contract is enforced.** ``tests/contracts/*.py`` hold at least one bad-input case per
   callable: a call, the error, and words its message must hold. Each case must raise the
   error, and the error must be one its docstring names.

A new public function without a docstring contract or without a case fails here, with the
names listed. Functions that take no argument have no input to check and are not listed.

One named exception, ``RESULTS``: records the package builds and returns (a receptive-field
row, a training run's result); a learner reads them and never builds one. ``validate.describe``
takes any value. Nothing else is exempt: every other public callable of every module, the
plotting helpers and the multimodal model included, has its contract and its case.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from collections.abc import Callable, Iterator

import pytest

import course_utils
from contracts import ALL_CASES, Case

RAISES = re.compile(r"^Raises:\s*$", re.M)
ERROR_LINE = re.compile(r"^\s+([A-Z]\w*(?:Error|Exit|Exception|Warning)\w*)(?:\s*,\s*([A-Z]\w*))?\s*:", re.M)


def _modules() -> Iterator[object]:
    for info in pkgutil.walk_packages(course_utils.__path__, "course_utils."):
        if info.name.rsplit(".", 1)[-1].startswith("_"):
            continue
        yield importlib.import_module(info.name)


def _takes_input(fn: Callable) -> bool:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name not in ("self", "cls") for p in params)


def public_callables() -> dict[str, Callable]:
    """``qualified name -> function or class`` for every public callable that takes input."""
    found: dict[str, Callable] = {}
    for module in _modules():
        for name, obj in vars(module).items():
            if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
                continue
            if inspect.isfunction(obj) and _takes_input(obj):
                found[f"{module.__name__}.{name}"] = obj
            elif inspect.isclass(obj):
                if _takes_input(obj) and not issubclass(obj, BaseException):
                    found[f"{module.__name__}.{name}"] = obj
                for attr, member in vars(obj).items():
                    if attr.startswith("_") or isinstance(member, property):
                        continue
                    fn = member.__func__ if isinstance(member, (classmethod, staticmethod)) else member
                    fn = inspect.unwrap(fn) if callable(fn) else fn
                    if inspect.isfunction(fn) and _takes_input(fn):
                        found[f"{module.__name__}.{name}.{attr}"] = fn
    return found


def _key(target: Callable) -> Callable:
    fn = getattr(target, "__func__", target)
    return inspect.unwrap(fn) if inspect.isfunction(fn) else fn


def documented_errors(obj: Callable) -> set[str]:
    """The error names in a docstring's ``Raises:`` section (empty when it has none)."""
    doc = inspect.getdoc(obj) or ""
    match = RAISES.search(doc)
    if not match:
        return set()
    section = doc[match.end():]
    end = re.search(r"^\S", section, re.M)  # the next unindented line ends the section
    section = section[: end.start()] if end else section
    return {name for pair in ERROR_LINE.findall(section) for name in pair if name}


RESULTS = frozenset({
    "receptive_field.RFRow", "receptive_field.RFTable", "classification.run.CifarFastRun", "detection.run.DetectorRun",
    "detection.yolo.YoloTargets", "detection.nms_speed.NmsTiming", "vlm.run.VLMRun", "runtime.RuntimeInfo", "runtime.Chapter", "runtime.Timer",
    "runtime.Precision", "validate.describe",
})


API = public_callables()
EXEMPT = {f"course_utils.{name}" for name in RESULTS}
CASES_BY_TARGET: dict[Callable, list[Case]] = {}
for _case in ALL_CASES:
    CASES_BY_TARGET.setdefault(_key(_case.target), []).append(_case)


def test_discovery_finds_the_package():
    assert "course_utils.detection.boxes.box_iou" in API
    assert "course_utils.data.dataset.ImageDataset.select" in API
    assert "course_utils.recipe.Recipe.for_profile" in API
    assert not any(name.endswith("._check_boxes") for name in API)  # private helpers are not listed


def test_the_docstring_parser():
    def f(x):
        """Do a thing.

        Raises:
            TypeError: ``x`` is not a tensor.
            ValueError, IndexError: the shape is wrong.

        Returns:
            nothing; ``KeyError: no`` here is not in the section.
        """

    assert documented_errors(f) == {"TypeError", "ValueError", "IndexError"}
    assert documented_errors(lambda: None) == set()


def test_every_public_callable_documents_its_contract():
    missing = sorted(name for name, obj in API.items() if not documented_errors(obj) and name not in EXEMPT)
    assert not missing, f"{len(missing)} public callables have no 'Raises:' section: {missing}"


def test_every_public_callable_has_a_bad_input_case():
    missing = sorted(name for name, obj in API.items() if _key(obj) not in CASES_BY_TARGET and name not in EXEMPT)
    assert not missing, f"{len(missing)} public callables have no case in tests/contracts: {missing}"


def test_every_case_targets_a_public_callable():
    known = {_key(obj) for obj in API.values()}
    strays = [case.what for case in ALL_CASES if _key(case.target) not in known]
    assert not strays, f"cases for callables that are not public or take no input: {strays}"


@pytest.mark.parametrize("case", ALL_CASES, ids=[c.what for c in ALL_CASES])
def test_bad_input_raises_the_documented_error(case: Case, tmp_path, monkeypatch):
    documented = documented_errors(case.target)
    assert case.error.__name__ in documented, (
        f"{case.what}: raises {case.error.__name__}, but the docstring's Raises: names {sorted(documented)}")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(case.error, match=case.match):
        case.call()
