"""Variance ± : change the local contrast of every patch in the selection by δ.

    f(x̂) = mean_{P ⊂ mask} ( σ(P(x̂)) − (σ(P(x̂₀)) + δ) )²

over all fully overlapping ``k × k`` patches (stride 1, default k = 7) of the gray image
that lie inside the selection; σ is the patch standard deviation, x̂₀ the output before
the edit, δ > 0 raises (``variance-up``) and δ < 0 lowers (``variance-down``) it.
"""

from __future__ import annotations

import torch

from explorable_jpeg.explore.objectives._ops import (
    box_blur3,
    gray,
    local_mean_std,
    masked_mean,
    patch_valid,
)
from explorable_jpeg.explore.objectives.base import Objective, Region

DEFAULT_DELTA = 0.03  # on the [0, 1] scale
PATCH = 7


class VarianceObjective(Objective):
    """See the module docstring. ``delta`` on the [0, 1] scale (sign = direction)."""

    field_luma_only = True  # the field phase moves Y only: no colour noise

    def __init__(self, delta: float = DEFAULT_DELTA, patch: int = PATCH) -> None:
        super().__init__()
        self.delta = float(delta)
        self.patch = int(patch)

    def prepare(self, region: Region) -> None:
        super().prepare(region)
        _, std0 = local_mean_std(gray(region.rgb0), self.patch)
        self.target = (std0 + self.delta).clamp_min(0.0)
        self.valid = patch_valid(region.mask, self.patch)

    def initial_field(
        self, base: torch.Tensor, editable: torch.Tensor, generator: torch.Generator
    ) -> torch.Tensor:
        """Start the field phase from the image's own detail ``D = B − B₃(B)`` rescaled,
        ``u = k·D`` (``k > 0``: sharper, ``−1 ≤ k < 0``: smoother), with ``k = δ / σ(D)``
        (σ over the selection, [0, 1] scale): the std target is then approached along the
        image's structure rather than by noise. Luma only (colour planes start at 0)."""
        detail = base - torch.stack([box_blur3(b) for b in base])
        e = editable.to(base) > 0
        sigma = float(detail[:, 0][:, e].std()) / 255.0 if bool(e.any()) else 0.0
        k = self.delta / max(sigma, 1e-3)
        k = min(max(k, -1.0), 4.0)
        u = k * detail * e
        u[:, 1:] = 0  # the objective reads gray only: leave colour alone (no chroma noise)
        return u

    def loss(self, rgb: torch.Tensor) -> torch.Tensor:
        _, std = local_mean_std(gray(rgb), self.patch)
        return masked_mean((std - self.target) ** 2, self.valid)
