"""TV − : piece-wise smoothness inside the selection, local contrast kept.

    f(x̂) = TV₈(x̂; mask) + γ · mean_{P ⊂ mask} ( σ(P(x̂)) − σ(P(x̂₀)) )²

with ``TV₈`` the mean absolute difference between each pixel of the selection and its 8
neighbours in the selection (channels summed), σ the std of 7×7 gray patches and γ
(``keep_variance``) the weight that stops the tool from merely blurring.
"""

from __future__ import annotations

import torch

from explorable_jpeg.explore.objectives._ops import (
    gray,
    local_mean_std,
    masked_mean,
    patch_valid,
    tv8,
)
from explorable_jpeg.explore.objectives.base import Objective, Region

PATCH = 7
KEEP_VARIANCE = 5.0


class TVObjective(Objective):
    """See the module docstring."""

    field_luma_only = True  # the field phase moves Y only: no colour noise

    preserve_weight = 3.0

    def __init__(self, keep_variance: float = KEEP_VARIANCE, patch: int = PATCH) -> None:
        super().__init__()
        self.keep_variance, self.patch = float(keep_variance), int(patch)

    def prepare(self, region: Region) -> None:
        super().prepare(region)
        _, self.std0 = local_mean_std(gray(region.rgb0), self.patch)
        self.valid = patch_valid(region.mask, self.patch)

    def loss(self, rgb: torch.Tensor) -> torch.Tensor:
        f = tv8(rgb, self.r.mask)
        if self.keep_variance:
            _, std = local_mean_std(gray(rgb), self.patch)
            f = f + self.keep_variance * masked_mean((std - self.std0) ** 2, self.valid)
        return f
