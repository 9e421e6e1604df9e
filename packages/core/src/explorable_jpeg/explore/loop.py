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

from explorable_jpeg.explore.state import State

logger = logging.getLogger(__name__)

Progress = Callable[[float, str], None]

LEARNING_RATE = 0.1
LR_DECAY = 5.0
MAX_LR_DECAYS = 3
PATIENCE = 3  # iterations without improvement before lr is divided
MARGIN_BLOCKS = 15
#: context blocks of the crop when only the field phase runs (no network there: the field
#: moves the selection's MCUs only, and the objectives read a few pixels around them)
FIELD_MARGIN_BLOCKS = 4
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


class BestAdam:
    """Adam on one parameter that keeps the best iterate seen.

    :meth:`record` takes the loss of the current iterate. After ``patience`` iterations
    without improvement it puts the best iterate back and divides the learning rate by
    ``decay`` (at most ``max_decays`` times, then it says stop).
    """

    def __init__(
        self,
        param: torch.Tensor,
        lr: float,
        best_loss: float,
        best: torch.Tensor,
        decay: float = LR_DECAY,
        patience: int = PATIENCE,
        max_decays: int = MAX_LR_DECAYS,
    ) -> None:
        self.param, self.lr, self.decay = param, lr, decay
        self.patience, self.max_decays = patience, max_decays
        self.best_loss, self.best = best_loss, best
        self.opt = torch.optim.Adam([param], lr=lr)
        self.since_best = self.decays = 0

    def record(self, value: float) -> str:
        """``"step"`` (go on), ``"restart"`` (lr divided, skip this step) or ``"stop"``."""
        if math.isfinite(value) and value < self.best_loss:
            self.best_loss, self.best, self.since_best = value, self.param.detach().clone(), 0
        else:
            self.since_best += 1
        if self.since_best < self.patience:
            return "step"
        if self.decays >= self.max_decays:
            return "stop"
        self.decays, self.since_best = self.decays + 1, 0
        with torch.no_grad():
            self.param.copy_(self.best)
        self.opt = torch.optim.Adam([self.param], lr=self.lr / self.decay**self.decays)
        return "restart"

    def last(self, value: float) -> None:
        """The loss after the last step (kept when it is the best)."""
        if math.isfinite(value) and value < self.best_loss:
            self.best_loss, self.best = value, self.param.detach().clone()


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

    adam = BestAdam(w_param, LEARNING_RATE, loss_start, w_param.detach().clone())
    it, cancelled = 0, False
    while it < max_iters:
        if cancel is not None and cancel.is_set():
            cancelled = True
            break
        if it > 0 and time.perf_counter() > deadline:
            break  # at least one step, however long the set-up took (a busy CPU)
        adam.opt.zero_grad()
        loss = total(z_of(w_param))
        verdict = adam.record(float(loss.detach()))
        if verdict == "stop":
            break
        if verdict == "restart":
            continue
        loss.backward()
        if it == 0 and (w_param.grad is None or not float(w_param.grad.abs().max()) > 0):
            logger.warning("z has no effect on this region (the decoder's z weights "
                           "are zero?); nothing to optimise")  # fmt: skip
            break
        adam.opt.step()
        it += 1
        if progress is not None:
            progress(budget_progress(it), f"iteration {it}: loss {adam.best_loss:.4g}")
    if not cancelled and it > 0:  # the last step's result
        with torch.no_grad():
            adam.last(float(total(z_of(w_param))))
    best_loss, best_w = adam.best_loss, adam.best
    z_best = (zi if best_loss >= loss_start else z_of(best_w)).detach()
    return z_best, best_loss, it, cancelled
