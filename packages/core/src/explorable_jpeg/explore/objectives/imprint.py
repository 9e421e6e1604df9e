"""Imprint: paste content (external image or another region) into the selection's box.

The source ``s`` is resized into the target box ``B`` (the selection's bounding box),
optionally moved by ``(dy, dx)`` px, resized by ``(dh, dw)`` px about its centre and
rotated by ``angle`` degrees, and composited over the current output with its coverage
α: ``t̃ = α · warp(s) + (1 − α) · x̂₀``.

JPEG blocks make the code sensitive to sub-block shifts, so (``auto_shift``) the
placement offset ``(u, v) ∈ {−4, …, 3}²`` is chosen first to minimise the code violation
of the composite,

    V(u, v) = Σ_{components, blocks, k} max(0, |DCT(t̃_{u,v})_k / M_k − q_k| − ½),

and the user's move/resize/rotate adjustments apply on top of it. Then, as for
scribbles, ``t = P_C(t̃)`` and ``f(x̂) = mean_{α_p > ½} |x̂_p − t_p|₁``.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from explorable_jpeg.consistency.projection import component_coefficients, mcu_window, to_canvas
from explorable_jpeg.explore.objectives._ops import bbox, rgb_to_planes
from explorable_jpeg.explore.objectives.base import Region
from explorable_jpeg.explore.objectives.target import TargetObjective

SHIFTS = range(-4, 4)  # sub-block offsets tried by the automatic placement


def as_chw(image: np.ndarray | torch.Tensor, channels: int) -> torch.Tensor:
    """uint8 ``(h, w[, 3])`` array or float ``(C, h, w)`` tensor → float ``(channels, h, w)``."""
    if isinstance(image, torch.Tensor):
        x = image.float()
    else:
        a = np.asarray(image)
        x = torch.as_tensor(a.astype(np.float32) / (255.0 if a.dtype == np.uint8 else 1.0))
        x = x.permute(2, 0, 1) if x.dim() == 3 else x[None]
    if x.shape[0] == 4:
        x = x[:3]
    if x.shape[0] != channels:
        x = x.mean(0, keepdim=True).expand(channels, -1, -1)
    return x.contiguous()


def render(
    source: torch.Tensor,
    shape: tuple[int, int],
    box: tuple[float, float, float, float],
    angle: float = 0.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw ``source (C, hs, ws)`` into box ``(y0, x0, y1, x1)`` of an ``shape`` canvas.

    Rotation by ``angle`` degrees (counter-clockwise on screen) about the box centre.
    Returns ``(image (C, h, w), coverage α (h, w))``; bilinear, anti-aliased when shrinking.
    """
    y0, x0, y1, x1 = box
    bh, bw = max(y1 - y0, 1.0), max(x1 - x0, 1.0)
    c, hs, ws = source.shape
    if hs > bh or ws > bw:  # shrink first with anti-aliasing
        size = (max(1, min(hs, round(bh))), max(1, min(ws, round(bw))))
        source = F.interpolate(source[None], size=size, mode="bilinear", antialias=True)[0]
    h, w = shape
    cy, cx = (y0 + y1 - 1) / 2, (x0 + x1 - 1) / 2
    yy, xx = torch.meshgrid(
        torch.arange(h, dtype=torch.float32) - cy,
        torch.arange(w, dtype=torch.float32) - cx,
        indexing="ij",
    )
    a = math.radians(angle)
    ca, sa = math.cos(a), math.sin(a)
    u = (ca * xx - sa * yy) / (bw / 2)  # screen y points down: this rotates counter-clockwise
    v = (sa * xx + ca * yy) / (bh / 2)
    grid = torch.stack([u, v], dim=-1)[None]
    src = torch.cat([source, torch.ones_like(source[:1])])[None]
    out = F.grid_sample(src, grid, mode="bilinear", padding_mode="zeros", align_corners=False)[0]
    return out[:c], out[c]


