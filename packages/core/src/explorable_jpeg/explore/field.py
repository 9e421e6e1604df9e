"""The field phase: reach the consistent set beyond what z can produce.

Given base planes ``B`` (consistent: the network's output at the z found so far, with the
previous field) the field phase minimises over a free field ``u`` (YCbCr/gray pixels)

    x(u) = B + r · (P_C(B + E ⊙ u) − B),
    L(u) = L_tool(x) + μ · mean_{p ∈ E, c} ρ(x − B),

(optionally with ``u`` smoothed, see ``smooth``) with ``L_tool`` the explorer's loss (the
objective over its starting value plus the preservation term outside the selection),
``P_C`` the exact projection onto the consistent set, ``E`` the MCUs of the selection, ``ρ``
a smooth L1 and ``μ`` a prior that
prefers the network's output where the tool does not need to leave it. ``r ∈ [0, 1]`` is
the tool's *reach*: the output may go that fraction of the way from ``B`` to any point of
the consistent set. ``C`` is convex and ``B ∈ C``, so ``x(u) ∈ C`` for every ``u``; ``r``
is capped at :data:`REACH_CAP` so coefficients stay just inside their bins.

The network does not run in this phase (``B`` is fixed), so an iteration costs one
projection of the crop: hundreds of iterations fit in a second.
"""

from __future__ import annotations

import dataclasses
import math
import threading
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

from explorable_jpeg.consistency.projection import displace, mcu_window
from explorable_jpeg.explore.loop import BestAdam
from explorable_jpeg.explore.objectives._ops import bbox, planes_to_rgb
from explorable_jpeg.jpeg.code import JpegCode

REACH_CAP = 0.98  # r = 1 would put coefficients exactly on bin edges
LEARNING_RATE = 2.0  # grey levels per Adam step
LR_DECAY = 4.0
MAX_LR_DECAYS = 3
PATIENCE = 6
PRIOR_EPS = 2.0  # grey levels: ρ is smooth below this
CONVERGED = 2e-3  # stop when WINDOW iterations gain less than this share of the start loss
WINDOW = 20


@dataclasses.dataclass
class FieldResult:
    """Best planes ``(N, C, h, w)`` of the field phase and its losses."""

    planes: torch.Tensor
    loss_start: float
    loss_best: float
    iterations: int
    cancelled: bool


def smoothed(u: torch.Tensor, radius: int) -> torch.Tensor:
    """``u (N, C, h, w)`` blurred by a Gaussian of σ = ``radius`` px (edge-replicated, kernel
    half-width 3σ); r = 0: u. A Gaussian has no side lobes: a box blur passes a few percent of
    the highest frequencies, which the optimiser amplifies into pixel noise."""
    if radius <= 0:
        return u
    n, c, h, w = u.shape
    half = 3 * int(radius)
    t = torch.arange(-half, half + 1, dtype=u.dtype, device=u.device)
    k = torch.exp(-0.5 * (t / float(radius)) ** 2)
    k = k / k.sum()
    x = u.reshape(n * c, 1, h, w)
    x = F.conv2d(F.pad(x, (half, half, 0, 0), mode="replicate"), k.view(1, 1, 1, -1))
    x = F.conv2d(F.pad(x, (0, 0, half, half), mode="replicate"), k.view(1, 1, -1, 1))
    return x.reshape(n, c, h, w)


def _rho(d: torch.Tensor) -> torch.Tensor:
    return torch.sqrt(d * d + PRIOR_EPS**2) - PRIOR_EPS


