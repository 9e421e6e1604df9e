"""Desired patch dictionary: make the selection's patches look like a source's patches.

Source patches ``d_j`` (``k × k`` gray, stride 2) and output patches ``p_i`` (stride 3,
fully inside the selection) have their means removed. With ``D_ij = mean_k (p_ik − d_jk)²``,

    f(x̂) = mean_i softmin_T(D_i·) / σ̄²,   softmin_T(D_i·) = −T log mean_j exp(−D_ij / T),

a smooth nearest-neighbour distance (T = 10⁻³; ``σ̄²`` the source's mean patch variance
makes f dimensionless). Variance-ignoring variant (``ignore_variance``): both sets of
patches are also scaled to unit std times σ̄, so only the texture's shape is imitated, and

    + γ · mean_{P ⊂ mask} (σ(P(x̂)) − σ(P(x̂₀)))²  keeps the current local contrast.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from explorable_jpeg.explore.objectives._ops import (
    STD_EPS,
    gray,
    local_mean_std,
    masked_mean,
    patch_valid,
)
from explorable_jpeg.explore.objectives.base import Objective, Region
from explorable_jpeg.explore.objectives.imprint import as_chw

PATCH = 6
SOURCE_STRIDE = 2
TARGET_STRIDE = 3
TEMPERATURE = 1e-3
MAX_ATOMS = 2048
KEEP_VARIANCE = 1e3


def _patches(g: torch.Tensor, k: int, stride: int) -> torch.Tensor:
    """Gray ``(N, h, w)`` → mean-removed patches ``(N, L, k²)``."""
    p = F.unfold(g[:, None], k, stride=stride).transpose(1, 2)
    return p - p.mean(dim=-1, keepdim=True)


def _normalise(p: torch.Tensor, scale: float) -> torch.Tensor:
    return p / torch.sqrt(p.pow(2).mean(dim=-1, keepdim=True) + STD_EPS) * scale


class DictionaryObjective(Objective):
    """See the module docstring. ``source``: uint8 image or float ``(C, h, w)`` on [0, 1]."""

    field_luma_only = True  # the field phase moves Y only: no colour noise

    def __init__(
        self,
        source: np.ndarray | torch.Tensor,
        ignore_variance: bool = False,
        patch: int = PATCH,
        temperature: float = TEMPERATURE,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.source, self.ignore_variance = source, bool(ignore_variance)
        self.patch, self.temperature, self.seed = int(patch), float(temperature), int(seed)

    def prepare(self, region: Region) -> None:
        super().prepare(region)
        k = self.patch
        src = gray(as_chw(self.source, region.rgb0.shape[0]))
        if min(src.shape) < k:
            raise ValueError(f"the source region must be at least {k}×{k} px")
        d = _patches(src[None], k, SOURCE_STRIDE)[0]
        d = torch.unique(torch.round(d * 510) / 510, dim=0)  # prune near-duplicates
        if len(d) > MAX_ATOMS:
            g = torch.Generator().manual_seed(self.seed)
            d = d[torch.randperm(len(d), generator=g, device=g.device)[:MAX_ATOMS]]
        self.sigma2 = float(d.pow(2).mean()) + 1e-4
        if self.ignore_variance:
            d = _normalise(d, self.sigma2**0.5)
        self.atoms = d  # (J, k²)
        valid = F.unfold(region.mask[None, None].float(), k, stride=TARGET_STRIDE)[0]
        self.valid = valid.min(dim=0).values > 0.5  # (L,)
        if not self.valid.any():
            raise ValueError(f"the selection must contain a whole {k}×{k} patch")
        _, self.std0 = local_mean_std(gray(region.rgb0), 7)
        self.std_valid = patch_valid(region.mask, 7)

    def loss(self, rgb: torch.Tensor) -> torch.Tensor:
        g = gray(rgb)
        p = _patches(g, self.patch, TARGET_STRIDE)[:, self.valid]  # (N, L', k²)
        if self.ignore_variance:
            p = _normalise(p, self.sigma2**0.5)
        dist = torch.cdist(p, self.atoms[None]).pow(2) / p.shape[-1]  # (N, L', J)
        t = self.temperature
        soft = -t * (torch.logsumexp(-dist / t, dim=-1) - torch.log(torch.tensor(dist.shape[-1])))
        f = soft.mean() / self.sigma2
        if self.ignore_variance:
            _, std = local_mean_std(g, 7)
            f = f + KEEP_VARIANCE * masked_mean((std - self.std0) ** 2, self.std_valid)
        return f

    def distance(self, rgb: torch.Tensor) -> float:
        """Mean nearest-neighbour patch distance (the statistic the tool lowers)."""
        with torch.no_grad():
            p = _patches(gray(rgb[None] if rgb.dim() == 3 else rgb), self.patch, TARGET_STRIDE)
            p = p[:, self.valid]
            if self.ignore_variance:
                p = _normalise(p, self.sigma2**0.5)
            dist = torch.cdist(p, self.atoms[None]).pow(2) / p.shape[-1]
            return float(dist.min(dim=-1).values.mean())
