"""YOLOv2 and SSD end to end on the shapes world: data, training, mAP, inference time, and the cached YOLOv2."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from ..checkpoint import (CheckpointMeta, checkpoint_path, config_builder, config_from_dict, config_to_dict,
                          load_checkpoint, save_checkpoint)
from ..data.shapes import SHAPES, shapes_split
from .. import validate
from ..runtime import get_device, get_profile, training_precision
from ..training import History
from .recipe import DetectorRecipe
from .ssd import SmallSSD, SSDConfig, ssd_loss
from .ssd import postprocess as ssd_postprocess
from .metrics import detection_scores
from .train import PIXEL_MEAN, PIXEL_STD, DetectionData, predict_detector, scenes_to_data, train_detector
from .yolo import YoloConfig, YoloV2, build_targets, yolo_loss
from .yolo import postprocess as yolo_postprocess

YOLO_CHECKPOINT = "yolo_v2"

DETECTORS = {"yolo_v2": config_builder(YoloV2, YoloConfig), "small_ssd": config_builder(SmallSSD, SSDConfig)}
"""The detectors a checkpoint can name: the registry to pass to :func:`~course_utils.checkpoint.load_checkpoint`."""


@dataclass(frozen=True)
class DetectorRun:
    """What :func:`run_yolo_shapes` or :func:`run_ssd_shapes` trained and measured."""

    model: nn.Module
    config: YoloConfig | SSDConfig
    recipe: DetectorRecipe
    history: History  # train_loss and its parts per epoch
    metrics: dict[str, Any]  # detection_scores' dict on the test split (VOC and COCO mAP), plus "ms_per_image"
    test: DetectionData


def _check_run(recipe: DetectorRecipe, config, config_cls: type, train: DetectionData | None) -> None:
    validate.instance(recipe, "recipe", DetectorRecipe, "a DetectorRecipe (e.g. DetectorRecipe.yolo())")
    validate.instance(config, "config", config_cls)
    if train is not None:
        validate.instance(train, "train", DetectionData, "DetectionData (see scenes_to_data)")


def _run_detector(model: nn.Module, config, recipe: DetectorRecipe, loss_fn: Callable, postprocess_fn: Callable,
                  *, device: torch.device | str, progress: bool, train: DetectionData | None) -> DetectorRun:
    if train is None:
        train = scenes_to_data(shapes_split("train", recipe.n_train, config.image_size))
    elif len(train) != recipe.n_train:
        raise ValueError(f"train holds {len(train)} scenes, the recipe says n_train={recipe.n_train}")
    test = scenes_to_data(shapes_split("test", recipe.n_test, config.image_size))
    history = train_detector(model, train, loss_fn, epochs=recipe.epochs, lr=recipe.lr, batch_size=recipe.batch_size,
                             precision=training_precision(device), device=device, progress=progress, seed=recipe.seed)
    model = model.float().to(memory_format=torch.contiguous_format)
    start = time.perf_counter()
    predictions = predict_detector(model, test, postprocess_fn, device=device)
    ms_per_image = 1000 * (time.perf_counter() - start) / len(test)
    metrics = {**detection_scores(predictions, test.targets()), "ms_per_image": ms_per_image}
    return DetectorRun(model, config, recipe, history, metrics, test)


def run_yolo_shapes(recipe: DetectorRecipe | None = None, *, config: YoloConfig | None = None,
                    profile: str | None = None, device: torch.device | str | None = None, progress: bool = True,
                    train: DetectionData | None = None) -> DetectorRun:
    """Train the small :class:`~course_utils.detection.yolo.YoloV2` on the shapes world and measure it.

    Args:
        recipe: default :meth:`DetectorRecipe.yolo` of ``profile``.
        train: the training :class:`~course_utils.detection.train.DetectionData`, if the
            caller has generated it already (it must hold the recipe's ``n_train`` scenes).

    ``metrics`` is :func:`~course_utils.detection.metrics.detection_scores`' dict (VOC mAP@0.5 as
    ``map``, COCO mAP@[.5:.95] as ``map_50_95``) plus ``"ms_per_image"`` (inference, batch of 64,
    post-processing included, scoring not).

    Raises:
        TypeError: ``recipe`` is not a :class:`DetectorRecipe`, ``config`` not a :class:`YoloConfig`, or
            ``train`` not :class:`DetectionData`.
        ValueError: ``train`` holds another number of scenes than ``recipe.n_train``, or an unknown profile.
    """
    recipe = recipe if recipe is not None else DetectorRecipe.yolo(profile)
    cfg = config or YoloConfig()
    _check_run(recipe, cfg, YoloConfig, train)
    anchors = torch.tensor(cfg.anchors)

    def loss_fn(raw: Tensor, boxes: list[Tensor], labels: list[Tensor]):
        return yolo_loss(raw, build_targets(boxes, labels, anchors, cfg.grid, cfg.stride), anchors, cfg.image_size)

    return _run_detector(YoloV2(cfg), cfg, recipe, loss_fn, lambda raw: yolo_postprocess(raw, anchors, cfg.stride),
                         device=device or get_device(), progress=progress, train=train)


def run_ssd_shapes(recipe: DetectorRecipe | None = None, *, config: SSDConfig | None = None,
                   profile: str | None = None, device: torch.device | str | None = None, progress: bool = True,
                   train: DetectionData | None = None) -> DetectorRun:
    """Train the small :class:`~course_utils.detection.ssd.SmallSSD` on the shapes world and measure it.

    As :func:`run_yolo_shapes`; ``recipe`` defaults to :meth:`DetectorRecipe.ssd` of ``profile``.

    Raises:
        TypeError: ``recipe`` is not a :class:`DetectorRecipe`, ``config`` not an :class:`SSDConfig`, or
            ``train`` not :class:`DetectionData`.
        ValueError: ``train`` holds another number of scenes than ``recipe.n_train``, or an unknown profile.
    """
    recipe = recipe if recipe is not None else DetectorRecipe.ssd(profile)
    cfg = config or SSDConfig()
    _check_run(recipe, cfg, SSDConfig, train)
    model = SmallSSD(cfg)
    defaults = model.defaults

    def loss_fn(out: tuple[Tensor, Tensor], boxes: list[Tensor], labels: list[Tensor]):
        return ssd_loss(out[0], out[1], defaults, boxes, labels, image_size=cfg.image_size)

    return _run_detector(model, cfg, recipe, loss_fn,
                         lambda out: ssd_postprocess(out[0], out[1], defaults, cfg.image_size),
                         device=device or get_device(), progress=progress, train=train)


def trained_yolo_model(*, profile: str | None = None, device: torch.device | str | None = None,
                       train: DetectionData | None = None, progress: bool = True):
    """Chapter 7's YOLOv2: loaded from the cache, or trained with :func:`run_yolo_shapes` and cached.

    The checkpoint is a :mod:`course_utils.checkpoint` file (``arch="yolo_v2"``).

    Returns ``(model, cfg, meta)``; ``meta.metrics`` holds ``"map"``, ``"ap"`` (per class
    index), ``"train_seconds"``, ``"ms_per_image"``, ``"epochs"`` and ``"history"``
    (:meth:`History.as_dict <course_utils.training.History.as_dict>`), measured when it was trained.

    Raises:
        TypeError: ``train`` is not :class:`DetectionData`.
        ValueError: an unknown profile, or a cached checkpoint that is damaged.
    """
    profile = profile or get_profile()
    device = device or get_device()
    path = checkpoint_path(YOLO_CHECKPOINT, profile)
    if not path.is_file():
        run = run_yolo_shapes(profile=profile, device=device, train=train, progress=progress)
        metrics = {"map": run.metrics["map"], "ap": {int(k): v for k, v in run.metrics["ap"].items()},
                   "train_seconds": run.history.train_seconds, "ms_per_image": run.metrics["ms_per_image"],
                   "epochs": run.history.epochs, "history": run.history.as_dict()}
        cfg = run.config
        meta = CheckpointMeta(arch=YOLO_CHECKPOINT, config=config_to_dict(cfg), mean=(PIXEL_MEAN,) * 3,
                              std=(PIXEL_STD,) * 3, classes=SHAPES, input_size=(3, cfg.image_size, cfg.image_size),
                              metrics=metrics, profile=profile, data_source="shapes world (procedural)")
        save_checkpoint(path, run.model, meta, architectures=DETECTORS)
    model, meta = load_checkpoint(path, device=device, architectures=DETECTORS)
    return model, config_from_dict(YoloConfig, meta.config), meta


__all__ = ["DETECTORS", "DetectorRun", "YOLO_CHECKPOINT", "run_ssd_shapes", "run_yolo_shapes", "trained_yolo_model"]
