"""Digit targets: render digit d into the selection the way the file allows it best.

For digit ``d`` a glyph coverage ``g ∈ [0, 1]`` (Pillow's bundled font, rendered at 4× and
averaged down) is drawn into the selection's bounding box at several scales, stroke widths
and both polarities (then sub-block offsets, for the best of those). The current box gives
the two colours: *ink* and *paper*, the means of its darkest and lightest quarter. The
candidate composite is

    t̃ = g · ink' + (1 − g) · b,   b = x̂₀ where x̂₀ is nearer paper than ink, else paper',

with ``ink' = paper + k (ink − paper)`` and ``paper' = paper + (k − 1)(paper − ink)``
(``k`` = :data:`CONTRAST`, clipped to the RGB cube): the old strokes are painted over a
little past paper and the new ones drawn a little past ink, so that the projection, which
keeps only what the file allows, lands as far from the old digit as it can. Then the
candidate with the least code violation ``V(t̃) = Σ max(0, |DCT(t̃)/M − q| − ½)`` (the
one the file contradicts least) is kept. As for imprint, ``t = P_C(t̃)`` and ``f(x̂) =
mean_{p ∈ box} |x̂_p − t_p|₁``; the
explorer's field phase then reaches it wherever the file allows.
"""

from __future__ import annotations

import functools
import itertools

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from explorable_jpeg.explore.objectives._ops import bbox, gray
from explorable_jpeg.explore.objectives.base import Region
from explorable_jpeg.explore.objectives.imprint import code_violation
from explorable_jpeg.explore.objectives.target import TargetObjective

SUPERSAMPLE = 4
SCALES = (0.75, 0.9, 1.0)  # glyph height as a share of the box height
STROKES = (0, 1, 2)  # extra stroke width (in box pixels)
SHIFTS = (-2, 0, 2)  # px offsets tried in y and x (after the shape is chosen)
QUANTILE = 0.25  # ink / paper: mean of the darkest / lightest quarter
CONTRAST = 1.5  # ink drawn this much further from paper, old strokes painted past paper


@functools.lru_cache(maxsize=256)
def glyph(digit: int, height: int, width: int, scale: float, stroke: int) -> np.ndarray:
    """Coverage ``(height, width)`` float on [0, 1] of ``digit`` centred in the box."""
    s = SUPERSAMPLE
    size = max(4, round(height * scale * s * 1.3))  # the digits' ink is ~0.73 em tall
    font = ImageFont.load_default(size=size)
    img = Image.new("L", (width * s, height * s), 0)
    draw = ImageDraw.Draw(img)
    text = str(int(digit))
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font, stroke_width=stroke * s)
    x = (width * s - (right - left)) / 2 - left
    y = (height * s - (bottom - top)) / 2 - top
    draw.text((x, y), text, fill=255, font=font, stroke_width=stroke * s, stroke_fill=255)
    a = np.asarray(img, dtype=np.float32).reshape(height, s, width, s).mean(axis=(1, 3))
    return a / 255.0


def ink_and_paper(rgb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean colours ``(C,)`` of the darkest and the lightest quarter of ``rgb (C, h, w)``."""
    g = gray(rgb[None])[0].flatten()
    order = torch.argsort(g)
    k = max(1, int(len(order) * QUANTILE))
    flat = rgb.flatten(1)
    return flat[:, order[:k]].mean(1), flat[:, order[-k:]].mean(1)


class DigitTargetObjective(TargetObjective):
    """See the module docstring (the explorer ranks the results with its classifier)."""

    def __init__(self, digit: int) -> None:
        super().__init__()
        if not 0 <= int(digit) <= 9:
            raise ValueError(f"digit must be 0–9, got {digit}")
        self.digit = int(digit)
        self.choice: tuple = ()

    def composite(self, region: Region, placement: tuple) -> torch.Tensor:
        """The candidate composite for ``placement = (scale, stroke, dy, dx, dark_ink)``."""
        scale, stroke, dy, dx, dark_ink = placement
        y0, x0, y1, x1 = bbox(region.pixel_mask > 0)
        rgb0 = region.rgb0
        box = rgb0[:, y0:y1, x0:x1]
        dark, light = ink_and_paper(box)
        ink, paper = (dark, light) if dark_ink else (light, dark)
        g = torch.as_tensor(glyph(self.digit, y1 - y0, x1 - x0, scale, stroke))
        g = torch.roll(g, (dy, dx), dims=(0, 1))
        near_ink = (box - ink[:, None, None]).abs().sum(0) < (
            box - paper[:, None, None]).abs().sum(0)  # fmt: skip
        # exaggerated ink and paper: the projection keeps only what the file allows, so a
        # bolder target lands further from the old digit (clipped to the RGB cube)
        ink_x = (paper + CONTRAST * (ink - paper)).clamp(0, 1)
        paper_x = (paper + (CONTRAST - 1) * (paper - ink)).clamp(0, 1)
        b = torch.where(near_ink, paper_x[:, None, None].expand_as(box), box)
        comp = rgb0.clone()
        comp[:, y0:y1, x0:x1] = g * ink_x[:, None, None] + (1 - g) * b
        return comp

    def choose(self, region: Region) -> tuple:
        """Coordinate search for the least code violation: shape and polarity at the box
        centre first, then the offset."""
        box = bbox(region.pixel_mask > 0)

        def violation(p: tuple) -> float:
            return code_violation(self.composite(region, p), region, box)

        shapes = itertools.product(SCALES, STROKES, (True, False))
        scale, stroke, dark_ink = min(shapes, key=lambda s: violation((s[0], s[1], 0, 0, s[2])))
        offsets = [(scale, stroke, dy, dx, dark_ink) for dy in SHIFTS for dx in SHIFTS]
        return min(offsets, key=lambda p: (violation(p), abs(p[2]) + abs(p[3])))

    def prepare(self, region: Region) -> None:
        super().prepare(region)
        self.choice = self.choose(region)
        y0, x0, y1, x1 = bbox(region.pixel_mask > 0)
        weight = torch.zeros(region.shape)
        weight[y0:y1, x0:x1] = 1.0
        self.set_target(self.composite(region, self.choice), weight)
