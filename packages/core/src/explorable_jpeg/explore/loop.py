"""The explorer's optimisation: a z phase through the network, then a field phase.

For an objective ``f`` on the selection (a crop of the code around it):

1. *z phase* — z = tanh(w), Adam (lr 0.1) on w; only the z of the selection's blocks
   dilated by ``z_halo_blocks`` may change; the output is the network's, ``x(z) =
   P_C(ψ(q, z) + d)`` with the current field ``d``;
2. *field phase* (:mod:`.field`) — with the network's output at the best z fixed, a free
   field moves the output up to a fraction ``reach`` of the way to any consistent image.

Both minimise

    L = f(x) / |f(x₀)| + λ · mean_{p ∉ mask} ρ(x − x₀),   ρ(d) = √(d² + ε²) − ε,

``x₀`` the current image: the second term keeps the output outside the selection (λ means
the same for every objective: "a 1% better objective is worth a mean change of 0.01/λ
outside"). The best iterate of each phase is kept, so the loss never ends worse than it
started; when it stalls, the learning rate is divided (three times at most). A wall-clock
budget, iteration caps, a ``progress(fraction, message)`` callback and a
``threading.Event`` for cancellation bound the work.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import threading
import time
from collections.abc import Callable, Iterator

import torch

from .state import State

logger = logging.getLogger(__name__)

Progress = Callable[[float, str], None]

LEARNING_RATE = 0.1
LR_DECAY = 5.0
MAX_LR_DECAYS = 3
PATIENCE = 3  # iterations without improvement before lr is divided
MARGIN_BLOCKS = 15
Z_HALO_BLOCKS = 1
CHARBONNIER_EPS = 2 / 255  # the preservation term is smooth below ~2 grey levels
DEFAULT_BUDGET_S = 30.0
DEFAULT_MAX_ITERS = 100
DEFAULT_FIELD_ITERS = 300
Z_SHARE = 0.75  # share of the budget the z phase may use when a field phase follows
W_CLAMP = 1 - 1e-4  # z = ±1 would need w = ±∞


@dataclasses.dataclass
class OptimizeResult:
    """What :meth:`Explorer.optimize` did (losses of the crop objective, incl. preservation).

    ``loss_start`` is the loss of the starting outputs, ``loss_z`` after the z phase and
    ``loss_best`` after the field phase (equal to ``loss_z`` without one).
    """

    loss_start: float
    loss_best: float
    iterations: int
    seconds: float
    cancelled: bool = False
    z: list[torch.Tensor] = dataclasses.field(default_factory=list, repr=False)
    states: list[State] = dataclasses.field(default_factory=list, repr=False)
    loss_z: float = math.nan
    field_iterations: int = 0
    reach: float = 0.0

    @property
    def improved(self) -> bool:
        return self.loss_best < self.loss_start


def charbonnier(d: torch.Tensor) -> torch.Tensor:
    """``ρ(d) = sqrt(d² + ε²) − ε``: L1 for changes above ε, smooth (no kink) at 0."""
    return torch.sqrt(d * d + CHARBONNIER_EPS**2) - CHARBONNIER_EPS


@contextlib.contextmanager
def frozen(module: torch.nn.Module) -> Iterator[None]:
    """No gradients for the module's weights (only z is optimised); restores the flags."""
    flags = [p.requires_grad for p in module.parameters()]
    for p in module.parameters():
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, f in zip(module.parameters(), flags, strict=True):
            p.requires_grad_(f)


def optimize_z(
    total: Callable[[torch.Tensor], torch.Tensor],
    zi: torch.Tensor,
    z0: torch.Tensor,
    editable: torch.Tensor,
    loss_start: float,
    *,
    max_iters: int,
    deadline: float,
    budget_progress: Callable[[int], float],
    progress: Progress | None,
    cancel: threading.Event | None,
) -> tuple[torch.Tensor, float, int, bool]:
    """The z phase: Adam on w (z = tanh(w) where ``editable``, ``z0`` elsewhere).

    ``total(z (N, 64, by, bx))`` is L; ``zi`` the starting z whose loss is ``loss_start``.
    Returns ``(best z, best loss, iterations, cancelled)``; the best z is exactly ``zi``
    when nothing improved.
    """
    w_param = torch.atanh(zi.clamp(-W_CLAMP, W_CLAMP)).requires_grad_(True)

    def z_of(wp: torch.Tensor) -> torch.Tensor:
        return torch.where(editable, torch.tanh(wp), z0[None])

    best_loss, best_w = loss_start, w_param.detach().clone()
    opt = torch.optim.Adam([w_param], lr=LEARNING_RATE)
    since_best, decays, it, cancelled = 0, 0, 0, False
    while it < max_iters:
        if cancel is not None and cancel.is_set():
            cancelled = True
            break
        if it > 0 and time.perf_counter() > deadline:
            break  # at least one step, however long the set-up took (a busy CPU)
        opt.zero_grad()
        loss = total(z_of(w_param))
        value = float(loss.detach())
        if math.isfinite(value) and value < best_loss:
            best_loss, best_w, since_best = value, w_param.detach().clone(), 0
        else:
            since_best += 1
        if since_best >= PATIENCE:
            if decays >= MAX_LR_DECAYS:
                break
            decays, since_best = decays + 1, 0
            with torch.no_grad():
                w_param.copy_(best_w)
            opt = torch.optim.Adam([w_param], lr=LEARNING_RATE / LR_DECAY**decays)
            continue
        loss.backward()
        if it == 0 and not float(w_param.grad.abs().max()) > 0:
            logger.warning("z has no effect on this region (the decoder's z weights "
                           "are zero?); nothing to optimise")  # fmt: skip
            break
        opt.step()
        it += 1
        if progress is not None:
            progress(budget_progress(it), f"iteration {it}: loss {best_loss:.4g}")
    if not cancelled and it > 0:  # the last step's result
        with torch.no_grad():
            value = float(total(z_of(w_param)))
        if math.isfinite(value) and value < best_loss:
            best_loss, best_w = value, w_param.detach().clone()
    z_best = (zi if best_loss >= loss_start else z_of(best_w)).detach()
    return z_best, best_loss, it, cancelled
