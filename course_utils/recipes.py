"""Complete training recipes, shared by the chapters and ``course_utils.bench``.

A benchmark must measure what the chapter runs, so both call these functions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .augment import random_translate
from .data import BatchLoader, ImageDataset, load_dataset
from .runtime import FLOAT32, Precision, training_precision
from .training import History, fit

MNIST_MEAN, MNIST_STD = (0.1307,), (0.3081,)  # the training set's statistics (chapter 1 computes them)


def train_mnist(
    model: nn.Module,
    *,
    epochs: int,
    optimizer: str = "sgd",
    lr: float = 0.1,
    batch_size: int = 128,
    max_shift: int = 2,
    train_subset: int | None = None,
    label_smoothing: float = 0.0,
    device: torch.device | str = "cpu",
    seed: int = 0,
    progress: bool = True,
) -> History:
    """Train ``model`` on MNIST and evaluate on the full test set after every epoch.

    Args:
        optimizer: ``"sgd"`` (Nesterov momentum 0.9 with a one-cycle schedule peaking
            at ``lr``; Smith & Topin 2019) or ``"adam"`` (constant ``lr``, as Keras' default).
        max_shift: random translation of each training image by up to this many
            pixels (0: no augmentation).
        train_subset: train on a class-balanced subset of this size (the ``cpu``
            profile's budget); None: all 60,000 images.

    Returns:
        The :class:`History`; ``val_acc`` is the test accuracy after each epoch.
    """
    if optimizer not in ("sgd", "adam"):
        raise ValueError(f"optimizer must be 'sgd' or 'adam', got {optimizer!r}")
    torch.manual_seed(seed)
    train = load_dataset("mnist", "train")
    if train_subset is not None:
        train = train.subset(train_subset, seed=seed)
    test = load_dataset("mnist", "test")
    gen = torch.Generator().manual_seed(seed)
    augment: Callable[[Tensor], Tensor] | None = (
        (lambda x: random_translate(x, max_shift, gen)) if max_shift else None
    )
    model = model.to(device)
    train_loader = BatchLoader(train, batch_size, shuffle=True, mean=MNIST_MEAN, std=MNIST_STD,
                               augment=augment, device=device, seed=seed)
    test_loader = BatchLoader(test, 1000, mean=MNIST_MEAN, std=MNIST_STD, device=device)
    scheduler = None
    if optimizer == "sgd":
        opt: torch.optim.Optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, nesterov=True)
        scheduler = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=epochs * len(train_loader))
    else:
        opt = torch.optim.Adam(model.parameters(), lr=lr)

    def loss_fn(logits: Tensor, y: Tensor) -> Tensor:
        return F.cross_entropy(logits, y, label_smoothing=label_smoothing)

    return fit(model, train_loader, test_loader, opt, epochs, loss_fn, scheduler=scheduler, progress=progress)


def cifar_train_split(train_subset: int | None = None, seed: int = 0):
    """CIFAR-10's training set (or a class-balanced subset) and its per-channel mean and std."""
    from .data import channel_mean_std

    train = load_dataset("cifar10", "train")
    if train_subset is not None:
        train = train.subset(train_subset, seed=seed)
    mean, std = channel_mean_std(train.images)
    return train, mean, std


AUGMENTATIONS = ("flip", "translate", "cutout")


def train_cifar(
    model: nn.Module,
    train: ImageDataset,
    test: ImageDataset | None,
    *,
    epochs: int,
    lr: float = 1e-2,
    batch_size: int = 64,
    momentum: float = 0.0,
    weight_decay: float = 0.0,
    schedule: str = "constant",
    augment: Sequence[str] = (),
    label_smoothing: float = 0.0,
    mean: Tensor | None = None,
    std: Tensor | None = None,
    device: torch.device | str = "cpu",
    seed: int = 0,
    progress: bool = True,
) -> History:
    """Train a classifier on (part of) CIFAR-10 with plain SGD and the switches of the ablation table.

    The defaults are the seed walk-through's loop: SGD with lr 1e-2, batch 64,
    cross-entropy, no momentum, no augmentation, a constant learning rate.

    Args:
        train, test: the datasets (e.g. CIFAR-3 from ``keep_classes``, or a subset);
            ``test`` is evaluated after every epoch (``History.val_acc``); None skips that.
        schedule: ``"constant"`` or ``"onecycle"`` (warm up to ``lr`` for 25% of the
            steps, then down to zero; Smith & Topin, 2019).
        augment: any of ``"flip"`` (left-right, p=0.5), ``"translate"`` (up to 2 pixels)
            and ``"cutout"`` (one 8x8 square filled with the mean colour).
        mean, std: per-channel normalisation; None: the training set's own statistics.
    """
    from .augment import cutout, random_hflip
    from .data import channel_mean_std

    if schedule not in ("constant", "onecycle"):
        raise ValueError(f"schedule must be 'constant' or 'onecycle', got {schedule!r}")
    unknown = set(augment) - set(AUGMENTATIONS)
    if unknown:
        raise ValueError(f"unknown augmentation(s) {sorted(unknown)}; choose from {AUGMENTATIONS}")
    if test is not None and tuple(train.classes) != tuple(test.classes):
        raise ValueError(f"train and test must have the same classes, got {train.classes} and {test.classes}")
    torch.manual_seed(seed)
    if mean is None or std is None:
        mean, std = channel_mean_std(train.images)
    mean, std = mean.float(), std.float()
    gen = torch.Generator().manual_seed(seed)

    def augment_batch(x: Tensor) -> Tensor:
        if "flip" in augment:
            x = random_hflip(x, generator=gen)
        if "translate" in augment:
            x = random_translate(x, 2, gen)
        if "cutout" in augment:
            x = cutout(x, 8, fill=mean.to(x.device), generator=gen)
        return x

    model = model.to(device)
    train_loader = BatchLoader(train, batch_size, shuffle=True, mean=mean, std=std,
                               augment=augment_batch if augment else None, device=device, seed=seed)
    test_loader = None if test is None else BatchLoader(test, 1000, mean=mean, std=std, device=device)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay,
                          nesterov=momentum > 0)
    scheduler = None
    if schedule == "onecycle":
        scheduler = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=epochs * len(train_loader),
                                                        pct_start=0.25, anneal_strategy="linear")

    def loss_fn(logits: Tensor, y: Tensor) -> Tensor:
        return F.cross_entropy(logits, y, label_smoothing=label_smoothing)

    return fit(model, train_loader, test_loader, opt, epochs, loss_fn, scheduler=scheduler, progress=progress)


