"""Checkpoints that carry what is needed to use the model again.

A checkpoint is one ``torch.save`` file holding the weights and a
:class:`CheckpointMeta`: the architecture name and config (to rebuild the
model), the normalisation and class names (to prepare inputs and read
outputs), the measured metrics and the profile they were measured on. It
loads with ``torch.load(weights_only=True)``: plain dicts, lists, strings,
numbers and tensors only, so loading cannot run code from the file.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

FORMAT = "course_utils.checkpoint/1"


@dataclass(frozen=True)
class CheckpointMeta:
    """What a checkpoint says about its model."""

    arch: str  # a name in course_utils.models.ARCHITECTURES
    config: dict[str, Any]  # keyword arguments / config fields to rebuild it
    mean: tuple[float, ...]  # per-channel normalisation the model was trained with
    std: tuple[float, ...]
    classes: tuple[str, ...]  # output index k -> class name
    input_size: tuple[int, int, int]  # (C, H, W) of one input image
    metrics: dict[str, float] = field(default_factory=dict)  # e.g. {"test_accuracy": 0.93}
    profile: str = ""  # runtime profile the metrics were measured on
    data_source: str = ""  # where the training data came from (mirror path or "download")
    torch_version: str = field(default_factory=lambda: str(torch.__version__))
    created: str = ""  # ISO time, set on save


def save_checkpoint(path: str | os.PathLike, model: nn.Module, meta: CheckpointMeta) -> Path:
    """Write ``model``'s weights and ``meta`` to ``path`` (atomically: a partial file is never left behind).

    Raises:
        ValueError: ``meta.arch`` is unknown, or the normalisation does not match the channels.
    """
    from .models import ARCHITECTURES

    if meta.arch not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {meta.arch!r}; known: {sorted(ARCHITECTURES)}")
    if not (len(meta.mean) == len(meta.std) == meta.input_size[0]):
        raise ValueError(
            f"mean ({len(meta.mean)}) and std ({len(meta.std)}) must have one value per input channel "
            f"({meta.input_size[0]})"
        )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = dataclasses.replace(meta, created=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"))
    blob = {"format": FORMAT, "meta": dataclasses.asdict(meta),
            "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()}}
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    torch.save(blob, tmp)
    os.replace(tmp, path)
    return path


def load_checkpoint(path: str | os.PathLike, *, device: torch.device | str = "cpu") -> tuple[nn.Module, CheckpointMeta]:
    """Rebuild the model from a checkpoint, load its weights, and return it in eval mode with its metadata.

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file is not a course checkpoint, or its architecture is unknown.
    """
    from .models import ARCHITECTURES

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # pickle errors, truncated files, ...
        raise ValueError(f"{path} is not a readable checkpoint ({type(err).__name__}: {err})") from err
    if not isinstance(blob, dict) or blob.get("format") != FORMAT:
        raise ValueError(f"{path} is not a course_utils checkpoint (expected format {FORMAT!r})")
    raw = blob["meta"]
    meta = CheckpointMeta(**{**raw, **{k: tuple(raw[k]) for k in ("mean", "std", "classes", "input_size")}})
    if meta.arch not in ARCHITECTURES:
        raise ValueError(f"{path}: unknown architecture {meta.arch!r}; known: {sorted(ARCHITECTURES)}")
    model = ARCHITECTURES[meta.arch](**meta.config)
    model.load_state_dict(blob["state_dict"])
    return model.to(device).eval(), meta
