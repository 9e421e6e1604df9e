"""Differentiable image operations shared by the objectives (RGB or gray on [0, 1]).

Images are torch tensors ``(..., C, h, w)`` with ``C = 3`` (RGB) or ``C = 1`` (gray);
masks are ``(h, w)`` float tensors in {0, 1}. "Gray" is the channel mean.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from explorable_jpeg.consistency.projection import project_image
from explorable_jpeg.explore.selection import bbox as bbox  # re-exported for the objectives
from explorable_jpeg.jpeg.code import JpegCode
from explorable_jpeg.ops.color import rgb_to_ycbcr, ycbcr_to_rgb

STD_EPS = 1e-6  # inside the square root of the variance (finite gradient at σ = 0)


def planes_to_rgb(planes: torch.Tensor, code: JpegCode) -> torch.Tensor:
    """YCbCr/gray planes ``(..., C, h, w)`` on [0, 255] → RGB/gray on [0, 1] (clamped)."""
    x = ycbcr_to_rgb(planes) if code.is_color else planes
    return (x / 255.0).clamp(0.0, 1.0)


def rgb_to_planes(rgb: torch.Tensor, code: JpegCode) -> torch.Tensor:
    """Inverse of :func:`planes_to_rgb` (without the clamp)."""
    x = rgb * 255.0
    return rgb_to_ycbcr(x) if code.is_color else x


def project_rgb(rgb: torch.Tensor, code: JpegCode) -> torch.Tensor:
    """Project an RGB/gray image ``(C, h, w)`` on [0, 1] onto the set consistent with ``code``.

    The image is converted to the code's colour space, projected with the closed-form
    per-block projection (Eq. 2 of the paper: ``X ← (clip(X/M − q, −½, ½) + q)·M``) and
    converted back.
    """
    planes = rgb_to_planes(rgb.detach().double(), code)
    proj = project_image(planes, code)
    return planes_to_rgb(proj, code).to(rgb.dtype)


def gray(rgb: torch.Tensor) -> torch.Tensor:
    """Channel mean ``(..., C, h, w) → (..., h, w)``."""
    return rgb.mean(dim=-3)


def local_mean_std(x: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and std of every ``k × k`` patch (stride 1, valid) of ``(..., h, w)``.

    ``σ = sqrt(E[x²] − E[x]² + ε)``; outputs ``(..., h − k + 1, w − k + 1)``.
    """
    lead = x.shape[:-2]
    x4 = x.reshape(-1, 1, *x.shape[-2:])
    m = F.avg_pool2d(x4, k, stride=1)
    m2 = F.avg_pool2d(x4 * x4, k, stride=1)
    var = (m2 - m * m).clamp_min(0.0)
    shape = (*lead, *m.shape[-2:])
    return m.reshape(shape), torch.sqrt(var + STD_EPS).reshape(shape)


def patch_valid(mask: torch.Tensor, k: int) -> torch.Tensor:
    """``(h − k + 1, w − k + 1)`` float: 1 where the ``k × k`` patch lies fully inside ``mask``."""
    m = F.avg_pool2d(mask[None, None].float(), k, stride=1)[0, 0]
    return (m > 1 - 1e-6).float()


def masked_mean(values: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """``Σ w·v / Σ w`` with ``weight`` broadcast to ``values`` (0 when the weight is empty)."""
    w = weight.expand_as(values)
    return (values * w).sum() / w.sum().clamp_min(1.0)


def tv8(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """8-neighbour L1 total variation inside ``mask`` (mean over pixel pairs in the mask).

    ``TV(x) = Σ_{p, q ∈ N₈(p), p, q ∈ mask} |x_p − x_q| / #pairs``, channels summed.
    """
    total = x.new_zeros(())
    count = x.new_zeros(())
    h, w = x.shape[-2:]
    for dy, dx in ((0, 1), (1, 0), (1, 1), (1, -1)):
        ya, yb = slice(0, h - dy), slice(dy, h)
        xa, xb = (slice(0, w - dx), slice(dx, w)) if dx >= 0 else (slice(-dx, w), slice(0, w + dx))
        pair = mask[ya, xa] * mask[yb, xb]
        diff = (x[..., ya, xa] - x[..., yb, xb]).abs().sum(dim=-3)
        total = total + (diff * pair).sum()
        count = count + pair.sum() * diff.shape[:-2].numel()
    return total / count.clamp_min(1.0)


def box_blur3(x: torch.Tensor) -> torch.Tensor:
    """3×3 box filter of ``(C, h, w)`` with replicate padding."""
    xp = F.pad(x[None], (1, 1, 1, 1), mode="replicate")
    return F.avg_pool2d(xp, 3, stride=1)[0]


def rgb_to_hsv(rgb: torch.Tensor) -> torch.Tensor:
    """RGB ``(3, h, w)`` on [0, 1] → HSV, all channels on [0, 1] (hue cyclic)."""
    r, g, b = rgb[0], rgb[1], rgb[2]
    v, _ = rgb.max(dim=0)
    mn, _ = rgb.min(dim=0)
    c = v - mn
    s = torch.where(v > 0, c / v.clamp_min(1e-12), torch.zeros_like(v))
    cc = c.clamp_min(1e-12)
    h = torch.where(
        v == r, ((g - b) / cc) % 6, torch.where(v == g, (b - r) / cc + 2, (r - g) / cc + 4)
    )
    h = torch.where(c > 0, h / 6.0, torch.zeros_like(h)) % 1.0
    return torch.stack([h, s, v])


def hsv_to_rgb(hsv: torch.Tensor) -> torch.Tensor:
    """HSV ``(3, h, w)`` on [0, 1] → RGB on [0, 1]."""
    h, s, v = hsv[0] % 1.0, hsv[1].clamp(0, 1), hsv[2].clamp(0, 1)
    k = torch.stack([(n + h * 6) % 6 for n in (5.0, 3.0, 1.0)])
    f = v - v * s * torch.clamp(torch.minimum(k, 4 - k), 0, 1)
    return f


def shift_bilinear(x: torch.Tensor, dy: float, dx: float) -> torch.Tensor:
    """``y(p) = x(p + (dy, dx))`` for ``(C, h, w)``, bilinear, zeros outside (differentiable)."""
    c, h, w = x.shape
    ys = torch.arange(h, dtype=x.dtype, device=x.device) + dy
    xs = torch.arange(w, dtype=x.dtype, device=x.device) + dx
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    grid = torch.stack([2 * gx / max(w - 1, 1) - 1, 2 * gy / max(h - 1, 1) - 1], dim=-1)
    return F.grid_sample(x[None], grid[None], mode="bilinear", align_corners=True)[0]
