"""One optimiser step with the bookkeeping every stage shares (stage 0's LM and CLIP, stages 1 and 2)."""

from __future__ import annotations

from typing import Iterable

import torch
from torch import Tensor

from ..training import backward_step


def optimiser_step(loss: Tensor, opt: torch.optim.Optimizer, sched, losses: list[float], bar, *,
                   clip_params: Iterable[torch.nn.Parameter] | None = None,
                   scaler: torch.amp.GradScaler | None = None) -> None:
    """Backward, optional gradient clipping to norm 1, step, schedule; log the loss and advance ``bar``.

    The update itself is :func:`course_utils.training.backward_step` (with ``scaler`` for
    float16 training).
    """
    backward_step(loss, opt, scaler, clip_params=clip_params)
    sched.step()
    losses.append(loss.item())
    bar.update()
    bar.set_postfix(loss=f"{losses[-1]:.3f}", refresh=False)
