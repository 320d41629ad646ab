"""course_utils.runtime: profile, device, seeding, timer; and no side effects at import."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
import torch

from course_utils import runtime


def test_profile_defaults_to_cpu_without_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert runtime.get_profile() == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert runtime.get_profile() == "gpu"


@pytest.mark.parametrize("value, expected", [("cpu", "cpu"), ("GPU", "gpu"), (" gpu ", "gpu")])
def test_profile_from_environment(monkeypatch, value, expected):
    monkeypatch.setenv(runtime.PROFILE_ENV, value)
    assert runtime.get_profile() == expected


def test_unknown_profile_is_an_error(monkeypatch):
    monkeypatch.setenv("COURSE_PROFILE", "tpu")
    with pytest.raises(ValueError, match=r"COURSE_PROFILE='tpu' is not a known profile; expected one of \('cpu', 'gpu'\)"):
        runtime.get_profile()


def test_by_profile_picks_the_active_value(monkeypatch):
    monkeypatch.setenv("COURSE_PROFILE", "cpu")
    assert runtime.by_profile(cpu=2, gpu=30) == 2
    monkeypatch.setenv("COURSE_PROFILE", "gpu")
    assert runtime.by_profile(cpu=2, gpu=30) == 30
    assert runtime.by_profile(cpu="small", gpu="full", profile="cpu") == "small"
    with pytest.raises(ValueError, match="unknown profile 'tpu'"):
        runtime.by_profile(cpu=1, gpu=2, profile="tpu")  # type: ignore[arg-type]


def test_device(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert runtime.get_device() == torch.device("cpu")
    assert runtime.get_device("cpu") == torch.device("cpu")
    with pytest.raises(ValueError, match="CUDA is not available"):
        runtime.get_device("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert runtime.get_device() == torch.device("cuda")


def test_seed_everything_makes_draws_repeat():
    import random

    import numpy as np

    gen = runtime.seed_everything(123)
    a = (torch.rand(3), np.random.rand(), random.random(), torch.rand(2, generator=gen))
    gen = runtime.seed_everything(123)
    b = (torch.rand(3), np.random.rand(), random.random(), torch.rand(2, generator=gen))
    assert torch.equal(a[0], b[0]) and a[1] == b[1] and a[2] == b[2] and torch.equal(a[3], b[3])
    runtime.seed_everything(124)
    assert not torch.equal(torch.rand(3), a[0])
    with pytest.raises(ValueError, match="non-negative int"):
        runtime.seed_everything(-1)


def test_timer():
    with runtime.Timer() as t:
        time.sleep(0.02)
    assert 0.015 < t.seconds < 1.0
    frozen = t.seconds
    time.sleep(0.01)
    assert t.seconds == frozen  # stopped on exit
    assert str(t).endswith(" s")
    running = runtime.Timer()
    time.sleep(0.01)
    assert running.seconds > 0.005


def test_runtime_info_names_profile_and_device(monkeypatch):
    monkeypatch.setenv("COURSE_PROFILE", "cpu")
    info = runtime.runtime_info(torch.device("cpu"))
    text = str(info)
    assert info.profile == "cpu" and info.gpu_name is None
    assert "profile=cpu" in text and "device=cpu" in text and torch.__version__ in text
    assert not runtime.is_colab()


def test_importing_the_package_probes_nothing_and_downloads_nothing():
    code = (
        "import sys, torch\n"
        "def boom(*a, **k): raise RuntimeError('device probed at import time')\n"
        "torch.cuda.is_available = boom\n"
        "import course_utils, course_utils.runtime, course_utils.data, course_utils.plotting\n"
        "import course_utils.checks, course_utils.bench\n"
        "assert 'torchvision' not in sys.modules, 'torchvision imported at import time'\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_start_chapter_sets_up_and_prints_the_runtime_line(monkeypatch, capsys):
    import random

    monkeypatch.setenv("COURSE_PROFILE", "cpu")
    chapter = runtime.start_chapter("05_training_cifar10")
    first = random.random(), torch.rand(1).item()
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("profile=cpu | device=cpu") and out[1].startswith("gpu profile:")
    assert chapter.device == torch.device("cpu") and chapter.profile == "cpu" and chapter.name == "05_training_cifar10"
    runtime.start_chapter("05_training_cifar10", quiet=True)
    assert (random.random(), torch.rand(1).item()) == first  # seeded: every run draws the same numbers
    assert capsys.readouterr().out == ""
    assert chapter.summary().startswith("chapter run time: ") and chapter.summary().endswith(
        "s (profile 'cpu', device cpu)")
    for bad in ("", "intro", 5):
        with pytest.raises(ValueError, match="chapter's file stem"):
            runtime.start_chapter(bad)
