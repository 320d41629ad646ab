"""Checkpoints that carry what is needed to use the model again: the one way the course saves a model.

A checkpoint is one ``torch.save`` file holding the weights and a
:class:`CheckpointMeta`: the architecture name and config (to rebuild the
model), the normalisation and class names (to prepare inputs and read
outputs), the measured metrics and the profile they were measured on. It
loads with ``torch.load(weights_only=True)``: plain dicts, lists, strings,
numbers and tensors only, so loading cannot run code from the file.

* :data:`ARCHITECTURES` -- the classifiers a checkpoint may name, each with its builder.
  A domain with models of its own passes its registry instead (``architectures=``;
  :data:`course_utils.detection.run.DETECTORS`), so this module knows only the layer below.
* :func:`config_to_dict` / :func:`config_from_dict` -- a config dataclass as plain
  data and back (lists become the config's tuples again): the one conversion.
* :func:`checkpoint_path` -- where the recipes cache a trained model.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import os
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import nn

from .data import cache_dir
from .models import (AirbenchConfig, AirbenchNet, CompactConfig, CompactMNIST, DesignConfig, DesignTargetNet,
                     FastCifarConfig, FastCifarNet, fully_connected_cifar, large_kernel_mnist, tanh_cnn)
from .runtime import get_profile
from . import validate

FORMAT = "course_utils.checkpoint/1"


def config_to_dict(config: Any) -> dict[str, Any]:
    """A config dataclass as plain data (tuples become lists), for ``torch.load(weights_only=True)`` and JSON.

    Raises:
        TypeError: ``config`` is not a dataclass instance.
    """
    if not dataclasses.is_dataclass(config) or isinstance(config, type):
        raise TypeError(f"expected a config dataclass instance, got {type(config).__name__}")
    return _plain(dataclasses.asdict(config))


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _tuples(value: Any) -> Any:
    return tuple(_tuples(v) for v in value) if isinstance(value, (list, tuple)) else value


def config_from_dict(cls: type, data: dict[str, Any]) -> Any:
    """Rebuild a config dataclass from :func:`config_to_dict`'s plain data.

    Lists become tuples at every depth (the configs hold tuples, e.g. YOLO's anchors
    ``((w, h), ...)``). An unknown key raises ``ValueError`` naming the fields.

    Raises:
        TypeError: ``cls`` is not a dataclass, or ``data`` not a dict.
        ValueError: ``data`` names fields ``cls`` does not have.
    """
    if not dataclasses.is_dataclass(cls) or not isinstance(cls, type):
        raise TypeError(f"expected a config dataclass class, got {cls!r}")
    if not isinstance(data, dict):
        raise TypeError(f"expected a dict of {cls.__name__}'s fields, got {type(data).__name__}")
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(data) - set(names))
    if unknown:
        raise ValueError(f"{cls.__name__} has no field(s) {unknown}; its fields are {names}")
    return cls(**{k: _tuples(v) for k, v in data.items()})


def config_builder(model_cls: type, config_cls: type) -> Callable[..., nn.Module]:
    """A registry entry for a model built from a config dataclass: ``build(**plain_config) -> model``.

    Raises:
        TypeError: ``model_cls`` is not an ``nn.Module`` class, or ``config_cls`` not a dataclass.
    """

    if not (isinstance(model_cls, type) and issubclass(model_cls, nn.Module)):
        raise TypeError(f"model_cls must be an nn.Module class, got {model_cls!r}")
    if not dataclasses.is_dataclass(config_cls) or not isinstance(config_cls, type):
        raise TypeError(f"config_cls must be a config dataclass class, got {config_cls!r}")

    def build(**config: Any) -> nn.Module:
        return model_cls(config_from_dict(config_cls, config))

    build.__name__ = f"build_{model_cls.__name__}"
    return build


ARCHITECTURES = {
    # name -> builder taking the checkpoint's config as keyword arguments
    "fully_connected_cifar": fully_connected_cifar,
    "tanh_cnn": tanh_cnn,
    "large_kernel_mnist": large_kernel_mnist,
    "compact_mnist": config_builder(CompactMNIST, CompactConfig),
    "fast_cifar": config_builder(FastCifarNet, FastCifarConfig),
    "airbench_cifar": config_builder(AirbenchNet, AirbenchConfig),
    "design_cifar": config_builder(DesignTargetNet, DesignConfig),
}
"""The classifiers a checkpoint can name (the default registry of :func:`save_checkpoint` and :func:`load_checkpoint`)."""


def checkpoint_path(name: str, profile: str | None = None) -> Path:
    """Where a recipe caches its trained model: ``<cache>/checkpoints/<name>-<profile>.pt``.

    Raises:
        ValueError: ``name`` is not letters, digits and underscores, or ``profile`` is unknown.
    """
    if not name or not name.replace("_", "").isalnum():
        raise ValueError(f"a checkpoint name is letters, digits and underscores, got {name!r}")
    return cache_dir("checkpoints") / f"{name}-{profile or get_profile()}.pt"


@dataclass(frozen=True)
class CheckpointMeta:
    """What a checkpoint says about its model.

    Raises:
        TypeError: a field has another type than annotated (``input_size`` must be three ints).
        ValueError: a fixed-size field has another length.
    """

    arch: str  # a name in the registry it is saved with (default ARCHITECTURES)
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

    def __post_init__(self) -> None:
        validate.fields(self)


def save_checkpoint(path: str | os.PathLike, model: nn.Module, meta: CheckpointMeta, *,
                    architectures: Mapping[str, Callable[..., nn.Module]] = ARCHITECTURES) -> Path:
    """Write ``model``'s weights and ``meta`` to ``path`` (atomically: a partial file is never left behind).

    Raises:
        ValueError: ``meta.arch`` is unknown, the normalisation does not match the channels, or
            ``model``'s weights are not those of the model ``meta`` describes.
    """
    if meta.arch not in architectures:
        raise ValueError(f"unknown architecture {meta.arch!r}; known: {sorted(architectures)}")
    if not (len(meta.mean) == len(meta.std) == meta.input_size[0]):
        raise ValueError(
            f"mean ({len(meta.mean)}) and std ({len(meta.std)}) must have one value per input channel "
            f"({meta.input_size[0]})"
        )
    expected = {k: tuple(v.shape) for k, v in architectures[meta.arch](**meta.config).state_dict().items()}
    given = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    if expected != given:
        diff = sorted(set(expected.items()) ^ set(given.items()))[:3]
        raise ValueError(f"the model's weights do not match meta ({meta.arch} with config {meta.config}); "
                         f"first differences (name, shape): {diff}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = dataclasses.replace(meta, created=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"))
    blob = {"format": FORMAT, "meta": dataclasses.asdict(meta),
            "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()}}
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    torch.save(blob, tmp)
    os.replace(tmp, path)
    return path


def load_checkpoint(path: str | os.PathLike, *, device: torch.device | str = "cpu",
                    architectures: Mapping[str, Callable[..., nn.Module]] = ARCHITECTURES
                    ) -> tuple[nn.Module, CheckpointMeta]:
    """Rebuild the model from a checkpoint, load its weights, and return it in eval mode with its metadata.

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file is not a course checkpoint (unreadable, truncated, no metadata), its
            architecture is unknown, or its weights do not match the model its metadata records.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # pickle errors, truncated files, ...
        raise ValueError(f"{path} is not a readable checkpoint ({type(err).__name__}: {err})") from err
    if not isinstance(blob, dict) or blob.get("format") != FORMAT:
        raise ValueError(f"{path} is not a course_utils checkpoint (expected format {FORMAT!r})")
    raw, state = blob.get("meta"), blob.get("state_dict")
    names = [f.name for f in dataclasses.fields(CheckpointMeta)]
    if not isinstance(raw, dict) or not isinstance(state, dict):
        raise ValueError(f"{path} lacks its {'meta' if not isinstance(raw, dict) else 'state_dict'} entry: a damaged "
                         "or hand-made file, not what save_checkpoint writes")
    required = [f.name for f in dataclasses.fields(CheckpointMeta)
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    if set(required) - set(raw) or set(raw) - set(names):
        raise ValueError(f"{path}: its metadata must hold {required} (and may hold {sorted(set(names) - set(required))});"
                         f" missing {sorted(set(required) - set(raw))}, unknown {sorted(set(raw) - set(names))}")
    try:
        meta = CheckpointMeta(**{**raw, **{k: tuple(raw[k]) for k in ("mean", "std", "classes", "input_size")}})
    except TypeError as err:
        raise ValueError(f"{path}: its metadata is malformed ({err})") from err
    if meta.arch not in architectures:
        raise ValueError(f"{path}: unknown architecture {meta.arch!r}; known: {sorted(architectures)}")
    try:
        model = architectures[meta.arch](**meta.config)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{path}: its config does not build a {meta.arch!r} ({err})") from err
    try:
        model.load_state_dict(state)
    except RuntimeError as err:  # missing or unexpected keys, mismatched shapes
        first = str(err).strip().splitlines()
        raise ValueError(f"{path}: the weights do not match the recorded model ({meta.arch} with config "
                         f"{meta.config}): {' '.join(line.strip() for line in first[:3])}") from err
    return model.to(device).eval(), meta
