"""The fast CIFAR-10 recipe end to end: build, train, score, and cache the trained model."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from ..checkpoint import CheckpointMeta, checkpoint_path, config_to_dict, load_checkpoint, save_checkpoint
from ..data import ImageDataset
from ..models import AirbenchConfig, AirbenchNet, FastCifarConfig, FastCifarNet
from ..runtime import Precision, get_device, get_profile, training_precision
from ..training import History
from .recipe import CifarFastRecipe
from .train import cifar_train_split, train_cifar_fast

CHECKPOINT_NAME = "fast_cifar"


NETWORKS = {AirbenchConfig: ("airbench_cifar", AirbenchNet), FastCifarConfig: ("fast_cifar", FastCifarNet)}
"""A fast recipe's config class -> its checkpoint architecture name (:data:`~course_utils.checkpoint.ARCHITECTURES`)
and its network."""


def _arch(recipe: CifarFastRecipe) -> str:
    return NETWORKS[type(recipe.config)][0]


def _network(recipe: CifarFastRecipe) -> AirbenchNet | FastCifarNet:
    return NETWORKS[type(recipe.config)][1](recipe.config)


@dataclass(frozen=True)
class CifarFastRun:
    """What :func:`run_cifar_fast` trained and measured."""

    model: AirbenchNet | FastCifarNet
    history: History
    scores: dict[str, float]  # "test_accuracy", "test_accuracy_tta" on all 10,000 test images
    recipe: CifarFastRecipe
    precision: Precision
    train: ImageDataset  # the training data, and the normalisation the model was trained with
    mean: Tensor
    std: Tensor


def run_cifar_fast(recipe: CifarFastRecipe | None = None, *, profile: str | None = None,
                   device: torch.device | str | None = None, progress: bool = True) -> CifarFastRun:
    """Build ``recipe.config``'s network (:class:`~course_utils.models.AirbenchNet` or
    :class:`~course_utils.models.FastCifarNet`) and train it with the fast recipe.

    ``recipe`` defaults to :meth:`CifarFastRecipe.for_profile` of ``profile``. Mixed precision
    (:func:`~course_utils.runtime.training_precision`) and channels_last are used where they
    pay off: bfloat16 on Ampere-or-newer GPUs and on CPUs with bf16 units, float16 with a
    gradient scaler on older GPUs such as Colab's T4.

    Raises:
        TypeError: ``recipe`` is not a :class:`CifarFastRecipe`.
        ValueError: an unknown profile or device.
        DatasetNotFoundError: CIFAR-10 is neither in the mirror nor downloadable.
    """
    recipe = recipe if recipe is not None else CifarFastRecipe.for_profile(profile)
    if not isinstance(recipe, CifarFastRecipe):
        raise TypeError(f"recipe must be a CifarFastRecipe, got {type(recipe).__name__}")
    device = device or get_device()
    train, mean, std = cifar_train_split(recipe.train_subset, recipe.seed)
    model = _network(recipe)
    precision = training_precision(device)
    history, scores = train_cifar_fast(model, recipe, channels_last=precision.mixed, precision=precision,
                                       device=device, progress=progress, prepared=(train, mean, std))
    return CifarFastRun(model, history, scores, recipe, precision, train, mean, std)


def trained_cifar_model(recipe: CifarFastRecipe | None = None, *, profile: str | None = None,
                        device: torch.device | str | None = None, retrain: bool = False):
    """The fast recipe's trained network and its :class:`~course_utils.checkpoint.CheckpointMeta`.

    Loads ``checkpoint_path("fast_cifar", profile)`` when present and made by the
    profile's recipe (the same architecture, config and epochs); otherwise trains with
    :func:`run_cifar_fast` and caches the checkpoint, so that a chapter that needs a
    trained CIFAR-10 model can run on its own, and a checkpoint cached by an older
    recipe is replaced rather than used.

    Args:
        recipe: train with this recipe instead (e.g. one epoch in tests); it implies
            training, and the result replaces the cached checkpoint.
        retrain: train even if a checkpoint is cached.

    Raises:
        TypeError: ``recipe`` is not a :class:`CifarFastRecipe`.
        ValueError: an unknown profile, or a cached checkpoint that is damaged.
        DatasetNotFoundError: CIFAR-10 is neither in the mirror nor downloadable.
    """
    if recipe is not None and not isinstance(recipe, CifarFastRecipe):
        raise TypeError(f"recipe must be a CifarFastRecipe, got {type(recipe).__name__}")
    profile = profile or get_profile()
    device = device or get_device()
    path = checkpoint_path(CHECKPOINT_NAME, profile)
    if path.is_file() and not retrain and recipe is None:
        model, meta = load_checkpoint(path, device=device)
        wanted = CifarFastRecipe.for_profile(profile)
        if (meta.arch, meta.config, meta.metrics.get("epochs")) == (
                _arch(wanted), config_to_dict(wanted.config), wanted.epochs):
            return model, meta
    run = run_cifar_fast(recipe, profile=profile, device=device)
    meta = CheckpointMeta(
        arch=_arch(run.recipe), config=config_to_dict(run.recipe.config),
        mean=tuple(run.mean.tolist()), std=tuple(run.std.tolist()), classes=run.train.classes,
        input_size=(3, 32, 32),
        metrics={**run.scores, "train_seconds": run.history.train_seconds, "epochs": run.history.epochs},
        profile=profile, data_source=run.train.source,
    )
    save_checkpoint(path, run.model, meta)
    return load_checkpoint(path, device=device)  # exactly what later calls will load


__all__ = ["CHECKPOINT_NAME", "CifarFastRun", "run_cifar_fast", "trained_cifar_model"]