def code_violation(
    rgb: torch.Tensor, region: Region, box: tuple[int, int, int, int] | None = None
) -> float:
    """``Σ max(0, |c − q| − ½)`` over the coefficients of the crop for an RGB/gray image
    (only those of the MCUs around ``box``, when given: where the candidates differ)."""
    code = region.code
    if box is not None:
        code, ys, xs = mcu_window(code, box)
        rgb = rgb[..., ys, xs]
    canvas = to_canvas(rgb_to_planes(rgb.float(), code), code)
    total = 0.0
    for i, comp in enumerate(code.components):
        c = component_coefficients(canvas[i], code, i)
        q = torch.as_tensor(comp.coefficients, dtype=c.dtype)
        total += float(torch.relu((c - q).abs() - 0.5).sum())
    return total


def _shift(x: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """``x (C, h, w)`` moved by whole pixels ``(dy, dx)``, zeros where nothing comes in."""
    h, w = x.shape[-2:]
    p = max(abs(dy), abs(dx))
    padded = F.pad(x, (p, p, p, p))
    return padded[..., p - dy : p - dy + h, p - dx : p - dx + w]


class ImprintObjective(TargetObjective):
    """See the module docstring.

    Args:
        source: the content, uint8 ``(h, w[, 3])`` or float ``(C, h, w)`` on [0, 1].
        auto_shift: choose the sub-block placement with the least code violation.
        The target box is :attr:`box` (full-image pixels) or, when None, the selection's
        bounding box.
        dy, dx, dh, dw, angle: user adjustments (px, px, px, px, degrees).
    """

    def __init__(
        self,
        source: np.ndarray | torch.Tensor,
        auto_shift: bool = True,
        dy: float = 0,
        dx: float = 0,
        dh: float = 0,
        dw: float = 0,
        angle: float = 0.0,
    ) -> None:
        super().__init__()
        self.source = source
        self.auto_shift = bool(auto_shift)
        self.adjust = (float(dy), float(dx), float(dh), float(dw))
        self.angle = float(angle)
        self.chosen_shift = (0, 0)
        #: target box in full-image pixels; default: the selection's bounding box
        self.box: tuple[int, int, int, int] | None = None

    def _render(
        self, region: Region, src: torch.Tensor, shift: tuple[float, float]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        y0, x0, y1, x1 = self.crop_box
        dy, dx, dh, dw = self.adjust
        sy, sx = shift[0] + dy, shift[1] + dx
        box = (y0 + sy - dh / 2, x0 + sx - dw / 2, y1 + sy + dh / 2, x1 + sx + dw / 2)
        return render(src, region.shape, box, self.angle)

    def _composite(
        self, region: Region, src: torch.Tensor, shift: tuple[float, float]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        img, alpha = self._render(region, src, shift)
        return alpha * img + (1 - alpha) * region.rgb0, alpha

    def prepare(self, region: Region) -> None:
        super().prepare(region)
        src = as_chw(self.source, region.rgb0.shape[0])
        if self.box is None:
            self.crop_box = bbox(region.pixel_mask > 0)
        else:
            oy, ox = region.origin
            y0, x0, y1, x1 = self.box
            self.crop_box = (y0 - oy, x0 - ox, y1 - oy, x1 - ox)
        if self.auto_shift:
            y0, x0, y1, x1 = self.crop_box
            dy, dx, dh, dw = self.adjust
            grow = 8 + int(abs(dy) + abs(dx) + abs(dh) + abs(dw))
            if self.angle:
                grow += max(y1 - y0, x1 - x0)
            h, w = region.shape
            win = (max(0, y0 - grow), max(0, x0 - grow), min(h, y1 + grow), min(w, x1 + grow))
            # integer shifts of one rendering (exact: the sampling grid moves by whole px)
            img, alpha = self._render(region, src, (0, 0))
            scores = {}
            for u in SHIFTS:
                for v in SHIFTS:
                    a = _shift(alpha[None], u, v)[0]
                    comp = a * _shift(img, u, v) + (1 - a) * region.rgb0
                    scores[(u, v)] = code_violation(comp, region, win)
            self.chosen_shift = min(scores, key=lambda k: (scores[k], abs(k[0]) + abs(k[1])))
        desired, alpha = self._composite(region, src, self.chosen_shift)
        self.set_target(desired, (alpha > 0.5).float())
