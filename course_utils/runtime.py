"""Runtime set-up shared by every chapter: profile, device, seeding, timing, training precision.

A chapter's set-up cell is one call, :func:`start_chapter`, which does all of it and
prints the runtime line.

The course runs the same code under two *profiles*, chosen by one environment
variable, ``COURSE_PROFILE``:

* ``cpu`` -- the default when no CUDA GPU is visible. Small data subsets and few
  epochs, so that every chapter runs in at most 3 minutes on a 2-core laptop
  CPU (this is also what CI and nbval run).
* ``gpu`` -- the default when CUDA is available (for example on Colab with a GPU
  runtime). The full recipe: full datasets, real epochs, mixed precision.

Only sizes change between profiles, never the code path. Nothing here runs at
import time: the device and profile are probed when a function asks for them.
"""

from __future__ import annotations

import os
import platform
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

import numpy as np
import torch

PROFILE_ENV = "COURSE_PROFILE"
"""Environment variable that selects the runtime profile (``cpu`` or ``gpu``)."""

ProfileName = Literal["cpu", "gpu"]
PROFILES: tuple[ProfileName, ...] = ("cpu", "gpu")

T = TypeVar("T")


def _as_device(device: torch.device | str, name: str = "device") -> torch.device:
    """``device`` as a ``torch.device``, refusing what torch cannot name (``ValueError``)."""
    try:
        return torch.device(device)
    except (RuntimeError, TypeError) as e:
        raise ValueError(f"{name} must be a torch.device or a name like 'cpu' or 'cuda:0', got {device!r}") from e


def get_profile() -> ProfileName:
    """Return the active runtime profile.

    ``COURSE_PROFILE`` wins when set; otherwise ``gpu`` when CUDA is available,
    else ``cpu``.

    Raises:
        ValueError: ``COURSE_PROFILE`` is set to something other than ``cpu``/``gpu``.
    """
    raw = os.environ.get(PROFILE_ENV, "").strip().lower()
    if raw:
        if raw not in PROFILES:
            raise ValueError(
                f"{PROFILE_ENV}={raw!r} is not a known profile; expected one of {PROFILES}"
            )
        return raw  # type: ignore[return-value]
    return "gpu" if torch.cuda.is_available() else "cpu"


def by_profile(*, cpu: T, gpu: T, profile: ProfileName | None = None) -> T:
    """Pick a value for the active profile: ``by_profile(cpu=2, gpu=30)`` epochs.

    Chapters size their data and training with this, so the code path is the
    same under both profiles and only the numbers change.

    Raises:
        ValueError: ``profile`` (or ``COURSE_PROFILE``) is not a known profile.
    """
    profile = profile or get_profile()
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; expected one of {PROFILES}")
    return cpu if profile == "cpu" else gpu


def get_device(prefer: str | None = None) -> torch.device:
    """Return the device to compute on: CUDA when present, else Apple MPS, else CPU.

    Args:
        prefer: force a device (``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``).

    Raises:
        ValueError: ``prefer`` is not a device name, or names CUDA where there is none.
    """
    if prefer is not None:
        device = _as_device(prefer, "prefer")
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"device {prefer!r} requested but CUDA is not available")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def seed_everything(seed: int = 0, *, deterministic: bool = False) -> torch.Generator:
    """Seed Python's, NumPy's and PyTorch's random generators (CPU and CUDA).

    Args:
        seed: the seed; chapters use 0 unless they say otherwise.
        deterministic: also ask cuDNN/PyTorch for deterministic kernels (slower
            on GPU; results then repeat run to run on the same hardware).

    Returns:
        A ``torch.Generator`` seeded with ``seed``, for code that wants its own stream.

    Raises:
        ValueError: ``seed`` is not a non-negative int.
    """
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)  # also seeds every CUDA device
    if deterministic:
        torch.backends.cudnn.benchmark = False
        torch.use_deterministic_algorithms(True, warn_only=True)
    return torch.Generator().manual_seed(seed)


def is_colab() -> bool:
    """True when running inside Google Colab."""
    return "google.colab" in sys.modules


