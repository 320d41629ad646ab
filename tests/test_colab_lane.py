"""The Colab lane's pins are Colab's, and the package's lower bounds are versions a lane tests.

``.ci/colab/requirements.txt`` is what the Colab lane installs; ``../shared/colab/pip-freeze.gpu.txt``
is Colab's own published freeze. ``requirements.txt`` is the pinned lane. A lower bound in
``pyproject.toml`` is true only if some lane runs that exact version (the oldest tested).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LANE = ROOT / ".ci" / "colab" / "requirements.txt"
FREEZE = ROOT.parent / "shared" / "colab" / "pip-freeze.gpu.txt"
# PyPI's torch 2.11.0 is a CUDA 13 build; Colab's is +cu128 with CUDA 12 wheels. Those libraries
# differ by necessity, as does jedi (IPython 7.34's dependency, absent from Colab's freeze).
CUDA_WHEELS = re.compile(r"^(nvidia-|cuda-|triton$)")
NOT_IN_FREEZE = {"jedi"}


def norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and "==" in line and " @ " not in line:
            name, version = line.split("==", 1)
            out[norm(name)] = version.strip()
    return out


def test_colab_lane_pins_are_colabs_own_versions():
    if not FREEZE.is_file():
        pytest.skip("no ../shared/colab/pip-freeze.gpu.txt beside the clone")
    lane, colab = pins(LANE), pins(FREEZE)
    colab = {n: v.split("+", 1)[0] for n, v in colab.items()}  # torch==2.11.0+cu128 -> 2.11.0
    assert {"torch", "torchvision", "numpy", "matplotlib", "ipywidgets", "ipykernel", "transformers", "peft"} <= set(lane)
    differ = {n: (v, colab.get(n)) for n, v in lane.items()
              if not CUDA_WHEELS.match(n) and n not in NOT_IN_FREEZE and colab.get(n) != v}
    assert not differ, f"Colab-lane pins that are not Colab's (lane, Colab): {differ}"
    assert lane["ipywidgets"].startswith("7.") and lane["torch"] == "2.11.0"


def test_lane_runs_on_colabs_python():
    script = (ROOT / ".ci" / "colab" / "run").read_text()
    assert "sys.version_info[:2] == (3, 13)" in script and "PYENV_VERSION:-3.13.0" in script
    assert "insteadOf" in script and "import google.colab" in (
        ROOT / ".ci" / "colab" / "ipython" / "profile_default" / "startup" / "00-google-colab.py").read_text()


def test_lower_bounds_are_versions_a_lane_tests():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    tested = {}
    for lane in (pins(ROOT / "requirements.txt"), pins(LANE)):
        for name, version in lane.items():
            tested.setdefault(name, set()).add(version.split("+", 1)[0])
    requirements = list(project["dependencies"])
    for extra, reqs in project["optional-dependencies"].items():
        if extra != "qlora":  # bitsandbytes needs CUDA, which neither lane has (see pyproject.toml)
            requirements += reqs
    wrong = {}
    for req in requirements:
        m = re.fullmatch(r"([A-Za-z0-9_.-]+)>=([0-9][^,;\s]*)", req.strip())
        assert m, f"{req!r}: every requirement is a plain lower bound, name>=version"
        name, bound = norm(m[1]), m[2]
        versions = tested.get(name, set())
        if not versions or bound != min(versions, key=lambda v: tuple(int(x) for x in re.findall(r"\d+", v))):
            wrong[name] = (bound, sorted(versions))
    assert not wrong, f"lower bounds that are not the oldest version a lane tests (bound, tested): {wrong}"
