"""Training loops as plain functions: one epoch, evaluation, and ``fit`` with a progress bar.

Any iterable of ``(inputs, labels)`` batches works as a loader (a
``torch.utils.data.DataLoader`` or ``course_utils.data.loader.BatchLoader``).
The model's device is taken from its parameters; batches are moved there.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from tqdm.auto import tqdm

from . import validate

LossFn = Callable[[Tensor, Tensor], Tensor]


def _check_model(model: nn.Module) -> None:
    validate.instance(model, "model", nn.Module, "a torch.nn.Module")


def _check_batch(logits: Tensor, y: Tensor) -> None:
    """The first batch's contract: logits ``Tensor[B, K]`` for labels ``Tensor[B]`` of class indices."""
    validate.tensor(y, "the loader's labels", ndim=1, dtype="int", hint="(class indices, one per image)")
    if not isinstance(logits, Tensor) or logits.ndim != 2 or len(logits) != len(y):
        raise ValueError(f"the model must return logits Tensor[B, K] for a batch of B = {len(y)} labels, got "
                         f"{validate.describe(logits)}")


def _device_of(model: nn.Module) -> torch.device:
    try:
        return next(model.parameters()).device
    except StopIteration:
        return torch.device("cpu")


def one_cycle(optimizer: torch.optim.Optimizer, max_lr: float, total_steps: int, pct_start: float = 0.3,
              anneal_strategy: str = "cos") -> torch.optim.lr_scheduler.LRScheduler:
    """The one-cycle learning-rate schedule: ``torch.optim.lr_scheduler.OneCycleLR``, without its one crash.

    OneCycleLR divides by its warm-up length ``pct_start * total_steps - 1``, and raises a bare
    ``ZeroDivisionError`` when that is exactly 0: 10 steps at ``pct_start=0.1``, 5 at 0.2, 4 at 0.25
    (a small subset, a smoke test). Such a run warms up over 1.5 steps instead. Every other run gets
    exactly OneCycleLR (a run shorter than that warms up not at all and starts at the peak, as in torch).

    Raises:
        TypeError: ``optimizer`` is not a ``torch.optim.Optimizer``, or ``total_steps`` not an int.
        ValueError: ``total_steps`` is below 1, ``max_lr`` is not positive, ``pct_start`` lies outside (0, 1),
            or ``anneal_strategy`` is not ``"cos"`` or ``"linear"``.
    """
    validate.instance(optimizer, "optimizer", torch.optim.Optimizer)
    validate.number(max_lr, "max_lr", low=0.0, low_open=True)
    validate.positive_int(total_steps, "total_steps")
    validate.number(pct_start, "pct_start", low=0.0, high=1.0, low_open=True)
    validate.choice(anneal_strategy, "anneal_strategy", ("cos", "linear"))
    if pct_start == 1.0:
        raise ValueError("pct_start must lie in (0, 1), got 1.0")
    if float(pct_start * total_steps) - 1 == 0:  # OneCycleLR's warm-up length: it divides by it
        pct_start = 1.5 / total_steps
    return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=max_lr, total_steps=total_steps, pct_start=pct_start,
                                               anneal_strategy=anneal_strategy)


def backward_step(
    loss: Tensor,
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler | None = None,
    *,
    clip_params: Iterable[nn.Parameter] | None = None,
    max_norm: float = 1.0,
) -> None:
    """One update: clear the gradients, backward, optionally clip their norm, step.

    With an enabled ``scaler`` (float16 training, :meth:`course_utils.runtime.Precision.scaler`)
    the loss is scaled for the backward pass, the gradients are unscaled before clipping (so
    the norm is clipped on their true values), and a step whose gradients overflowed is
    skipped. Without one, or with a disabled one, it is the plain float32/bfloat16 update.

    Raises:
        ValueError: ``loss`` is not a scalar tensor.
        TypeError: ``optimizer`` is not a ``torch.optim.Optimizer``.
    """
    if not isinstance(loss, Tensor) or loss.ndim != 0:
        raise ValueError(f"loss must be a scalar Tensor (reduce it with .mean()), got {validate.describe(loss)}")
    validate.instance(optimizer, "optimizer", torch.optim.Optimizer, "a torch.optim.Optimizer")
    optimizer.zero_grad(set_to_none=True)
    if scaler is None or not scaler.is_enabled():
        loss.backward()
        if clip_params is not None:
            torch.nn.utils.clip_grad_norm_(clip_params, max_norm)
        optimizer.step()
        return
    scaler.scale(loss).backward()
    if clip_params is not None:
        scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(clip_params, max_norm)
    scaler.step(optimizer)
    scaler.update()


