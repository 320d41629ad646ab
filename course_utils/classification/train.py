"""The classification training loops: MNIST, CIFAR-10 with the ablation table's switches, and the fast recipe.

Each takes the model and a recipe (:mod:`.recipe`) and returns a
:class:`~course_utils.training.History`; the loop itself is
:func:`course_utils.training.fit`.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .. import validate
from ..augment import cutout, random_hflip, random_translate
from ..data import BatchLoader, ImageDataset, channel_mean_std, load_dataset
from ..data.mnist import MNIST_MEAN, MNIST_STD
from ..runtime import FLOAT32, Precision
from ..training import History, fit, one_cycle, predict_logits
from .recipe import CifarFastRecipe, CifarRecipe, MnistRecipe


def _cross_entropy(label_smoothing: float) -> Callable[[Tensor, Tensor], Tensor]:
    def loss_fn(logits: Tensor, y: Tensor) -> Tensor:
        return F.cross_entropy(logits, y, label_smoothing=label_smoothing)

    return loss_fn


def train_mnist(model: nn.Module, recipe: MnistRecipe, *, device: torch.device | str = "cpu",
                progress: bool = True) -> History:
    """Train ``model`` on MNIST with ``recipe`` and evaluate on the full test set after every epoch.

    ``recipe.optimizer``: ``"sgd"`` (Nesterov momentum 0.9 with a one-cycle schedule peaking
    at ``lr``; Smith & Topin 2019) or ``"adam"`` (constant ``lr``, as Keras' default).
    ``max_shift`` translates each training image by up to that many pixels (0: no
    augmentation); ``train_subset`` trains on a class-balanced subset of that size.

    Returns:
        The :class:`History`; ``val_acc`` is the test accuracy after each epoch.

    Raises:
        TypeError: ``model`` is not an ``nn.Module``, or ``recipe`` not an :class:`MnistRecipe`.
        DatasetNotFoundError: MNIST is neither in the mirror nor downloadable.
    """
    validate.instance(model, "model", nn.Module, "a torch.nn.Module")
    if not isinstance(recipe, MnistRecipe):
        raise TypeError(f"recipe must be an MnistRecipe, got {type(recipe).__name__}")
    r = recipe
    torch.manual_seed(r.seed)
    train = load_dataset("mnist", "train")
    if r.train_subset is not None:
        train = train.subset(r.train_subset, seed=r.seed)
    test = load_dataset("mnist", "test")
    gen = torch.Generator().manual_seed(r.seed)
    augment: Callable[[Tensor], Tensor] | None = (
        (lambda x: random_translate(x, r.max_shift, gen)) if r.max_shift else None
    )
    model = model.to(device)
    train_loader = BatchLoader(train, r.batch_size, shuffle=True, mean=MNIST_MEAN, std=MNIST_STD,
                               augment=augment, device=device, seed=r.seed)
    test_loader = BatchLoader(test, 1000, mean=MNIST_MEAN, std=MNIST_STD, device=device)
    scheduler = None
    if r.optimizer == "sgd":
        opt: torch.optim.Optimizer = torch.optim.SGD(model.parameters(), lr=r.lr, momentum=0.9, nesterov=True)
        scheduler = one_cycle(opt, r.lr, r.epochs * len(train_loader))
    else:
        opt = torch.optim.Adam(model.parameters(), lr=r.lr)
    return fit(model, train_loader, test_loader, opt, r.epochs, _cross_entropy(r.label_smoothing),
               scheduler=scheduler, progress=progress)


def cifar_train_split(train_subset: int | None = None, seed: int = 0) -> tuple[ImageDataset, Tensor, Tensor]:
    """CIFAR-10's training set (or a class-balanced subset) and its per-channel mean and std.

    Raises:
        TypeError: ``train_subset`` is not an int or None.
        ValueError: ``train_subset`` lies outside [1, 50,000].
        DatasetNotFoundError: CIFAR-10 is neither in the mirror nor downloadable.
    """
    if train_subset is not None and (isinstance(train_subset, bool) or not isinstance(train_subset, int)):
        raise TypeError(f"train_subset must be an int or None, got {train_subset!r}")
    if train_subset is not None and not 1 <= train_subset <= 50_000:
        raise ValueError(f"train_subset must lie in [1, 50000], got {train_subset}")
    train = load_dataset("cifar10", "train")
    if train_subset is not None:
        train = train.subset(train_subset, seed=seed)
    mean, std = channel_mean_std(train.images)
    return train, mean, std


def train_cifar(
    model: nn.Module,
    train: ImageDataset,
    test: ImageDataset | None,
    recipe: CifarRecipe,
    *,
    mean: Tensor | None = None,
    std: Tensor | None = None,
    device: torch.device | str = "cpu",
    progress: bool = True,
) -> History:
    """Train a classifier on (part of) CIFAR-10 with SGD and the switches of the ablation table.

    :class:`CifarRecipe`'s defaults are the seed walk-through's loop: SGD with lr 1e-2,
    batch 64, cross-entropy, no momentum, no augmentation, a constant learning rate.
    The recipe's ``train_subset``/``test_subset`` are not applied here: the caller
    chooses the data (:meth:`CifarRecipe.select`).

    Args:
        train, test: the datasets (e.g. CIFAR-3 from ``keep_classes``, or a subset);
            ``test`` is evaluated after every epoch (``History.val_acc``); None skips that.
        mean, std: per-channel normalisation; None: the training set's own statistics.

    Raises:
        TypeError: ``model`` is not an ``nn.Module``, ``recipe`` not a :class:`CifarRecipe`, or ``train``
            not an :class:`ImageDataset`.
        ValueError: ``train`` and ``test`` have different classes.
    """
    validate.instance(model, "model", nn.Module, "a torch.nn.Module")
    if not isinstance(recipe, CifarRecipe):
        raise TypeError(f"recipe must be a CifarRecipe, got {type(recipe).__name__}")
    validate.instance(train, "train", ImageDataset, "an ImageDataset")
    r = recipe
    if test is not None and tuple(train.classes) != tuple(test.classes):
        raise ValueError(f"train and test must have the same classes, got {train.classes} and {test.classes}")
    torch.manual_seed(r.seed)
    if mean is None or std is None:
        mean, std = channel_mean_std(train.images)
    mean, std = mean.float(), std.float()
    gen = torch.Generator().manual_seed(r.seed)

    def augment_batch(x: Tensor) -> Tensor:
        if "flip" in r.augment:
            x = random_hflip(x, generator=gen)
        if "translate" in r.augment:
            x = random_translate(x, 2, gen)
        if "cutout" in r.augment:
            x = cutout(x, 8, fill=mean.to(x.device), generator=gen)
        return x

    model = model.to(device)
    train_loader = BatchLoader(train, r.batch_size, shuffle=True, mean=mean, std=std,
                               augment=augment_batch if r.augment else None, device=device, seed=r.seed)
    test_loader = None if test is None else BatchLoader(test, 1000, mean=mean, std=std, device=device)
    opt = torch.optim.SGD(model.parameters(), lr=r.lr, momentum=r.momentum, weight_decay=r.weight_decay,
                          nesterov=r.momentum > 0)
    scheduler = None
    if r.schedule == "onecycle":
        scheduler = one_cycle(opt, r.lr, r.epochs * len(train_loader), pct_start=0.25, anneal_strategy="linear")
    return fit(model, train_loader, test_loader, opt, r.epochs, _cross_entropy(r.label_smoothing),
               scheduler=scheduler, progress=progress)


class _FastForward(nn.Module):
    """Memory format and autocast in one place, so that :func:`fit` stays generic."""

    def __init__(self, inner: nn.Module, precision: Precision, device_type: str, channels_last: bool) -> None:
        super().__init__()
        self.inner, self.precision, self.device_type, self.channels_last = inner, precision, device_type, channels_last

    def forward(self, x: Tensor) -> Tensor:
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with self.precision.autocast(self.device_type):
            return self.inner(x).float()


def train_cifar_fast(
    model: nn.Module,
    recipe: CifarFastRecipe,
    *,
    channels_last: bool = False,
    precision: Precision = FLOAT32,
    device: torch.device | str = "cpu",
    progress: bool = True,
    prepared: tuple[ImageDataset, Tensor, Tensor] | None = None,
) -> tuple[History, dict[str, float]]:
    """The fast CIFAR-10 recipe; returns the history and the final test accuracies.

    What the speed records teach (Page's ResNet-9, Jordan's airbench), at a small scale:
    the data stay on the device as uint8; flips and translations are done on whole
    batches; label smoothing; one short one-cycle schedule for SGD with Nesterov
    momentum; test-time flip augmentation. ``channels_last`` and mixed ``precision``
    (:func:`~course_utils.runtime.training_precision`: bfloat16, or float16 with a gradient
    scaler) help on GPUs (and on CPUs with bf16 units); they are off by default.
    ``recipe.config`` is not used: ``model`` is given.

    Args:
        prepared: ``(train, mean, std)`` from :func:`cifar_train_split`, if the caller has it
            already (then ``recipe.train_subset`` is not used).

    Returns:
        ``(history, {"test_accuracy": ..., "test_accuracy_tta": ...})`` on all 10,000 test images.

    Raises:
        TypeError: ``model`` is not an ``nn.Module``, or ``recipe`` not a :class:`CifarFastRecipe`.
        DatasetNotFoundError: CIFAR-10 is neither in the mirror nor downloadable.
    """
    validate.instance(model, "model", nn.Module, "a torch.nn.Module")
    if not isinstance(recipe, CifarFastRecipe):
        raise TypeError(f"recipe must be a CifarFastRecipe, got {type(recipe).__name__}")
    r = recipe
    torch.manual_seed(r.seed)
    train, mean, std = prepared if prepared is not None else cifar_train_split(r.train_subset, r.seed)
    test = load_dataset("cifar10", "test")
    gen = torch.Generator().manual_seed(r.seed)

    def augment(x: Tensor) -> Tensor:
        return random_translate(random_hflip(x, generator=gen), r.max_shift, gen)

    model = model.to(device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    train_loader = BatchLoader(train, r.batch_size, shuffle=True, mean=mean.float(), std=std.float(),
                               augment=augment, device=device, seed=r.seed, drop_last=True)
    test_loader = BatchLoader(test, 1000, mean=mean.float(), std=std.float(), device=device)
    decay, no_decay = [], []
    for p in model.parameters():  # no weight decay on batch-norm parameters and biases
        (decay if p.ndim > 1 else no_decay).append(p)
    opt = torch.optim.SGD([{"params": decay, "weight_decay": r.weight_decay},
                           {"params": no_decay, "weight_decay": 0.0}], lr=r.lr, momentum=0.9, nesterov=True)
    scheduler = one_cycle(opt, r.lr, r.epochs * len(train_loader), pct_start=0.25, anneal_strategy="linear")
    wrapped = _FastForward(model, precision, torch.device(device).type, channels_last)
    history = fit(wrapped, train_loader, None, opt, r.epochs, _cross_entropy(r.label_smoothing),
                  scheduler=scheduler, scaler=precision.scaler(device), progress=progress)
    logits, labels = predict_logits(wrapped, test_loader)
    logits_tta, _ = predict_logits(wrapped, test_loader, tta_flip=True)
    scores = {"test_accuracy": (logits.argmax(1) == labels).float().mean().item(),
              "test_accuracy_tta": (logits_tta.argmax(1) == labels).float().mean().item()}
    return history, scores


__all__ = ["cifar_train_split", "train_cifar", "train_cifar_fast", "train_mnist"]
