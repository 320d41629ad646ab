"""Runtime set-up shared by every chapter: profile, device, seeding, timing.

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
from typing import Literal, TypeVar

import numpy as np
import torch

PROFILE_ENV = "COURSE_PROFILE"
"""Environment variable that selects the runtime profile (``cpu`` or ``gpu``)."""

ProfileName = Literal["cpu", "gpu"]
PROFILES: tuple[ProfileName, ...] = ("cpu", "gpu")

T = TypeVar("T")


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
    """
    profile = profile or get_profile()
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; expected one of {PROFILES}")
    return cpu if profile == "cpu" else gpu


def get_device(prefer: str | None = None) -> torch.device:
    """Return the device to compute on: CUDA when present, else Apple MPS, else CPU.

    Args:
        prefer: force a device (``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``).
    """
    if prefer is not None:
        device = torch.device(prefer)
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
    """
    if not isinstance(seed, int) or seed < 0:
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
    """Collect the active profile, device and versions (probes the device now)."""
    device = device or get_device()
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
