"""Training batches: random crops (:mod:`.data`) coded on the fly (:mod:`.synth`).

A luma batch holds the code ``q (B, 64, h, w)``, the table ``(B, 8, 8)``, the true luma
``y (B, H, W)`` and the truth's unrounded offsets ``DCT(y − 128)/M − q ∈ [−½, ½]`` (the
critic's *real* candidate). A chroma batch adds the chroma codes, tables, sampling factors,
the true ``Cb, Cr (B, 2, H, W)`` and the up-sampled bin-centre chroma ``U(c̄)``.
"""

from __future__ import annotations

import dataclasses

import torch

from explorable_jpeg.jpeg.tables import ANNEX_K_CHROMA, ANNEX_K_LUMA
from explorable_jpeg.ops.dct import blocks_to_channels, idct_blocks, unblockify
from explorable_jpeg.ops.sampling import upsample_display

from .config import DataConfig
from .data import random_crops
from .synth import SAMPLING_CHOICES, SAMPLING_WEIGHTS, ijg_tables_torch, make_codes, random_tables


@dataclasses.dataclass
class Batch:
    q: torch.Tensor  # (B, 64, h, w) luma code
    table: torch.Tensor  # (B, 8, 8) luma table
    y: torch.Tensor  # (B, H, W) true luma
    offsets: torch.Tensor  # (B, 64, h, w) true unrounded offsets in (−½, ½)
    ycc: torch.Tensor  # (B, 3, H, W) true YCbCr
    q_cb: torch.Tensor  # (B, by, bx, 8, 8)
    q_cr: torch.Tensor
    chroma_table: torch.Tensor  # (B, 8, 8)
    factors: tuple[int, int]
    chroma_up: torch.Tensor  # (B, 2, H, W) up-sampled bin-centre chroma


def bin_centre_chroma(q: torch.Tensor, table: torch.Tensor, factors, size) -> torch.Tensor:
    """Up-sampled bin-centre chroma ``(B, H, W)`` from ``q (B, by, bx, 8, 8)``."""
    plane = unblockify(idct_blocks(q * table[:, None, None])) + 128.0
    return upsample_display(plane.clamp(0, 255), *factors)[..., : size[0], : size[1]]


def code_batch(rgb: torch.Tensor, lt, ct, factors) -> Batch:
    """Code float RGB crops ``(B, 3, H, W)`` with the given tables and chroma sampling."""
    ycc, qy, qcb, qcr, c_y = make_codes(rgb, lt, ct, factors)
    size = ycc.shape[-2:]
    up = torch.stack([bin_centre_chroma(q, ct, factors, size) for q in (qcb, qcr)], 1)
    return Batch(
        q=blocks_to_channels(qy),
        table=lt,
        y=ycc[:, 0],
        offsets=blocks_to_channels(c_y - qy),
        ycc=ycc,
        q_cb=qcb,
        q_cr=qcr,
        chroma_table=ct,
        factors=factors,
        chroma_up=up,
    )


def sample_batch(
    images, data: DataConfig, gen: torch.Generator, cpu_gen: torch.Generator, chroma: bool
) -> Batch:
    """A random batch: crops, tables (IJG quality qmin–qmax, some perturbed), sampling."""
    factors = (1, 1)
    if chroma:
        probs = torch.tensor(SAMPLING_WEIGHTS)
        factors = SAMPLING_CHOICES[int(torch.multinomial(probs, 1, generator=cpu_gen))]
    rgb = random_crops(images, data.batch, data.crop, cpu_gen, data.min_scale)
    dev = rgb.device
    lt, ct = random_tables(data.batch, gen, dev, data.perturb_p, data.qmin, data.qmax)
    return code_batch(rgb, lt, ct, factors)


def probe_batch(images, size: int, n: int, quality: int, seed: int = 12345) -> Batch:
    """A fixed batch (same for every run with the same images) at one IJG quality, 4:2:0."""
    g = torch.Generator().manual_seed(seed)
    rgb = random_crops(images, n, size, g, 1.0)
    qual = torch.full((n,), quality, device=rgb.device)
    lt = ijg_tables_torch(qual, ANNEX_K_LUMA)
    ct = ijg_tables_torch(qual, ANNEX_K_CHROMA)
    return code_batch(rgb, lt, ct, (2, 2))


def repeat(t: torch.Tensor, k: int) -> torch.Tensor:
    """Repeat along the batch dimension ``k`` times."""
    return t.repeat(k, *([1] * (t.dim() - 1)))