def optimize_field(
    loss_rgb: Callable[[torch.Tensor], torch.Tensor],
    base: torch.Tensor,
    code: JpegCode,
    editable: torch.Tensor,
    reach: float,
    *,
    init: torch.Tensor | None = None,
    prior: float = 0.0,
    smooth: int = 0,
    luma_only: bool = False,
    residual: float = 0.0,
    max_iters: int = 200,
    deadline: float = math.inf,
    cancel: threading.Event | None = None,
    progress: Callable[[int], None] | None = None,
) -> FieldResult:
    """Minimise ``L(u)`` of the module docstring.

    Args:
        loss_rgb: ``L_tool`` of RGB/gray images ``(N, C, h, w)`` on [0, 1] (scalar).
        base: ``B`` ``(N, C, h, w)`` consistent planes of the crop ``code``.
        editable: ``(h, w)`` float {0, 1}: ``E``.
        reach: ``r`` (capped at :data:`REACH_CAP`).
        init: starting ``u`` ``(N, C, h, w)`` (default 0, i.e. ``x = B``).
        prior: ``μ``; the prior term is measured in units of 255 grey levels.
        smooth: when > 0, the field is ``S(u)``, ``u`` blurred by a Gaussian of
            σ = ``smooth`` px: only smooth displacements (shading, colour casts), the
            prior for tools whose objective alone would fill the bins with noise.
        luma_only: move only the first plane (Y): for objectives of texture and structure,
            which would otherwise buy their statistic with colour noise.
        residual: ``ν``, weight of ``ν · mean_{p ∈ E, c} ρ(P_C(B + S(u)) − (B + S(u)))``
            (units of 255 grey levels) added to ``L``: how far the wanted image lies
            outside the set. Far outside, the projection puts every coefficient on a bin
            edge, whatever ``S(u)`` looked like; this keeps the smooth field smooth.
        max_iters, deadline (``time.perf_counter()`` value), cancel, progress(iteration).
    """
    r = min(max(float(reach), 0.0), REACH_CAP)
    base = base.detach()
    # the field lives on the MCUs of E only: project that window, not the whole crop
    win, ys, xs = mcu_window(code, bbox(editable > 0))
    e = editable[ys, xs].to(base)
    if luma_only and base.shape[1] > 1:  # colour planes stay where they are
        e = e * torch.tensor([1.0] + [0.0] * (base.shape[1] - 1)).to(base)[:, None, None]
    base_w = base[..., ys, xs]

    def moved(u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        wanted = base_w + smoothed(u, smooth) * e
        return wanted, displace(base_w, wanted - base_w, win)

    def planes_of(u: torch.Tensor, projected: torch.Tensor | None = None) -> torch.Tensor:
        if projected is None:
            projected = moved(u)[1]
        out = base.clone()
        out[..., ys, xs] = base_w + r * (projected - base_w)
        return out

    def total(u: torch.Tensor) -> torch.Tensor:
        wanted, projected = moved(u)
        x = planes_of(u, projected)
        f = loss_rgb(planes_to_rgb(x, code))
        n = e.sum().clamp_min(1) * x.shape[0] * x.shape[1] * 255.0
        if residual > 0:  # how far the wanted image lies outside the set
            f = f + residual * (_rho(wanted - projected) * e).sum() / n
        if prior > 0:
            f = f + prior * (_rho(x[..., ys, xs] - base_w) * e).sum() / n
        return f

    zero = torch.zeros_like(base_w)
    u = (zero if init is None else init.to(base)[..., ys, xs]).clone().requires_grad_(True)
    with torch.no_grad():
        loss_start = float(total(zero))  # at B
        loss_init = loss_start if init is None else float(total(u))
    best_loss, best_u = loss_start, zero
    if math.isfinite(loss_init) and loss_init < loss_start:
        best_loss, best_u = loss_init, u.detach().clone()
    adam = BestAdam(u, LEARNING_RATE, best_loss, best_u, LR_DECAY, PATIENCE, MAX_LR_DECAYS)
    it, cancelled = 0, False
    trail: list[float] = []
    while it < max_iters:
        if cancel is not None and cancel.is_set():
            cancelled = True
            break
        if it > 0 and time.perf_counter() > deadline:
            break
        adam.opt.zero_grad()
        loss = total(u)
        verdict = adam.record(float(loss.detach()))
        if verdict == "stop":
            break
        if verdict == "restart":
            continue
        trail.append(adam.best_loss)
        if len(trail) > WINDOW and trail[-WINDOW - 1] - adam.best_loss < CONVERGED * abs(
            loss_start
        ):
            break  # converged
        loss.backward()
        adam.opt.step()
        it += 1
        if progress is not None:
            progress(it)
    with torch.no_grad():
        if not cancelled:
            adam.last(float(total(u)))
        best_loss, best_u = adam.best_loss, adam.best
        planes = planes_of(best_u) if best_loss < loss_start else base.clone()  # exactly B
    return FieldResult(planes, loss_start, best_loss, it, cancelled)
