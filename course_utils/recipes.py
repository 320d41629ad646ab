"""Complete training recipes, shared by the chapters and ``course_utils.bench``.

A benchmark must measure what the chapter runs, so both call these functions.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .augment import random_translate
from .data import BatchLoader, load_dataset
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
