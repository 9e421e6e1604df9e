"""L1 to a consistent target image: the common core of scribble, HSV and imprint.

    f(x̂) = mean_{p ∈ W, c} | x̂_{c,p} − t_{c,p} |,   t = P_C(t̃)

where ``t̃`` is the desired image (scribbled, HSV-edited or imprinted), ``P_C`` the
projection onto the set of images consistent with the code (Eq. 2 of the paper, per
8×8 block: ``X ← (clip(X/M − q, −½, ½) + q) · M``) and ``W`` the pixels the user
constrained. Because ``t`` is consistent, the decoder can reach it exactly in principle;
the optimisation finds the z whose output is closest to it on the learned manifold.
"""

from __future__ import annotations

import torch

from explorable_jpeg.explore.objectives._ops import masked_mean, project_rgb, rgb_to_planes
from explorable_jpeg.explore.objectives.base import Objective


class TargetObjective(Objective):
    """Base for objectives with a consistent target; subclasses set ``desired`` and ``weight``
    in :meth:`prepare` and call :meth:`set_target`."""

    preserve_weight = 3.0

    def set_target(self, desired: torch.Tensor, weight: torch.Tensor) -> None:
        """``desired (C, h, w)`` on [0, 1] is projected; ``weight (h, w)`` selects W."""
        self.target = project_rgb(desired.clamp(0, 1), self.r.code)
        self.weight = weight.float()

    def initial_field(
        self, base: torch.Tensor, editable: torch.Tensor, generator: torch.Generator
    ) -> torch.Tensor:
        """Start the field phase at the target on ``W``: ``u = planes(t) − B`` there."""
        planes = rgb_to_planes(self.target.to(base), self.r.code)
        w = (self.weight > 0.5).to(base) * editable.to(base)
        return (planes[None] - base) * w

    def target_loss(self, rgb: torch.Tensor) -> torch.Tensor:
        return masked_mean((rgb - self.target).abs(), self.weight)

    def loss(self, rgb: torch.Tensor) -> torch.Tensor:
        return self.target_loss(rgb)
