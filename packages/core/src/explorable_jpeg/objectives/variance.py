"""Variance ± : change the local contrast of every patch in the selection by δ.

    f(x̂) = mean_{P ⊂ mask} ( σ(P(x̂)) − (σ(P(x̂₀)) + δ) )²

over all fully overlapping ``k × k`` patches (stride 1, default k = 7) of the gray image
that lie inside the selection; σ is the patch standard deviation, x̂₀ the output before
the edit, δ > 0 raises (``variance-up``) and δ < 0 lowers (``variance-down``) it.
"""

from __future__ import annotations

import torch

from ._ops import gray, local_mean_std, masked_mean, patch_valid
from .base import Objective, Region

DEFAULT_DELTA = 0.03  # on the [0, 1] scale
PATCH = 7


class VarianceObjective(Objective):
    """See the module docstring. ``delta`` on the [0, 1] scale (sign = direction)."""

    def __init__(self, delta: float = DEFAULT_DELTA, patch: int = PATCH) -> None:
        super().__init__()
        self.delta = float(delta)
        self.patch = int(patch)

    def prepare(self, region: Region) -> None:
        super().prepare(region)
        _, std0 = local_mean_std(gray(region.rgb0), self.patch)
        self.target = (std0 + self.delta).clamp_min(0.0)
        self.valid = patch_valid(region.mask, self.patch)

    def loss(self, rgb: torch.Tensor) -> torch.Tensor:
        _, std = local_mean_std(gray(rgb), self.patch)
        return masked_mean((std - self.target) ** 2, self.valid)
