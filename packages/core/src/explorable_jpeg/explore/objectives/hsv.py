"""HSV ± : shift hue, saturation and value in the selection, then reproduce it through z.

    t̃ = HSV⁻¹( (H + Δh) mod 1, clip(S + Δs), clip(V + Δv) )  on the selection (as
    painted), x̂₀ elsewhere;   t = P_C(t̃);   f(x̂) = mean_{p ∈ selection} |x̂_p − t_p|₁.

On a gray image only Δv applies. JPEG often keeps too little chroma and low-frequency
information to pin these attributes, so the consistent set leaves room to change them.
"""

from __future__ import annotations

import torch

from explorable_jpeg.explore.objectives._ops import hsv_to_rgb, rgb_to_hsv
from explorable_jpeg.explore.objectives.base import Region
from explorable_jpeg.explore.objectives.target import TargetObjective

STEP = 0.05  # the step of one button press


class HSVObjective(TargetObjective):
    """See the module docstring; ``hue``, ``saturation``, ``value``: shifts on [0, 1] scales."""

    def __init__(self, hue: float = 0.0, saturation: float = 0.0, value: float = 0.0) -> None:
        super().__init__()
        self.shift = torch.tensor([hue, saturation, value], dtype=torch.float32)

    def prepare(self, region: Region) -> None:
        super().prepare(region)
        rgb0 = region.rgb0
        if rgb0.shape[0] == 3:
            hsv = rgb_to_hsv(rgb0) + self.shift.to(rgb0)[:, None, None]
            hsv = torch.stack([hsv[0] % 1.0, hsv[1].clamp(0, 1), hsv[2].clamp(0, 1)])
            edited = hsv_to_rgb(hsv)
        else:
            edited = (rgb0 + float(self.shift[2])).clamp(0, 1)
        # the selection as painted (not snapped to blocks): the projection decides what the
        # blocks it cuts through can show
        desired = torch.where(region.pixel_mask > 0, edited, rgb0)
        self.set_target(desired, region.pixel_mask)