@dataclass(frozen=True)
class RuntimeInfo:
    """What a chapter prints at the top: where and how it is running."""

    profile: ProfileName
    device: torch.device
    torch_version: str
    python_version: str
    cpu_threads: int
    gpu_name: str | None = None
    colab: bool = False

    def __str__(self) -> str:
        where = self.gpu_name or f"{self.cpu_threads} CPU threads"
        env = ", Colab" if self.colab else ""
        return (
            f"profile={self.profile} | device={self.device} ({where}{env}) | "
            f"torch {self.torch_version} | Python {self.python_version}"
        )


def runtime_info(device: torch.device | None = None) -> RuntimeInfo:
    """Collect the active profile, device and versions (probes the device now).

    Raises:
        ValueError: ``device`` is not a device name or ``torch.device``.
    """
    device = get_device() if device is None else _as_device(device)
    gpu_name = torch.cuda.get_device_name(device) if device.type == "cuda" else None
    return RuntimeInfo(
        profile=get_profile(),
        device=device,
        torch_version=torch.__version__,
        python_version=platform.python_version(),
        cpu_threads=torch.get_num_threads(),
        gpu_name=gpu_name,
        colab=is_colab(),
    )


@dataclass
class Timer:
    """Wall-clock timer, usable as a context manager or started by hand.

    >>> with Timer() as t:
    ...     _ = sum(range(1000))
    >>> t.seconds >= 0
    True
    """

    start: float = field(default_factory=time.perf_counter)
    stop: float | None = None

    def __enter__(self) -> "Timer":
        self.start = time.perf_counter()
        self.stop = None
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop = time.perf_counter()

    @property
    def seconds(self) -> float:
        """Elapsed seconds (up to now if the timer is still running)."""
        end = self.stop if self.stop is not None else time.perf_counter()
        return end - self.start

    def __str__(self) -> str:
        return f"{self.seconds:.1f} s"


# ------------------------------------------------------------------ training precision

BF16_MIN_CAPABILITY = (8, 0)
"""CUDA compute capability from which bfloat16 runs natively (Ampere: A100, A10, L4, H100, ...).

Below it (T4 is 7.5, V100 7.0) ``torch.cuda.is_bf16_supported()`` still answers True, because
by default it also counts emulation; emulated bfloat16 trains slower than float32 there, so
those GPUs get float16 with a gradient scaler instead (NVIDIA's mixed-precision recipe:
Micikevicius et al., 2018)."""


@dataclass(frozen=True)
class Precision:
    """How a recipe trains on a device: the autocast dtype and whether gradients need scaling.

    ``dtype`` is ``None`` for plain float32. ``grad_scaler`` is True for float16, whose narrow
    exponent range lets small gradients underflow unless the loss is scaled up first.
    In the recipes that train with autocast, weights, optimiser state and the loss stay in
    float32 (autocast only runs the forward pass's matrix products in ``dtype``); a pretrained
    LM loaded in 16 bits (``vlm.language_model.pretrained_dtype``) is the one exception.
    """

    dtype: torch.dtype | None
    grad_scaler: bool
    reason: str

    @property
    def mixed(self) -> bool:
        """True when the forward pass runs in a 16-bit dtype."""
        return self.dtype is not None

    @property
    def name(self) -> str:
        """``"bfloat16"``, ``"float16+GradScaler"`` or ``"float32"``."""
        if self.dtype is None:
            return "float32"
        return str(self.dtype).removeprefix("torch.") + ("+GradScaler" if self.grad_scaler else "")

    def autocast(self, device: torch.device | str):
        """The ``torch.autocast`` context for the forward pass (disabled for float32).

        Raises:
            ValueError: ``device`` is not a device name or ``torch.device``.
        """
        device_type = _as_device(device).type
        return torch.autocast(device_type, dtype=self.dtype or torch.float32, enabled=self.mixed)

    def scaler(self, device: torch.device | str) -> "torch.amp.GradScaler":
        """A ``GradScaler`` for this precision: active for float16, a no-op otherwise.

        Raises:
            ValueError: ``device`` is not a device name or ``torch.device``.
        """
        return torch.amp.GradScaler(_as_device(device).type, enabled=self.grad_scaler)

    def __str__(self) -> str:
        return f"{self.name} ({self.reason})"


