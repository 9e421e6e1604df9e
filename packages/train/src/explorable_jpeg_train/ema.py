"""Exponential moving average of a trained net's weights (Polyak averaging).

After every optimiser step ``θ̄ ← β·θ̄ + (1 − β)·θ`` (``β`` = ``[l1] ema`` / ``[gan] ema``,
buffers copied), starting from the weights the phase starts or resumes with. The average is
what the phase probes and writes out; the raw weights keep training. It smooths the last
~1/(1 − β) steps: the noise of small CPU batches in an L1 fine-tune, and the oscillation of
a GAN's generator between low- and high-variation states.

Implemented with :class:`torch.optim.swa_utils.AveragedModel` and its EMA update.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn


def make_ema(net: nn.Module, decay: float) -> AveragedModel | None:
    """An EMA copy of ``net`` (frozen), or None when ``decay`` is 0."""
    if decay == 0:
        return None
    if not 0.0 < decay < 1.0:
        raise ValueError(f"ema decay must be in (0, 1) or 0 (off), not {decay}")
    ema = AveragedModel(net, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=False)
    ema.requires_grad_(False)
    return ema


@torch.no_grad()
def update_ema(ema: AveragedModel | None, net: nn.Module) -> None:
    """One EMA step after an optimiser step (no-op without an EMA); buffers are copied."""
    if ema is None:
        return
    ema.update_parameters(net)
    for b_ema, b in zip(ema.module.buffers(), net.buffers(), strict=True):
        b_ema.copy_(b)


def averaged(net: nn.Module, ema: AveragedModel | None) -> nn.Module:
    """The net to probe and write out: the average when there is one."""
    return net if ema is None else ema.module
