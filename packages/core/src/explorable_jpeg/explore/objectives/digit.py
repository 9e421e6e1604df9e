"""Digit class exploration: push the selection toward looking like digit d.

With ``C`` the digit classifier (:mod:`explorable_jpeg.models.digit`) and ``V_v`` a few views of
the selection's bounding box (the box, the box grown by 2 px, shrunk by 1 px — so the
result does not hinge on one exact framing),

    f_d(x̂) = mean_v CE(C(gray(V_v(x̂))), d) = − mean_v log p_d(V_v(x̂)).

The explorer runs this for d = 0 … 9 from the same starting z and ranks the ten
results by the classifier's probability on the final (8-bit, consistent) outputs.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from explorable_jpeg.explore.objectives._ops import bbox, gray
from explorable_jpeg.explore.objectives.base import Objective, Region
from explorable_jpeg.models.digit import DigitNet

VIEW_PADS = (0, 2, -1)  # px added on every side of the box for each view


def digit_views(rgb: torch.Tensor, box: tuple[int, int, int, int]) -> list[torch.Tensor]:
    """Gray crops ``(N, h, w)`` of ``rgb (N, C, H, W)`` around ``box`` (clipped to the image)."""
    y0, x0, y1, x1 = box
    h, w = rgb.shape[-2:]
    views = []
    for pad in VIEW_PADS:
        a0, b0 = max(0, y0 - pad), max(0, x0 - pad)
        a1, b1 = min(h, y1 + pad), min(w, x1 + pad)
        if a1 - a0 >= 4 and b1 - b0 >= 4:
            views.append(gray(rgb[..., a0:a1, b0:b1]))
    return views


def digit_probabilities(
    classifier: DigitNet, rgb: torch.Tensor, box: tuple[int, int, int, int]
) -> torch.Tensor:
    """Mean over views of the softmax ``(N, 10)`` for images ``(N, C, H, W)``."""
    with torch.no_grad():
        return torch.stack([classifier(v).softmax(-1) for v in digit_views(rgb, box)]).mean(0)


class DigitObjective(Objective):
    """See the module docstring."""

    def __init__(self, digit: int, classifier: DigitNet) -> None:
        super().__init__()
        if not 0 <= int(digit) <= 9:
            raise ValueError(f"digit must be 0–9, got {digit}")
        self.digit, self.classifier = int(digit), classifier

    def prepare(self, region: Region) -> None:
        super().prepare(region)
        self.box = bbox(region.pixel_mask > 0)

    def loss(self, rgb: torch.Tensor) -> torch.Tensor:
        target = torch.full((rgb.shape[0],), self.digit, dtype=torch.long)
        losses = [F.cross_entropy(self.classifier(v), target) for v in digit_views(rgb, self.box)]
        return torch.stack(losses).mean()