FLOAT32 = Precision(None, False, "float32 everywhere")
"""Plain float32 training, for recipes or tests that want no autocast."""


def _cpu_has_bf16() -> bool:
    mkldnn = getattr(torch.ops, "mkldnn", None)
    return bool(mkldnn is not None and mkldnn._is_mkldnn_bf16_supported())


def training_precision(device: torch.device | str) -> Precision:
    """The precision every course recipe trains in on ``device``.

    * CUDA, compute capability >= 8.0 (:data:`BF16_MIN_CAPABILITY`): bfloat16 autocast.
    * CUDA below 8.0 (T4, V100): float16 autocast with a ``GradScaler``.
    * CPU with bfloat16 units (oneDNN reports them, e.g. AVX-512 BF16 or AMX): bfloat16
      autocast; other CPUs: float32. This is what the CPU recipes have always used.
    * Anything else (MPS): float32.

    Raises:
        ValueError: ``device`` is not a device name or ``torch.device``.
    """
    device = _as_device(device)
    if device.type == "cuda":
        major, minor = torch.cuda.get_device_capability(device)
        gpu = f"{torch.cuda.get_device_name(device)}, compute capability {major}.{minor}"
        if (major, minor) >= BF16_MIN_CAPABILITY:
            return Precision(torch.bfloat16, False, f"{gpu}: native bfloat16")
        return Precision(torch.float16, True, f"{gpu}: bfloat16 would be emulated, so float16 with a GradScaler")
    if device.type == "cpu":
        if _cpu_has_bf16():
            return Precision(torch.bfloat16, False, "this CPU has bfloat16 units")
        return Precision(None, False, "this CPU has no bfloat16 units")
    return Precision(None, False, f"no mixed precision on {device.type}")


# ------------------------------------------------------------------ measured GPU times

GPU_RESULTS = "results/gpu_check.json"
"""The GPU check's results, inside the package (``make gpu-check`` writes it; see .ci/gpu/check.py)."""


def gpu_timing(chapter: str, results: str | os.PathLike | None = None) -> str:
    """One line for a chapter's runtime statement: how long it took on a GPU, from the GPU check.

    Args:
        chapter: the chapter's file stem, e.g. ``"05_training_cifar10"``.
        results: the results file (default: the package's :data:`GPU_RESULTS`).

    Returns:
        ``"gpu profile: 74 s on NVIDIA H200 (torch 2.11.0, commit 1a2b3c4, 2026-12-01)"``, the
        failure or time-out that check recorded, or ``"gpu profile: not yet timed on a GPU"``
        when no check has run.

    Raises:
        TypeError: ``chapter`` is not a str.
        ValueError: the results file exists but is not the check's JSON.
    """
    if not isinstance(chapter, str):
        raise TypeError(f"chapter must be a chapter's file stem (str), got {chapter!r}")
    import json
    from importlib.resources import files
    from pathlib import Path

    path = Path(results) if results is not None else Path(str(files("course_utils") / GPU_RESULTS))
    if not path.is_file():
        return "gpu profile: not yet timed on a GPU (no GPU check has run: `make gpu-check`)"
    try:
        data = json.loads(path.read_text())
        tasks = {t["task"]: t for t in data["tasks"]}
        when = str(data["measured_at"])[:10]
    except (ValueError, KeyError, TypeError) as e:
        raise ValueError(f"{path} is not a GPU check results file (expected JSON with 'tasks' and "
                         f"'measured_at', as .ci/gpu/check.py writes): {e}") from e
    task = tasks.get(f"chapter {chapter}")
    if task is None:
        return f"gpu profile: not yet timed on a GPU (the GPU check of {when} did not include {chapter})"
    where = f"on {task.get('gpu', '?')} (torch {task.get('torch', '?')}, commit {str(task.get('commit', '?'))[:7]}, {when})"
    if task.get("status") == "ok":
        return f"gpu profile: {task['seconds']:.0f} s {where}"
    if task.get("status") == "skipped":
        return f"gpu profile: not yet timed on a GPU (the GPU check of {when} ran out of time before it)"
    return f"gpu profile: {task.get('status')} after {task.get('seconds', 0):.0f} s {where}: {task.get('error', '')}"


