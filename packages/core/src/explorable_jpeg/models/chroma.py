"""Chroma network ψ_C(Y, chroma code, z): full-resolution Cb/Cr from the decoded luma.

It works on the luma 8×8 block grid for every sampling: inputs per luma block are the
decoded luma pixels (64 channels, space-to-depth), the bin-centre chroma up-sampled to full
resolution (2 × 64), the chroma table as ``log M / 5`` (64), the box size (2 channels) and
optionally z (64). It outputs a bounded full-resolution residual
``r = 32·tanh(f)`` for Cb and Cr (2 × 64 channels, zero-initialised); the caller adds it to
the up-sampled bin-centre chroma and projects the sum onto the consistent set with the
exact box-average model (:mod:`explorable_jpeg.consistency.projection`), so the result is consistent
whatever the network outputs.
"""

from __future__ import annotations

import dataclasses
from typing import cast

import torch
from torch import nn
from torch.nn import functional as F

from explorable_jpeg.models.blocks import ZResBlock
from explorable_jpeg.models.luma import table_channels


@dataclasses.dataclass
class ChromaNetConfig:
    channels: int = 64
    blocks: int = 3
    z_channels: int = 0

    @property
    def receptive_blocks(self) -> int:
        return 2 * self.blocks + 2


class ChromaNet(nn.Module):
    """``forward(luma, chroma_up, table, factors, z) -> residual (B, 2, H, W)``.

    ``luma``: ``(B, 1, H, W)`` decoded luma in [0, 255]; ``chroma_up``: ``(B, 2, H, W)``
    bin-centre chroma at full resolution; ``table``: ``(B, 8, 8)`` chroma table;
    ``factors``: ``(fy, fx)``; H, W multiples of 8.
    """

    def __init__(self, config: ChromaNetConfig | None = None, **kwargs: int) -> None:
        super().__init__()
        self.config = config or ChromaNetConfig(**kwargs)
        c = self.config
        self.head = nn.Conv2d(64 + 128 + 64 + 2, c.channels, 3, padding=1)
        self.body = nn.ModuleList(ZResBlock(c.channels, c.z_channels) for _ in range(c.blocks))
        self.tail = nn.Conv2d(c.channels, 128, 3, padding=1)
        nn.init.zeros_(self.tail.weight)
        nn.init.zeros_(cast(torch.Tensor, self.tail.bias))

    def forward(
        self,
        luma: torch.Tensor,
        chroma_up: torch.Tensor,
        table: torch.Tensor,
        factors: tuple[int, int],
        z: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Full-resolution chroma residual ``(B, 2, H, W)``, each sample in ``(−32, 32)``."""
        b, _, h, w = luma.shape
        grid = (h // 8, w // 8)
        fac = torch.tensor(
            [factors[0] / 2.0, factors[1] / 2.0], dtype=luma.dtype, device=luma.device
        )
        x = torch.cat(
            [
                F.pixel_unshuffle((luma - 128.0) / 64.0, 8),
                F.pixel_unshuffle((chroma_up - 128.0) / 64.0, 8),
                table_channels(table, grid).to(luma.dtype),
                fac[None, :, None, None].expand(b, 2, *grid),
            ],
            dim=1,
        )
        hdn = self.head(x)
        for block in self.body:
            hdn = block(hdn, z)
        r = 32.0 * torch.tanh(self.tail(F.gelu(hdn)))
        return F.pixel_shuffle(r, 8)
