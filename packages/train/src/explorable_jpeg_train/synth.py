"""JPEG codes made on the fly in torch (CPU or GPU), for training only.

Evaluation always uses real files read by jpeglib. Here libjpeg's encoder is reproduced in
integer arithmetic (``tests/train/test_synth.py``: identical tables, ≥ 99.9% identical
coefficients against real files at every quality):

* colour: jccolor.c's fixed-point RGB → YCbCr, ``Y = (FIX(.299)R + FIX(.587)G + FIX(.114)B
  + 2¹⁵) >> 16`` (Cb, Cr alike, ``FIX(x) = ⌊x·2¹⁶ + ½⌋``);
* chroma down-sampling: jcsample.c's biased box sums (h2v1: bias 0, 1, …; h2v2: 1, 2, …);
* DCT: jfdctint.c (``explorable_jpeg.jpeg.libjpeg.forward.fdct_islow``, ×8), quantization
  ``sign(t)·⌊(|t| + 4M) / 8M⌋``;
* tables: libjpeg's integer formula ``M = clamp(⌊(T·S + 50)/100⌋, 1, 255)`` (S = 5000/Q
  below 50, 200 − 2Q above), optionally perturbed per entry.
"""

from __future__ import annotations

import torch

from explorable_jpeg.jpeg.libjpeg.forward import downsample_libjpeg, fdct_islow, quantize_islow
from explorable_jpeg.jpeg.tables import ANNEX_K_CHROMA, ANNEX_K_LUMA
from explorable_jpeg.ops.color import rgb_to_ycbcr_libjpeg
from explorable_jpeg.ops.dct import blockify

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


def dct8(plane: torch.Tensor) -> torch.Tensor:
    """libjpeg's ×8 integer DCT ``t`` of an integer-valued plane ``(B, H, W)`` (level shift
    128): int64 ``(B, H/8, W/8, 8, 8)``."""
    return fdct_islow(blockify(plane.round().long() - 128))


def quantize(plane: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    """libjpeg's code of an integer-valued plane ``(B, H, W)`` with tables ``(B, 8, 8)``:
    ``sign(t)·⌊(|t| + 4M) / 8M⌋``; float ``(B, H/8, W/8, 8, 8)``."""
    return quantize_islow(dct8(plane), table[:, None, None]).float()


def make_codes(
    rgb: torch.Tensor, luma_t: torch.Tensor, chroma_t: torch.Tensor, factors: tuple[int, int]
):
    """Float RGB ``(B, 3, H, W)`` → (YCbCr planes, q_Y, q_Cb, q_Cr, c_Y); H, W multiples
    of 16.

    The planes are libjpeg's integer YCbCr (as float), i.e. what the file's encoder saw;
    ``c_Y = t / 8M`` are the luma's unrounded coefficients (in steps), so
    ``c_Y − q_Y ∈ [−½, ½]`` exactly."""
    ycc = rgb_to_ycbcr_libjpeg(rgb.clamp(0, 255))
    t_y = dct8(ycc[:, 0])
    m_y = luma_t[:, None, None]
    q_y = quantize_islow(t_y, m_y).float()
    fy, fx = factors
    q_cb = quantize(downsample_libjpeg(ycc[:, 1], fy, fx), chroma_t)
    q_cr = quantize(downsample_libjpeg(ycc[:, 2], fy, fx), chroma_t)
    return ycc.float(), q_y, q_cb, q_cr, t_y / (8.0 * m_y.round())