def train_one_epoch(
    model: nn.Module,
    loader: Iterable[tuple[Tensor, Tensor]],
    optimizer: torch.optim.Optimizer,
    loss_fn: LossFn = F.cross_entropy,
    *,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
    scaler: torch.amp.GradScaler | None = None,
    after_step: Callable[[], None] | None = None,
    progress: bool | str = False,
) -> tuple[float, float]:
    """One pass over ``loader``, updating the model after every batch.

    Args:
        scheduler: stepped after every batch (e.g. ``OneCycleLR``), if given.
        scaler: a ``GradScaler`` for float16 training (see
            :meth:`course_utils.runtime.Precision.scaler`): the loss is scaled before the
            backward pass and the step is skipped when the gradients overflowed.
        after_step: called after every optimiser (and scheduler) step, e.g. :meth:`Lookahead.step`.
        progress: show a tqdm bar (a string is used as its description).

    Returns:
        ``(mean loss, accuracy)`` over the epoch's samples, accuracy in [0, 1].

    Raises:
        TypeError: ``model`` is not an ``nn.Module``, ``optimizer`` not an optimiser, or the loader's
            labels not a tensor.
        ValueError: the loader yields no batch, labels that are not ``Tensor[B]`` class indices, or a model
            output that is not logits ``Tensor[B, K]``.
    """
    _check_model(model)
    validate.instance(optimizer, "optimizer", torch.optim.Optimizer, "a torch.optim.Optimizer")
    device = _device_of(model)
    model.train()
    total_loss, correct, seen = 0.0, 0, 0
    batches = tqdm(loader, desc=progress if isinstance(progress, str) else "train", leave=False) if progress else loader
    for x, y in batches:
        x, y = x.to(device), y.to(device)
        logits = model(x)  # (B, classes)
        if not seen:
            _check_batch(logits, y)
        loss = loss_fn(logits, y)
        backward_step(loss, optimizer, scaler)
        if scheduler is not None:
            scheduler.step()
        if after_step is not None:
            after_step()
        n = len(y)
        total_loss += loss.item() * n
        correct += int((logits.argmax(dim=1) == y).sum())
        seen += n
    if seen == 0:
        raise ValueError("the loader produced no batches")
    return total_loss / seen, correct / seen


@torch.no_grad()
def evaluate(
    model: nn.Module,
    loader: Iterable[tuple[Tensor, Tensor]],
    loss_fn: LossFn = F.cross_entropy,
) -> tuple[float, float]:
    """Mean loss and accuracy of ``model`` over ``loader``, in eval mode, without gradients.

    Raises:
        TypeError: ``model`` is not an ``nn.Module``, or the loader's labels not a tensor.
        ValueError: the loader yields no batch, labels that are not ``Tensor[B]`` class indices, or a model
            output that is not logits ``Tensor[B, K]``.
    """
    _check_model(model)
    device = _device_of(model)
    model.eval()
    total_loss, correct, seen = 0.0, 0, 0
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        logits = model(x)
        if not seen:
            _check_batch(logits, y)
        total_loss += loss_fn(logits, y).item() * len(y)
        correct += int((logits.argmax(dim=1) == y).sum())
        seen += len(y)
    if seen == 0:
        raise ValueError("the loader produced no batches")
    return total_loss / seen, correct / seen


