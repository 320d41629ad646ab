"""One optimiser step with the bookkeeping every stage shares (stage 0's LM and CLIP, stages 1 and 2)."""

from __future__ import annotations

from typing import Iterable

import torch
from torch import Tensor


def optimiser_step(loss: Tensor, opt: torch.optim.Optimizer, sched, losses: list[float], bar, *,
                   clip_params: Iterable[torch.nn.Parameter] | None = None) -> None:
    """Backward, optional gradient clipping to norm 1, step, schedule; log the loss and advance ``bar``."""
    opt.zero_grad(set_to_none=True)
    loss.backward()
    if clip_params is not None:
        torch.nn.utils.clip_grad_norm_(clip_params, 1.0)
    opt.step()
    sched.step()
    losses.append(loss.item())
    bar.update()
    bar.set_postfix(loss=f"{losses[-1]:.3f}", refresh=False)
