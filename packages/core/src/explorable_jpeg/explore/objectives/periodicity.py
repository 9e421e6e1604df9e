"""Periodicity 1-D / 2-D: make the selection repeat itself with a period along 1–2 directions.

For period vectors ``p_k`` (direction ``θ_k`` in degrees — 0 along +x, 90 along +y, i.e.
downwards — times a length in px),

    f(x̂) = Σ_k mean_{x, x + p_k ∈ mask} |x̂(x + p_k) − x̂(x)|₁
           + γ · mean_{P ⊂ mask} (σ(P(x̂)) − σ(P(x̂₀)))²

(sub-pixel shifts by bilinear interpolation). A period not given is found from the
initial output: the gray selection's mean-removed, overlap-normalised autocorrelation
along the direction, ``r(t) = Σ g̃(x) g̃(x + t u) / √(Σ g̃(x)² · Σ g̃(x + t u)²)`` (g̃ = g − μ, sums over
the overlap) for ``t`` from
2 px in 0.25 px steps, and the first local maximum with ``r > 0.1`` (else the largest).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from explorable_jpeg.explore.objectives._ops import (
    gray,
    local_mean_std,
    masked_mean,
    patch_valid,
    shift_bilinear,
)
from explorable_jpeg.explore.objectives.base import ExplorationError, Objective, Region

KEEP_VARIANCE = 20.0
MIN_LAG = 2.0
LAG_STEP = 0.25
MIN_PEAK = 0.1


def direction(theta_deg: float) -> tuple[float, float]:
    """Unit vector ``(uy, ux)`` of a direction in degrees (0 → +x, 90 → +y)."""
    a = math.radians(theta_deg)
    return math.sin(a), math.cos(a)


def period_error(rgb: torch.Tensor, mask: torch.Tensor, vec: tuple[float, float]) -> torch.Tensor:
    """``mean_{x, x+p ∈ mask} |x̂(x + p) − x̂(x)|₁`` for one period vector ``p = (py, px)``."""
    shifted = shift_bilinear(rgb, *vec)
    both = mask * (shift_bilinear(mask[None], *vec)[0] > 0.999).float()
    return masked_mean((shifted - rgb).abs(), both)


def autocorrelation(
    g: torch.Tensor, mask: torch.Tensor, u: tuple[float, float], lags: Sequence[float]
) -> torch.Tensor:
    """Overlap-normalised autocorrelation ``r(t)`` of gray ``g`` inside ``mask`` (see module)."""
    m = mask > 0
    x = (g - g[m].mean()) * mask
    out = []
    for t in lags:
        vec = (t * u[0], t * u[1])
        xs = shift_bilinear(x[None], *vec)[0]
        both = mask * (shift_bilinear(mask[None], *vec)[0] > 0.999).float()
        # normalising by both energies undoes the damping of sub-pixel interpolation
        den = torch.sqrt((x * x * both).sum() * (xs * xs * both).sum())
        out.append(float((x * xs * both).sum() / den) if den > 0 else float("nan"))
    return torch.tensor(out)


def find_period(g: torch.Tensor, mask: torch.Tensor, theta_deg: float) -> float:
    """Most prominent period (px) of gray ``g`` inside ``mask`` along ``theta_deg``."""
    u = direction(theta_deg)
    ys, xs = torch.nonzero(mask > 0, as_tuple=True)
    extent = abs(u[0]) * float(ys.max() - ys.min() + 1) + abs(u[1]) * float(xs.max() - xs.min() + 1)
    max_lag = min(extent / 2, 64.0)
    if max_lag < MIN_LAG + 1:
        raise ExplorationError(f"the selection is too short along {theta_deg:g}° to find a period")
    lags = torch.arange(MIN_LAG, max_lag, LAG_STEP).tolist()
    r = autocorrelation(g, mask, u, lags)
    w = int(round(1 / LAG_STEP))
    for i in range(w, len(r) - w):
        window = r[i - w : i + w + 1]
        if r[i] >= window.max() and r[i] > MIN_PEAK:
            return lags[i]
    if not torch.isfinite(r).any():
        raise ExplorationError("no period found in the selection")
    return lags[int(torch.nan_to_num(r, nan=-2).argmax())]


class PeriodicityObjective(Objective):
    """See the module docstring.

    Args:
        directions: one (1-D) or two (2-D) directions in degrees.
        periods: their lengths in px; ``None`` (or a ``None`` entry) → found automatically.
    """

    field_luma_only = True  # the field phase moves Y only: no colour noise

    def __init__(
        self,
        directions: Sequence[float] = (0.0,),
        periods: Sequence[float | None] | None = None,
        keep_variance: float = KEEP_VARIANCE,
    ) -> None:
        super().__init__()
        self.directions = [float(d) for d in directions]
        if not 1 <= len(self.directions) <= 2:
            raise ValueError("periodicity takes one or two directions")
        periods = list(periods) if periods is not None else [None] * len(self.directions)
        if len(periods) != len(self.directions):
            raise ValueError("give one period per direction")
        self.periods: list[float | None] = periods
        self.keep_variance = float(keep_variance)

    def prepare(self, region: Region) -> None:
        super().prepare(region)
        g0 = gray(region.rgb0)
        found = [
            float(p) if p is not None else find_period(g0, region.mask, d)
            for p, d in zip(self.periods, self.directions, strict=True)
        ]
        self.periods = list(found)
        self.vectors = []
        for p, d in zip(found, self.directions, strict=True):
            uy, ux = direction(d)
            self.vectors.append((p * uy, p * ux))
        _, self.std0 = local_mean_std(g0, 7)
        self.std_valid = patch_valid(region.mask, 7)

    def error(self, rgb: torch.Tensor) -> torch.Tensor:
        """``Σ_k`` period errors of one image ``(C, h, w)``."""
        errors = [period_error(rgb, self.r.mask, v) for v in self.vectors]
        total = errors[0]  # summed in order, as sum() would: typed as a tensor
        for e in errors[1:]:
            total = total + e
        return total

    def loss(self, rgb: torch.Tensor) -> torch.Tensor:
        errors = [self.error(x) for x in rgb]
        f = errors[0]  # summed in order: the same value as sum(), typed as a tensor
        for e in errors[1:]:
            f = f + e
        f = f / rgb.shape[0]
        if self.keep_variance:
            _, std = local_mean_std(gray(rgb), 7)
            f = f + self.keep_variance * masked_mean((std - self.std0) ** 2, self.std_valid)
        return f