@dataclass
class History:
    """What a training loop measured: the one record every loop of the package returns.

    ``train_loss`` holds one mean loss per epoch, or one loss per optimiser step where
    ``unit == "step"`` (the multimodal chapter's stages, which are too short to count in
    epochs). The other lists may stay empty: ``train_acc`` for losses that are not a
    classification (detectors, language models), ``val_loss``/``val_acc`` without a
    validation set, ``parts`` without a loss made of named parts (a detector's box,
    objectness and class terms, per epoch). ``seconds`` is training time only, per epoch
    (per stage for step logs), no evaluation.

    Raises:
        TypeError: a field has another type (``train_loss`` is a list of floats).
        ValueError: ``unit`` is not ``"epoch"`` or ``"step"``.
    """

    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    parts: list[dict[str, float]] = field(default_factory=list)
    unit: str = "epoch"

    def __post_init__(self) -> None:
        validate.fields(self)
        if self.unit not in ("epoch", "step"):
            raise ValueError(f"unit must be 'epoch' or 'step', got {self.unit!r}")

    @property
    def epochs(self) -> int:
        """Epochs trained (for a step log: the number of steps)."""
        return len(self.train_loss)

    @property
    def train_seconds(self) -> float:
        return sum(self.seconds)

    def as_dict(self) -> dict:
        """Plain lists and dicts (for a checkpoint's metrics or a results file); :meth:`from_dict` reverses it."""
        return {"train_loss": list(self.train_loss), "train_acc": list(self.train_acc),
                "val_loss": list(self.val_loss), "val_acc": list(self.val_acc), "seconds": list(self.seconds),
                "parts": [dict(p) for p in self.parts], "unit": self.unit}

    @classmethod
    def from_dict(cls, data: dict) -> "History":
        """The :class:`History` that :meth:`as_dict` wrote; unknown keys raise ``ValueError``.

        Raises:
            TypeError: ``data`` is not a dict, or a value has another type.
            ValueError: ``data`` has keys that are not History's fields.
        """
        if not isinstance(data, dict):
            raise TypeError(f"expected the dict History.as_dict() writes, got {type(data).__name__}")
        names = {f for f in cls.__dataclass_fields__}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f"History has no field(s) {unknown}; its fields are {sorted(names)}")
        return cls(**data)


def fit(
    model: nn.Module,
    train_loader: Iterable[tuple[Tensor, Tensor]],
    val_loader: Iterable[tuple[Tensor, Tensor]] | None,
    optimizer: torch.optim.Optimizer,
    epochs: int,
    loss_fn: LossFn = F.cross_entropy,
    *,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
    eval_loss_fn: LossFn = F.cross_entropy,
    scaler: torch.amp.GradScaler | None = None,
    after_step: Callable[[], None] | None = None,
    progress: bool = True,
) -> History:
    """Train for ``epochs`` epochs, evaluating after each; show one progress bar over epochs.

    ``scaler`` and ``after_step`` are passed to :func:`train_one_epoch` (float16 training;
    a hook after every step, such as :meth:`Lookahead.step`).

    Returns:
        The :class:`History` (validation lists stay empty without ``val_loader``).

    Raises:
        TypeError: ``model`` is not an ``nn.Module``, or ``epochs`` not an int.
        ValueError: ``epochs`` is not positive, or a batch breaks :func:`train_one_epoch`'s contract.
    """
    _check_model(model)
    validate.positive_int(epochs, "epochs")
    history = History()
    bar = tqdm(range(epochs), desc="epochs", disable=not progress)
    for epoch in bar:
        start = time.perf_counter()
        loss, acc = train_one_epoch(model, train_loader, optimizer, loss_fn, scheduler=scheduler, scaler=scaler,
                                    after_step=after_step, progress=f"epoch {epoch + 1}" if progress else False)
        history.seconds.append(time.perf_counter() - start)
        history.train_loss.append(loss)
        history.train_acc.append(acc)
        postfix = {"train_acc": f"{acc:.3f}"}
        if val_loader is not None:
            val_loss, val_acc = evaluate(model, val_loader, eval_loss_fn)
            history.val_loss.append(val_loss)
            history.val_acc.append(val_acc)
            postfix["val_acc"] = f"{val_acc:.3f}"
        bar.set_postfix(postfix)
    return history