# ------------------------------------------------------------------ measured benchmarks

RESULT_KEYS = ("task", "metric", "value", "machine", "torch", "commit", "measured_at")
"""What every saved benchmark record holds: what was measured, where, with what, and when."""


def results_path(task: str) -> Path:
    """Where ``python -m course_utils.bench TASK --save`` writes its record: the package's ``results/TASK.json``.

    Raises:
        TypeError: ``task`` is not a str.
        ValueError: ``task`` is not letters, digits, ``-`` and ``_``.
    """
    from importlib.resources import files

    if not isinstance(task, str):
        raise TypeError(f"task must be a benchmark task's name (str), got {task!r}")
    if not task or not task.replace("-", "").replace("_", "").isalnum():
        raise ValueError(f"a task name is letters, digits, '-' and '_', got {task!r}")
    return Path(str(files("course_utils") / "results")) / f"{task}.json"


def measured(task: str, path: str | os.PathLike | None = None) -> dict[str, Any]:
    """A saved benchmark record (``bench TASK --save``), for a chapter that quotes it.

    Args:
        task: the benchmark task, e.g. ``"cifar-ablation"``.
        path: the file (default: :func:`results_path` of ``task``).

    Returns:
        The record: the task's own fields and :data:`RESULT_KEYS` (machine, torch, commit, time).

    Raises:
        TypeError: ``task`` is not a str.
        FileNotFoundError: no record was saved (the message gives the command that makes one).
        ValueError: the file is not JSON, is another task's, or lacks one of :data:`RESULT_KEYS`.
    """
    import json

    file = Path(path) if path is not None else results_path(task)
    if not file.is_file():
        raise FileNotFoundError(f"no saved {task!r} benchmark at {file}: run `python -m course_utils.bench {task} "
                                f"--save` to measure it")
    try:
        record = json.loads(file.read_text())
    except ValueError as e:
        raise ValueError(f"{file} is not a benchmark record (JSON): {e}") from e
    if not isinstance(record, dict):
        raise ValueError(f"{file} is not a benchmark record: expected a JSON object, got {type(record).__name__}")
    missing = [k for k in RESULT_KEYS if k not in record]
    if missing:
        raise ValueError(f"{file} lacks {missing}: a benchmark record holds {list(RESULT_KEYS)}")
    if record["task"] != task:
        raise ValueError(f"{file} is the record of task {record['task']!r}, not {task!r}")
    return record


# ------------------------------------------------------------------ a chapter's set-up


@dataclass(frozen=True)
class Chapter:
    """What :func:`start_chapter` set up: the chapter's name, device, profile and its running timer."""

    name: str
    device: torch.device
    profile: ProfileName
    timer: Timer

    def summary(self) -> str:
        """The chapter's last line: ``"chapter run time: 95.2 s (profile 'cpu', device cpu)"``."""
        return f"chapter run time: {self.timer} (profile '{self.profile}', device {self.device})"


def start_chapter(name: str, *, seed: int = 0, quiet: bool = False) -> Chapter:
    """Everything a chapter's set-up cell does, in one call.

    Starts the chapter's timer, picks the device (:func:`get_device`), seeds every
    generator (:func:`seed_everything`), and prints the runtime line
    (:func:`runtime_info`) and the chapter's measured GPU time (:func:`gpu_timing`),
    unless ``quiet``.

    Args:
        name: the chapter's file stem, e.g. ``"05_training_cifar10"``.

    Raises:
        ValueError: ``name`` is not a chapter's file stem (two digits first).
        TypeError: ``quiet`` is not a bool.
    """
    if not isinstance(name, str) or not name or not name[:2].isdigit():
        raise ValueError(f"name must be a chapter's file stem such as '05_training_cifar10', got {name!r}")
    if not isinstance(quiet, bool):
        raise TypeError(f"quiet must be a bool, got {quiet!r}")
    timer = Timer()
    device = get_device()
    seed_everything(seed)
    chapter = Chapter(name=name, device=device, profile=get_profile(), timer=timer)
    if not quiet:
        print(runtime_info(device))
        print(gpu_timing(name))  # from the GPU check, once one has run
    return chapter
