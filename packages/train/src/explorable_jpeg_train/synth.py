"""JPEG codes made on the fly in torch (CPU or GPU), for training only.

Evaluation always uses real files read by jpeglib. Here the encoder is modelled in float:
``Y, Cb, Cr = round(JFIF(rgb))``, chroma box-averaged by ``(fy, fx)``, then
``q = round(DCT(x − 128) / M)`` with libjpeg's integer table formula
``M = clamp(⌊(T·S + 50)/100⌋, 1, 255)`` (S = 5000/Q below 50, 200 − 2Q above), optionally
perturbed per entry. This matches real libjpeg files on ≥ 99.9% of coefficients.
"""

from __future__ import annotations

import torch

from explorable_jpeg.color import rgb_to_ycbcr
from explorable_jpeg.dct import blockify, dct_blocks
from explorable_jpeg.sampling import box_downsample
from explorable_jpeg.tables import ANNEX_K_CHROMA, ANNEX_K_LUMA

SAMPLING_CHOICES = ((2, 2), (1, 2), (1, 1))  # (fy, fx) of chroma: 4:2:0, 4:2:2, 4:4:4
SAMPLING_WEIGHTS = (0.6, 0.2, 0.2)


def ijg_tables_torch(quality: torch.Tensor, base) -> torch.Tensor:
    """``(B,)`` integer qualities → ``(B, 8, 8)`` IJG tables (baseline clamp)."""
    q = quality.clamp(1, 100).long()
    s = torch.where(q < 50, 5000 // q, 200 - 2 * q)
    t = torch.as_tensor(base, device=quality.device).long()
    return ((t[None] * s[:, None, None] + 50) // 100).clamp(1, 255).float()


def random_tables(
    batch: int,
    generator: torch.Generator,
    device,
    perturb_p: float = 0.3,
    qmin: int = 1,
    qmax: int = 95,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Random (luma, chroma) tables: IJG qualities skewed to low Q, some perturbed."""
    u = torch.rand(batch, generator=generator, device=device)
    quality = (qmin + (qmax - qmin) * u**1.6).round()
    luma = ijg_tables_torch(quality, ANNEX_K_LUMA)
    chroma = ijg_tables_torch(quality, ANNEX_K_CHROMA)
    pert = torch.rand(batch, 1, 1, generator=generator, device=device) < perturb_p
    for t in (luma, chroma):
        f = 0.7 + 0.6 * torch.rand(t.shape, generator=generator, device=device)
        t.copy_(torch.where(pert, (t * f).round().clamp(1, 255), t))
    return luma, chroma


def quantize(plane: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    """``round(DCT(plane − 128) / M)``: ``(B, H, W)`` → ``(B, H/8, W/8, 8, 8)``."""
    c = dct_blocks(blockify(plane - 128.0)) / table[:, None, None]
    return torch.round(c)


def make_codes(
    rgb: torch.Tensor, luma_t: torch.Tensor, chroma_t: torch.Tensor, factors: tuple[int, int]
):
    """Float RGB ``(B, 3, H, W)`` → (YCbCr planes, q_Y, q_Cb, q_Cr); H, W multiples of 16."""
    ycc = torch.round(rgb_to_ycbcr(rgb)).clamp(0, 255)
    q_y = quantize(ycc[:, 0], luma_t)
    fy, fx = factors
    q_cb = quantize(torch.round(box_downsample(ycc[:, 1], fy, fx)), chroma_t)
    q_cr = quantize(torch.round(box_downsample(ycc[:, 2], fy, fx)), chroma_t)
    return ycc, q_y, q_cb, q_cr