class Lookahead:
    """Lookahead on the weights, as airbench schedules it: every ``every`` steps, pull towards a slow copy.

    Zhang et al.'s Lookahead (*Lookahead Optimizer: k steps forward, 1 step back*, 2019)
    keeps slow weights ``s`` and, every ``k`` steps of the inner optimiser on the fast
    weights ``w``, sets ``s <- d * s + (1 - d) * w`` and restarts from ``w <- s``. Jordan's
    airbench grows ``d`` during training, ``d = base ** every * (t / T) ** 3`` at step
    ``t`` of ``T``, so early steps move freely and late ones are averaged; after the last
    step :meth:`finish` leaves the model at the slow weights. Batch-norm running
    statistics are averaged like the weights (every floating-point tensor of the state).

    Args:
        model: the model the optimiser trains.
        total_steps: ``T``, the optimiser steps of the whole run.
        every: ``k``.
        base: ``d``'s per-step base (airbench: 0.95).

    Raises:
        TypeError: ``model`` is not an ``nn.Module``, or a count not an int.
        ValueError: ``total_steps`` or ``every`` is not positive, or ``base`` outside (0, 1).
    """

    def __init__(self, model: nn.Module, total_steps: int, *, every: int = 5, base: float = 0.95) -> None:
        _check_model(model)
        self.total_steps = validate.positive_int(total_steps, "total_steps")
        self.every = validate.positive_int(every, "every")
        if not 0 < validate.number(base, "base") < 1:
            raise ValueError(f"base must lie in (0, 1), got {base}")
        self.model, self.base, self.steps = model, base, 0
        self.slow = {k: v.detach().clone() for k, v in model.state_dict().items() if v.is_floating_point()}

    def decay(self, step: int) -> float:
        """``d`` at optimiser step ``step`` (1-based): 0 at the start, ``base ** every`` at the end.

        Raises:
            TypeError, ValueError: ``step`` is not a positive int.
        """
        validate.positive_int(step, "step")
        return self.base**self.every * min(step / self.total_steps, 1.0) ** 3

    @torch.no_grad()
    def _pull(self, decay: float) -> None:
        state = self.model.state_dict()
        for k, slow in self.slow.items():
            slow.lerp_(state[k], 1 - decay)
            state[k].copy_(slow)

    def step(self) -> None:
        """Call after every optimiser step; every ``every``-th call averages and restarts."""
        self.steps += 1
        if self.steps % self.every == 0:
            self._pull(self.decay(self.steps))

    def finish(self) -> None:
        """Leave the model at the slow weights (call once, after the last step)."""
        self._pull(1.0)


def shifted_views(x: Tensor) -> tuple[Tensor, Tensor]:
    """``x`` shifted by one pixel up-left and by one down-right, borders mirrored: airbench's translated TTA views.

    Raises:
        TypeError: ``x`` is not a tensor.
        ValueError: ``x`` is not a batch ``Tensor[B, C, H, W]`` of at least 2x2 pixels.
    """
    validate.tensor(x, "x", ndim=4, hint="(a batch Tensor[B, C, H, W])")
    h, w = x.shape[-2:]
    if min(h, w) < 2:
        raise ValueError(f"shifting by a mirrored pixel needs images of at least 2x2, got {h}x{w}")
    padded = F.pad(x, (1, 1, 1, 1), mode="reflect")
    return padded[..., :h, :w], padded[..., 2:, 2:]


