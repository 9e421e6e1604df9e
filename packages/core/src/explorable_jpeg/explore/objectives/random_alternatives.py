"""Random diverse alternatives: N outputs as different from each other as possible.

Jointly over the N control signals z₁ … z_N (N ≥ 2),

    f(x̂₁, …, x̂_N) = − min_{i < j} mean_{p ∈ mask} |x̂_i − x̂_j|₁
                     + w · (1/N) Σ_i mean_{p ∈ mask} |x̂_i − x̂₀|₁   (``close`` variant only)

The plain variant starts from i.i.d. uniform z in the selection; the ``close`` variant
starts from the current z plus N(0, 10⁻²) noise and keeps every output near the current
image x̂₀ (weight w).
"""

from __future__ import annotations

import itertools

import torch

from explorable_jpeg.explore.objectives._ops import masked_mean
from explorable_jpeg.explore.objectives.base import ExplorationError, Objective

CLOSE_WEIGHT = 1.0
CLOSE_NOISE = 1e-2
FIELD_NOISE = 400.0  # grey levels before smoothing (≈ 11 after the σ = 10 px Gaussian)


class RandomObjective(Objective):
    """See the module docstring."""

    # the field may move colour: luma alone (with the smoothing) stays closer than z alone

    preserve_weight = 30.0
    #: a field free of these constraints fills the bins with noise: only smooth displacements
    #: (σ = 10 px), and little of them outside the set (else the projection clips every
    #: coefficient to a bin edge: blocks of DCT stripes)
    field_smoothing = 10
    field_residual = 20.0
    #: the loss is divided by this fixed L1 distance rather than by its (random) start
    DISTANCE_SCALE = 0.05

    def __init__(self, n: int = 4, close: bool = False, weight: float = CLOSE_WEIGHT) -> None:
        super().__init__()
        if not 2 <= int(n) <= 16:
            raise ExplorationError("random alternatives: n must be between 2 and 16")
        self.num_outputs = int(n)
        self.close, self.weight = bool(close), float(weight)

    def initial_z(
        self, z0: torch.Tensor, editable: torch.Tensor, generator: torch.Generator
    ) -> torch.Tensor:
        n = self.num_outputs
        if self.close:
            noise = (
                torch.randn((n, *z0.shape), generator=generator, device=generator.device)
                * CLOSE_NOISE
            )
            z = (z0[None] + noise).clamp(-0.999, 0.999)
        else:
            z = torch.rand((n, *z0.shape), generator=generator, device=generator.device) * 2 - 1
        return torch.where(editable, z, z0[None])

    def initial_field(
        self, base: torch.Tensor, editable: torch.Tensor, generator: torch.Generator
    ) -> torch.Tensor:
        """Each output's field starts as its own i.i.d. normal noise of std
        :data:`FIELD_NOISE` grey levels (smoothed by the field phase into shading and colour
        casts, then clipped by the projection to what the file allows); the close variant
        starts at zero."""
        if self.close:
            return torch.zeros_like(base)
        noise = torch.randn(base.shape, generator=generator, device=generator.device)
        return noise.to(base) * FIELD_NOISE * editable.to(base)

    def scale(self, rgb_start: torch.Tensor) -> float:
        return self.DISTANCE_SCALE

    def min_pairwise(self, rgb: torch.Tensor) -> torch.Tensor:
        """``min_{i<j} mean_mask |x̂_i − x̂_j|₁`` (the diversity the tool maximises)."""
        mask = self.r.mask
        d = [
            masked_mean((rgb[i] - rgb[j]).abs(), mask)
            for i, j in itertools.combinations(range(len(rgb)), 2)
        ]
        return torch.stack(d).min()

    def loss(self, rgb: torch.Tensor) -> torch.Tensor:
        f = -self.min_pairwise(rgb)
        if self.close:
            f = f + self.weight * masked_mean((rgb - self.r.rgb0).abs(), self.r.mask)
        return f
