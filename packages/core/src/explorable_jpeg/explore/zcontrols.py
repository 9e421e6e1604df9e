"""Uniform z control: set a spatially uniform "structure tensor" z in the selection.

Sliders λ₀ (primary gradient magnitude), λ₁ (secondary) on [0, 1] and a direction θ map
to the 2×2 structure tensor ``T = λ₀ u uᵀ + λ₁ v vᵀ`` with ``u = (cos θ, sin θ)``,
``v ⊥ u``, encoded on [−1, 1] as

    (a, d, b) = (2(λ₁ sin²θ + λ₀ cos²θ) − 1,  2(λ₀ sin²θ + λ₁ cos²θ) − 1,  2(λ₀ − λ₁) sinθ cosθ)

and tiled cyclically over the 64 channels of z (the mapping the GAN was trained with, after
Bahat & Michaeli, "What's in the Image? Explorable Decoding of Compressed Images", CVPR
2021). :func:`controls_from_z` inverts it (eigen-decomposition of the mean
``T`` over the selection) so sliders can show the current state.
"""

from __future__ import annotations

import math

import torch

from explorable_jpeg.models.blocks import Z_CHANNELS


def structure_tensor_z(magnitude: float, secondary: float, direction_deg: float) -> torch.Tensor:
    """The 64-vector ``z`` for sliders (λ₀, λ₁, θ in degrees).

    >>> z = structure_tensor_z(1.0, 0.0, 0.0)  # a strong horizontal gradient: (a, d, b)
    >>> z[:3].tolist(), z.shape
    ([1.0, -1.0, 0.0], torch.Size([64]))
    """
    l0 = min(max(float(magnitude), 0.0), 1.0)
    l1 = min(max(float(secondary), 0.0), 1.0)
    t = math.radians(direction_deg)
    s2, c2, sc = math.sin(t) ** 2, math.cos(t) ** 2, math.sin(t) * math.cos(t)
    abd = torch.tensor(
        [2 * (l1 * s2 + l0 * c2) - 1, 2 * (l0 * s2 + l1 * c2) - 1, 2 * (l0 - l1) * sc]
    )
    return abd.repeat(Z_CHANNELS // 3 + 1)[:Z_CHANNELS]


def controls_from_z(z: torch.Tensor, block_mask: torch.Tensor) -> tuple[float, float, float]:
    """(λ₀, λ₁, θ in degrees) from z ``(64, by, bx)`` averaged over ``block_mask (by, bx)``."""
    sel = block_mask > 0
    abd = torch.stack([z[k::3][:, sel].mean() for k in range(3)])
    a, d, b = ((abd[0] + 1) / 2).item(), ((abd[1] + 1) / 2).item(), (abd[2] / 2).item()
    evals, evecs = torch.linalg.eigh(torch.tensor([[a, b], [b, d]], dtype=torch.float64))
    l1, l0 = evals.tolist()
    u = evecs[:, 1]
    theta = math.degrees(math.atan2(float(u[1]), float(u[0])))
    if theta < -90:
        theta += 180
    elif theta > 90:
        theta -= 180
    return l0, l1, theta
