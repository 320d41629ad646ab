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
from ..augment import alternating_hflip, cutout, random_hflip, random_translate
from ..data import BatchLoader, ImageDataset, channel_mean_std, load_dataset
from ..data.mnist import MNIST_MEAN, MNIST_STD
from ..data.normalize import normalize
from ..models.airbench import AirbenchNet
from ..runtime import FLOAT32, Precision
from ..training import History, Lookahead, fit, one_cycle, predict_logits, shifted_views
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
    six_views: bool = True,
) -> tuple[History, dict[str, float]]:
    """The fast CIFAR-10 recipe; returns the history and the final test accuracies.

    What the speed records teach (Page's ResNet-9; Jordan's airbench), at a small scale:
    the data stay on the device as uint8; flips and translations are done on whole
    batches; label smoothing; one short one-cycle schedule for SGD with Nesterov
    momentum, no weight decay on biases and batch-norm shifts; test-time augmentation.
    The recipe's switches turn on airbench's other ideas (each one is a row of
    ``bench cifar-ablation``):

    * ``whiten``: for an :class:`~course_utils.models.AirbenchNet`, set its first layer
      to the patch-whitening filters of 5,000 training images and freeze it; its bias
      learns for ``whitening_bias_epochs`` epochs and then freezes too, so that the
      backward pass stops at the first learned convolution;
    * ``flip="alternating"``: :func:`~course_utils.augment.alternating_hflip` instead of
      random flips; translations (``max_shift``) use reflect padding;
    * ``lookahead``: :class:`~course_utils.training.Lookahead` every 5 steps, ending at
      the slow weights.

    ``channels_last`` and mixed ``precision``
    (:func:`~course_utils.runtime.training_precision`: bfloat16, or float16 with a gradient
    scaler) help on GPUs and on CPUs with bf16 units; they are off by default.
    ``recipe.config`` is not used: ``model`` is given.

    Args:
        prepared: ``(train, mean, std)`` from :func:`cifar_train_split`, if the caller has it
            already (then ``recipe.train_subset`` is not used).
        six_views: also score airbench's six-view TTA (four more forward passes over the
            test set; False skips them, for a slow network in a short run).

    Returns:
        ``(history, scores)`` on all 10,000 test images: ``"test_accuracy"`` (one view),
        ``"test_accuracy_tta"`` (with its mirror image) and, with ``six_views``,
        ``"test_accuracy_tta6"`` (also shifted a pixel up-left and down-right, each with its
        mirror: airbench's TTA).

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
    mean, std = mean.float(), std.float()
    gen = torch.Generator().manual_seed(r.seed)
    if r.whiten and isinstance(model, AirbenchNet):
        pick = torch.randperm(len(train), generator=torch.Generator().manual_seed(r.seed))[:5000]
        model.whiten_(normalize(train.images[pick].float().div_(255), mean, std))

    padding = "reflect" if r.flip == "alternating" else "zeros"

    def augment(x: Tensor) -> Tensor:
        if r.flip == "random":
            x = random_hflip(x, generator=gen)
        return random_translate(x, r.max_shift, gen, padding=padding)

    def flip(x: Tensor, index: Tensor, epoch: int) -> Tensor:
        return alternating_hflip(x, index, epoch, r.seed)

    model = model.to(device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    train_loader = BatchLoader(train, r.batch_size, shuffle=True, mean=mean, std=std, augment=augment,
                               indexed_augment=flip if r.flip == "alternating" else None, device=device,
                               seed=r.seed, drop_last=True)
    test_loader = BatchLoader(test, 1000, mean=mean, std=std, device=device)
    decay, no_decay = [], []
    for p in model.parameters():  # no weight decay on batch-norm parameters and biases; frozen ones not at all
        if p.requires_grad:
            (decay if p.ndim > 1 else no_decay).append(p)
    opt = torch.optim.SGD([{"params": decay, "weight_decay": r.weight_decay},
                           {"params": no_decay, "weight_decay": 0.0}], lr=r.lr, momentum=r.momentum, nesterov=True)
    steps = r.epochs * len(train_loader)
    scheduler = one_cycle(opt, r.lr, steps, pct_start=0.25, anneal_strategy="linear")
    lookahead = Lookahead(model, steps) if r.lookahead else None
    freeze_at = r.whitening_bias_epochs * len(train_loader) if r.whiten and isinstance(model, AirbenchNet) else None
    done = 0

    def after_step() -> None:
        nonlocal done
        done += 1
        if done == freeze_at:
            model.whitening.bias.requires_grad_(False)
        if lookahead is not None:
            lookahead.step()

    if freeze_at == 0:
        model.whitening.bias.requires_grad_(False)
    wrapped = _FastForward(model, precision, torch.device(device).type, channels_last)
    history = fit(wrapped, train_loader, None, opt, r.epochs, _cross_entropy(r.label_smoothing),
                  scheduler=scheduler, scaler=precision.scaler(device),
                  after_step=after_step, progress=progress)
    if lookahead is not None:
        lookahead.finish()
    return history, _tta_scores(wrapped, test_loader, six_views)


@torch.no_grad()
def _tta_scores(model: nn.Module, loader: BatchLoader, six_views: bool = True) -> dict[str, float]:
    """One, two (with the mirror) and six views' accuracies, from six forward passes per batch, not nine.

    The same averages as :func:`~course_utils.training.predict_logits` with ``tta_flip`` and ``tta_translate``.
    """
    model.eval()
    correct = {"test_accuracy": 0, "test_accuracy_tta": 0} | ({"test_accuracy_tta6": 0} if six_views else {})
    seen = 0
    for x, y in loader:
        shifted = shifted_views(x) if six_views else ()
        views = [model(v).float() for u in (x, *shifted) for v in (u, u.flip(3))]
        plain, flip = views[0], (views[0] + views[1]) / 2
        six = flip / 2 + sum(views[2:]) / 8 if six_views else None
        for name, logits in zip(correct, (plain, flip, six)):
            correct[name] += int((logits.argmax(1) == y).sum())
        seen += len(y)
    return {name: c / seen for name, c in correct.items()}


__all__ = ["cifar_train_split", "train_cifar", "train_cifar_fast", "train_mnist"]