@torch.no_grad()
def predict_logits(model: nn.Module, loader: Iterable[tuple[Tensor, Tensor]], *, tta_flip: bool = False,
                   tta_translate: bool = False) -> tuple[Tensor, Tensor]:
    """All logits and labels of ``loader``, on the CPU: ``(Tensor[N, K], Tensor[N])``.

    Args:
        tta_flip: test-time augmentation: average the logits of each image and its
            left-right mirror (for datasets whose classes are mirror-symmetric, like CIFAR-10).
        tta_translate: also average in the image shifted by one pixel up-left and by one
            down-right (reflect padding), each with its mirror if ``tta_flip``, at half the
            weight of the unshifted view (airbench's six-view TTA with ``tta_flip``).

    Raises:
        TypeError: ``model`` is not an ``nn.Module``.
        ValueError: the loader yields no batch.
    """
    _check_model(model)
    device = _device_of(model)
    model.eval()
    all_logits, all_labels = [], []
    for x, y in loader:
        x = x.to(device)
        view = (lambda v: (model(v) + model(v.flip(3))) / 2) if tta_flip else model  # noqa: E731
        logits = view(x)
        if tta_translate:
            up_left, down_right = shifted_views(x)
            logits = (logits + (view(up_left) + view(down_right)) / 2) / 2
        all_logits.append(logits.float().cpu())
        all_labels.append(y.cpu())
    if not all_logits:
        raise ValueError("the loader produced no batches")
    return torch.cat(all_logits), torch.cat(all_labels)


def confusion_matrix(predictions: Tensor, labels: Tensor, num_classes: int) -> Tensor:
    """``Tensor[K, K]`` of counts: row = true class, column = predicted class.

    ``predictions`` and ``labels`` are ``Tensor[N]`` integer class indices in ``[0, num_classes)``
    (a float tensor raises instead of being truncated).

    Raises:
        TypeError: ``predictions`` or ``labels`` is not a tensor, or ``num_classes`` not an int.
        ValueError: they are not ``Tensor[N]`` class indices of equal length in ``[0, num_classes)`` (float
            predictions: take ``logits.argmax(1)``).
    """
    validate.positive_int(num_classes, "num_classes")
    validate.tensor(predictions, "predictions", ndim=1, dtype="int", hint="(class indices: use logits.argmax(1))")
    validate.tensor(labels, "labels", ndim=1, dtype="int")
    if predictions.shape != labels.shape:
        raise ValueError(f"predictions and labels must be Tensor[N] of equal length, got "
                         f"{tuple(predictions.shape)} and {tuple(labels.shape)}")
    if len(labels) and (int(torch.cat([predictions, labels]).min()) < 0
                        or int(torch.cat([predictions, labels]).max()) >= num_classes):
        raise ValueError(f"class indices must lie in [0, {num_classes})")
    flat = labels.long() * num_classes + predictions.long()
    return torch.bincount(flat, minlength=num_classes * num_classes).view(num_classes, num_classes)


def most_confident_mistakes(probs: Tensor, labels: Tensor, k: int = 8) -> Tensor:
    """Indices of the ``k`` wrong predictions with the highest predicted probability (most confident first).

    Args:
        probs: ``Tensor[N, K]`` class probabilities (softmax outputs).
        labels: ``Tensor[N]`` true classes.

    Raises:
        TypeError: ``probs`` or ``labels`` is not a tensor, or ``k`` not an int.
        ValueError: ``probs`` is not float ``Tensor[N, K]``, ``labels`` not ``Tensor[N]`` class indices, or
            ``k`` not positive.
    """
    validate.tensor(probs, "probs", ndim=2, dtype="float")
    validate.tensor(labels, "labels", ndim=1, dtype="int")
    validate.positive_int(k, "k")
    if probs.ndim != 2 or labels.shape != (probs.shape[0],):
        raise ValueError(f"expected probs Tensor[N, K] and labels Tensor[N], got {tuple(probs.shape)} and "
                         f"{tuple(labels.shape)}")
    conf, pred = probs.max(dim=1)
    wrong = torch.nonzero(pred != labels).flatten()
    return wrong[conf[wrong].argsort(descending=True)[:k]]