def train_cifar_fast(
    model: nn.Module,
    *,
    epochs: int,
    batch_size: int = 256,
    lr: float = 0.2,
    weight_decay: float = 5e-4,
    label_smoothing: float = 0.2,
    max_shift: int = 2,
    train_subset: int | None = None,
    channels_last: bool = False,
    precision: Precision = FLOAT32,
    device: torch.device | str = "cpu",
    seed: int = 0,
    progress: bool = True,
    prepared: tuple | None = None,
) -> tuple[History, dict[str, float]]:
    """The fast CIFAR-10 recipe; returns the history and the final test accuracies.

    What the speed records teach (Page's ResNet-9, Jordan's airbench), at a small scale:
    the data stay on the device as uint8; flips and translations are done on whole
    batches; label smoothing; one short one-cycle schedule for SGD with Nesterov
    momentum; test-time flip augmentation. ``channels_last`` and mixed ``precision``
    (:func:`~course_utils.runtime.training_precision`: bfloat16, or float16 with a gradient
    scaler) help on GPUs (and on CPUs with bf16 units); they are off by default.

    Args:
        prepared: ``(train, mean, std)`` from :func:`cifar_train_split`, if the caller has it
            already (then ``train_subset`` is not used).

    Returns:
        ``(history, {"test_accuracy": ..., "test_accuracy_tta": ...})`` on all 10,000 test images.
    """
    from .augment import random_hflip

    torch.manual_seed(seed)
    train, mean, std = prepared if prepared is not None else cifar_train_split(train_subset, seed)
    test = load_dataset("cifar10", "test")
    gen = torch.Generator().manual_seed(seed)

    def augment(x: Tensor) -> Tensor:
        return random_translate(random_hflip(x, generator=gen), max_shift, gen)

    model = model.to(device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    train_loader = BatchLoader(train, batch_size, shuffle=True, mean=mean.float(), std=std.float(),
                               augment=augment, device=device, seed=seed, drop_last=True)
    test_loader = BatchLoader(test, 1000, mean=mean.float(), std=std.float(), device=device)
    decay, no_decay = [], []
    for p in model.parameters():  # no weight decay on batch-norm parameters and biases
        (decay if p.ndim > 1 else no_decay).append(p)
    opt = torch.optim.SGD([{"params": decay, "weight_decay": weight_decay},
                           {"params": no_decay, "weight_decay": 0.0}], lr=lr, momentum=0.9, nesterov=True)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=epochs * len(train_loader),
                                                    pct_start=0.25, anneal_strategy="linear")
    device_type = torch.device(device).type

    class _Wrapped(nn.Module):  # casts and memory format in one place, so fit() stays generic
        def __init__(self, inner: nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, x: Tensor) -> Tensor:
            if channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            with precision.autocast(device_type):
                return self.inner(x).float()

    wrapped = _Wrapped(model)

    def loss_fn(logits: Tensor, y: Tensor) -> Tensor:
        return F.cross_entropy(logits, y, label_smoothing=label_smoothing)

    history = fit(wrapped, train_loader, None, opt, epochs, loss_fn, scheduler=scheduler,
                  scaler=precision.scaler(device), progress=progress)
    from .training import predict_logits

    logits, labels = predict_logits(wrapped, test_loader)
    logits_tta, _ = predict_logits(wrapped, test_loader, tta_flip=True)
    scores = {"test_accuracy": (logits.argmax(1) == labels).float().mean().item(),
              "test_accuracy_tta": (logits_tta.argmax(1) == labels).float().mean().item()}
    return history, scores


