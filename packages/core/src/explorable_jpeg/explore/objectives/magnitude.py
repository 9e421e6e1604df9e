"""Signal magnitude ± : amplify or attenuate the existing pattern of every patch.

    f(x̂) = mean_{P ⊂ mask} ‖ P̂(x̂) − s_P · P̂(x̂₀) ‖² / |P|,   s_P = (σ_P + δ) / σ_P

where ``P̂`` extracts a ``k × k`` patch (all channels) and subtracts its mean, σ_P is the
std of the initial gray patch, and δ > 0 amplifies (``magnitude-up``), δ < 0 attenuates
(``magnitude-down``). Unlike variance ±, it keeps the patch structure: the target is the
initial patch with its contrast rescaled about its mean.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from explorable_jpeg.explore.objectives._ops import STD_EPS, gray, masked_mean
from explorable_jpeg.explore.objectives.base import Objective, Region

DEFAULT_DELTA = 0.03
PATCH = 7
STRIDE = 2


def centred_patches(rgb: torch.Tensor, k: int, stride: int) -> torch.Tensor:
    """``(N, C, h, w)`` → mean-removed patches ``(N, C·k², L)`` (mean per channel)."""
    n, c = rgb.shape[:2]
    p = F.unfold(rgb, k, stride=stride).reshape(n, c, k * k, -1)
    return (p - p.mean(dim=2, keepdim=True)).reshape(n, c * k * k, -1)


class MagnitudeObjective(Objective):
    """See the module docstring."""

    field_luma_only = True  # the field phase moves Y only: no colour noise

    def __init__(self, delta: float = DEFAULT_DELTA, patch: int = PATCH, stride: int = STRIDE):
        super().__init__()
        self.delta, self.patch, self.stride = float(delta), int(patch), int(stride)

    def prepare(self, region: Region) -> None:
        super().prepare(region)
        k, s = self.patch, self.stride
        p0 = centred_patches(region.rgb0[None], k, s)
        g = F.unfold(gray(region.rgb0)[None, None], k, stride=s)[0]  # (k², L)
        sigma = torch.sqrt(g.var(dim=0, unbiased=False) + STD_EPS)
        scale = ((sigma + self.delta) / sigma).clamp_min(0.0)
        self.target = p0 * scale
        valid = F.unfold(region.mask[None, None].float(), k, stride=s)[0].min(dim=0).values
        self.valid = valid[None, None]  # (1, 1, L)

    def loss(self, rgb: torch.Tensor) -> torch.Tensor:
        p = centred_patches(rgb, self.patch, self.stride)
        err = ((p - self.target) ** 2).mean(dim=1, keepdim=True)
        return masked_mean(err, self.valid)
