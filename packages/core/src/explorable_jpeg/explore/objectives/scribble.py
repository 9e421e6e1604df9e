"""Scribble: impose graphical input (colour, brighten, darken, local-TV regions).

A label map ``ℓ`` (full image, ints) says what each pixel asks for:
``1`` colour (the scribble image's colour), ``2`` brighten, ``3`` darken, ``≥ 4`` a
local-TV region with its own id, ``0`` nothing. The desired image is

    t̃_p = s_p (ℓ_p = 1),  B₃(x̂₀ · (1 + δ))_p (ℓ_p = 2),  B₃(x̂₀ · (1 − δ))_p (ℓ_p = 3),
    x̂₀_p otherwise,

(multiplying RGB by 1 ± δ scales HSV value with hue and saturation kept; ``B₃`` is a 3×3
box filter), projected onto the consistent set: ``t = P_C(t̃)``. Then

    f(x̂) = mean_{ℓ_p ∈ {1,2,3}} |x̂_p − t_p|₁ + Σ_{k ≥ 4} TV₈(x̂; ℓ = k).
"""

from __future__ import annotations

import numpy as np
import torch

from explorable_jpeg.explore.objectives._ops import box_blur3, tv8
from explorable_jpeg.explore.objectives.base import Region
from explorable_jpeg.explore.objectives.target import TargetObjective

NONE, COLOUR, BRIGHTEN, DARKEN, TV_REGION = 0, 1, 2, 3, 4
MODES = {"colour": COLOUR, "color": COLOUR, "brighten": BRIGHTEN, "darken": DARKEN, "tv": TV_REGION}
DEFAULT_DELTA = 0.15


class ScribbleObjective(TargetObjective):
    """See the module docstring.

    Args:
        labels: int ``(H, W)`` label map of the full image (see module docstring).
        scribble: the scribble image, uint8 ``(H, W, 3)``/``(H, W)`` or float on [0, 1],
            full image; only read where ``labels == 1`` (may be None without colour labels).
        delta: relative brightness change of the brighten/darken labels.
    """

    def __init__(
        self, labels: np.ndarray, scribble: np.ndarray | None = None, delta: float = DEFAULT_DELTA
    ) -> None:
        super().__init__()
        self.labels = np.asarray(labels, dtype=np.int64)
        if scribble is not None:
            s = np.asarray(scribble)
            s = s.astype(np.float32) / 255.0 if s.dtype == np.uint8 else s.astype(np.float32)
            scribble = s
        if scribble is None and (self.labels == COLOUR).any():
            raise ValueError("colour scribbles need a scribble image")
        self.scribble = scribble
        self.delta = float(delta)

    def prepare(self, region: Region) -> None:
        super().prepare(region)
        (y0, x0), (h, w) = region.origin, region.shape
        lab = torch.as_tensor(self.labels[y0 : y0 + h, x0 : x0 + w])
        rgb0 = region.rgb0
        desired = rgb0.clone()
        if self.scribble is not None and (lab == COLOUR).any():
            st = torch.as_tensor(self.scribble[y0 : y0 + h, x0 : x0 + w]).float()
            st = st.permute(2, 0, 1) if st.dim() == 3 else st[None]
            if st.shape[0] != rgb0.shape[0]:  # colour scribble on a gray image or vice versa
                st = st.mean(0, keepdim=True).expand(rgb0.shape[0], -1, -1)
            desired = torch.where(lab == COLOUR, st, desired)
        for label, sign in ((BRIGHTEN, 1.0), (DARKEN, -1.0)):
            if (lab == label).any():
                edited = box_blur3((rgb0 * (1 + sign * self.delta)).clamp(0, 1))
                desired = torch.where(lab == label, edited, desired)
        self.set_target(desired, ((lab >= COLOUR) & (lab < TV_REGION)).float())
        self.tv_regions = [(lab == k).float() for k in torch.unique(lab).tolist() if k >= TV_REGION]

    def loss(self, rgb: torch.Tensor) -> torch.Tensor:
        f = self.target_loss(rgb) if self.weight.any() else rgb.new_zeros(())
        for region in self.tv_regions:
            f = f + tv8(rgb, region)
        return f