def cifar_fast_settings(profile: str | None = None) -> dict:
    """The fast recipe's sizes for a profile: model config, epochs, batch size, learning rate.

    ``epochs`` is what the chapter and :func:`trained_cifar_model` train (on the ``cpu``
    profile 2 epochs, about 50 s, to fit the chapter's 3-minute budget);
    ``bench_epochs`` is what ``python -m course_utils.bench cifar`` trains: the most that
    fits the 150 s training budget on two CPU cores.
    """
    from .models.cifar_fast import RESNET9_LIKE, FastCifarConfig
    from .runtime import by_profile

    return by_profile(
        cpu={"config": FastCifarConfig(), "epochs": 2, "bench_epochs": 5, "batch_size": 256, "lr": 0.2},
        gpu={"config": RESNET9_LIKE, "epochs": 16, "bench_epochs": 16, "batch_size": 512, "lr": 0.4},
        profile=profile,  # type: ignore[arg-type]
    )


def run_cifar_fast(*, profile: str | None = None, device: torch.device | str | None = None,
                   progress: bool = True, **overrides):
    """Build the profile's :class:`~course_utils.models.FastCifarNet` and train it with the fast recipe.

    Mixed precision (:func:`~course_utils.runtime.training_precision`) and channels_last are used
    where they pay off: bfloat16 on Ampere-or-newer GPUs and on CPUs with bf16 units, float16
    with a gradient scaler on older GPUs such as Colab's T4.

    Args:
        overrides: replace settings of :func:`cifar_fast_settings` (``config``, ``epochs``, ...).

    Returns:
        ``(model, history, scores, config, precision, prepared)`` with ``prepared = (train, mean, std)``,
        the training data and the normalisation the model was trained with.
    """
    from .models import FastCifarNet
    from .runtime import get_device

    device = device or get_device()
    settings = {**cifar_fast_settings(profile), **overrides}
    settings.pop("bench_epochs", None)
    cfg = settings.pop("config")
    prepared = cifar_train_split(settings.pop("train_subset", None), settings.get("seed", 0))
    model = FastCifarNet(cfg)
    precision = training_precision(device)
    history, scores = train_cifar_fast(model, channels_last=precision.mixed, precision=precision, device=device,
                                       progress=progress, prepared=prepared, **settings)
    return model, history, scores, cfg, precision, prepared


def cifar_checkpoint_path(profile: str | None = None):
    """Where :func:`trained_cifar_model` caches its checkpoint: ``<cache>/checkpoints/fast_cifar-<profile>.pt``."""
    from .data import cache_dir
    from .runtime import get_profile

    return cache_dir("checkpoints") / f"fast_cifar-{profile or get_profile()}.pt"


def trained_cifar_model(
    *,
    profile: str | None = None,
    device: torch.device | str | None = None,
    retrain: bool = False,
    **overrides,
):
    """A trained :class:`~course_utils.models.FastCifarNet` and its checkpoint metadata.

    Loads ``<cache>/checkpoints/fast_cifar-<profile>.pt`` when present; otherwise trains
    with the fast recipe on the active profile and caches the checkpoint, so that a
    chapter that needs a trained CIFAR-10 model can run on its own.

    Args:
        retrain: train even if a checkpoint is cached.
        overrides: replace settings of :func:`cifar_fast_settings` (e.g. ``epochs=1`` in tests);
            they imply training, and the result replaces the cached checkpoint.
    """
    from .checkpoint import CheckpointMeta, load_checkpoint, save_checkpoint
    from .runtime import get_device, get_profile

    profile = profile or get_profile()
    device = device or get_device()
    path = cifar_checkpoint_path(profile)
    if path.is_file() and not retrain and not overrides:
        return load_checkpoint(path, device=device)
    model, history, scores, cfg, _, (train, mean, std) = run_cifar_fast(profile=profile, device=device,
                                                                        **overrides)
    meta = CheckpointMeta(
        arch="fast_cifar", config={**cfg.__dict__, "widths": list(cfg.widths)},
        mean=tuple(mean.tolist()), std=tuple(std.tolist()), classes=train.classes, input_size=(3, 32, 32),
        metrics={**scores, "train_seconds": history.train_seconds, "epochs": history.epochs},
        profile=profile, data_source=train.source,
    )
    save_checkpoint(path, model, meta)
    return load_checkpoint(path, device=device)  # exactly what later calls will load


def yolo_settings(profile: str | None = None) -> dict:
    """The YOLOv2 recipe's sizes for a profile: training scenes, epochs, batch size, learning rate, test scenes."""
    from .runtime import by_profile

    return by_profile(
        cpu={"n_train": 6000, "epochs": 7, "batch_size": 32, "lr": 3e-3, "n_test": 500},
        gpu={"n_train": 20000, "epochs": 30, "batch_size": 64, "lr": 3e-3, "n_test": 2000},
        profile=profile,  # type: ignore[arg-type]
    )


def _run_detector(model: nn.Module, settings: dict, image_size: int, loss_fn: Callable, postprocess_fn: Callable,
                  *, device: torch.device | str, progress: bool, train=None):
    """Shared by :func:`run_yolo_shapes` and :func:`run_ssd_shapes`: data, training, mAP and inference time."""
    import time

    from .data.shapes import shapes_split
    from .detection.train import evaluate_detector, scenes_to_data, train_detector

    if train is None:
        train = scenes_to_data(shapes_split("train", settings["n_train"], image_size))
    elif len(train) != settings["n_train"]:
        raise ValueError(f"train holds {len(train)} scenes, the settings say {settings['n_train']}")
    test = scenes_to_data(shapes_split("test", settings["n_test"], image_size))
    history = train_detector(model, train, loss_fn, epochs=settings["epochs"], lr=settings["lr"],
                             batch_size=settings["batch_size"], precision=training_precision(device), device=device,
                             progress=progress, seed=settings.get("seed", 0))
    model = model.float().to(memory_format=torch.contiguous_format)
    start = time.perf_counter()
    result = evaluate_detector(model, test, postprocess_fn, device=device)
    result["ms_per_image"] = 1000 * (time.perf_counter() - start) / len(test)
    return model, history, result, test


def run_yolo_shapes(*, profile: str | None = None, device: torch.device | str | None = None,
                    progress: bool = True, train=None, **overrides):
    """Train the small :class:`~course_utils.detection.yolo.YoloV2` on the shapes world and measure it.

    Args:
        train: the training :class:`~course_utils.detection.train.DetectionData`, if the
            caller has generated it already (it must hold the profile's ``n_train`` scenes).

    Returns:
        ``(model, cfg, history, result, test_data)`` where ``result`` is
        :func:`~course_utils.detection.metrics.mean_average_precision`'s dict on the test split
        plus ``"ms_per_image"`` (inference, batch of 64, post-processing included).
    """
    from .detection.yolo import YoloConfig, YoloV2, build_targets, postprocess, yolo_loss
    from .runtime import get_device

    s = {**yolo_settings(profile), **overrides}
    cfg = s.get("config", YoloConfig())
    anchors = torch.tensor(cfg.anchors)

    def loss_fn(raw: Tensor, boxes: list[Tensor], labels: list[Tensor]):
        return yolo_loss(raw, build_targets(boxes, labels, anchors, cfg.grid, cfg.stride), anchors, cfg.image_size)

    model, history, result, test = _run_detector(
        YoloV2(cfg), s, cfg.image_size, loss_fn, lambda raw: postprocess(raw, anchors, cfg.stride),
        device=device or get_device(), progress=progress, train=train)
    return model, cfg, history, result, test


def ssd_settings(profile: str | None = None) -> dict:
    """The SSD recipe's sizes for a profile (the same data as :func:`yolo_settings`)."""
    from .runtime import by_profile

    return by_profile(
        cpu={"n_train": 6000, "epochs": 6, "batch_size": 32, "lr": 3e-3, "n_test": 500},
        gpu={"n_train": 20000, "epochs": 30, "batch_size": 64, "lr": 3e-3, "n_test": 2000},
        profile=profile,  # type: ignore[arg-type]
    )


def run_ssd_shapes(*, profile: str | None = None, device: torch.device | str | None = None,
                   progress: bool = True, train=None, **overrides):
    """Train the small :class:`~course_utils.detection.ssd.SmallSSD` on the shapes world and measure it.

    Returns ``(model, cfg, history, result, test_data)`` as :func:`run_yolo_shapes`.
    """
    from .detection.ssd import SmallSSD, SSDConfig, postprocess, ssd_loss
    from .runtime import get_device

    s = {**ssd_settings(profile), **overrides}
    cfg = s.get("config", SSDConfig())
    model = SmallSSD(cfg)
    defaults = model.defaults

    def loss_fn(out: tuple[Tensor, Tensor], boxes: list[Tensor], labels: list[Tensor]):
        return ssd_loss(out[0], out[1], defaults, boxes, labels, image_size=cfg.image_size)

    model, history, result, test = _run_detector(
        model, s, cfg.image_size, loss_fn, lambda out: postprocess(out[0], out[1], defaults, cfg.image_size),
        device=device or get_device(), progress=progress, train=train)
    return model, cfg, history, result, test


def trained_yolo_model(*, profile: str | None = None, device: torch.device | str | None = None,
                       train=None, progress: bool = True):
    """The YOLOv2 of the detection chapter: loaded from the cache, or trained with :func:`run_yolo_shapes` and cached.

    Returns ``(model, cfg, metrics)`` with metrics ``{"map", "ap", "train_seconds", "ms_per_image",
    "loss" (per epoch), "epochs"}`` measured when it was trained.
    """
    from dataclasses import asdict

    from .data import cache_dir
    from .detection.yolo import YoloConfig, YoloV2
    from .runtime import get_device, get_profile

    profile = profile or get_profile()
    device = device or get_device()
    path = cache_dir("checkpoints") / f"yolo_shapes-{profile}.pt"
    if path.is_file():
        saved = torch.load(path, map_location=device, weights_only=True)
        cfg = YoloConfig(**{**saved["config"], "anchors": tuple(map(tuple, saved["config"]["anchors"])),
                            "widths": tuple(saved["config"]["widths"])})
        model = YoloV2(cfg).to(device)
        model.load_state_dict(saved["state_dict"])
        return model.eval(), cfg, saved["metrics"]
    model, cfg, history, result, _ = run_yolo_shapes(profile=profile, device=device, train=train, progress=progress)
    metrics = {"map": result["map"], "ap": {int(k): v for k, v in result["ap"].items()},
               "train_seconds": history.train_seconds, "ms_per_image": result["ms_per_image"],
               "loss": history.loss, "epochs": len(history.loss)}
    config = asdict(cfg)
    torch.save({"state_dict": model.state_dict(), "config": config, "metrics": metrics}, path)
    return model.eval(), cfg, metrics
