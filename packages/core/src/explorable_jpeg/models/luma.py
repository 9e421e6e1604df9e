"""Luma network ψ_Y(q, M, z): consistent by construction on the 8×8 block grid.

Inputs per block: the dequantized code ``q·M / 128`` (64 channels), the table as
``log M / 5`` (64 channels, broadcast), and optionally z (64 channels in [−1, 1]). Output:

    X̂ = q + ½ · tanh(f(q, M, z))   ∈ q + (−½, ½)   per coefficient,

so ``round(X̂) = q`` for every z and every weight; the output layer is zero-initialised,
so an untrained net decodes at the bin centres. Pixels: ``IDCT(M · X̂) + 128``.
"""

from __future__ import annotations

import dataclasses
from typing import cast

import torch
from torch import nn

from explorable_jpeg.models.blocks import ZResBlock
from explorable_jpeg.ops.dct import channels_to_blocks, idct_blocks, unblockify


@dataclasses.dataclass
class LumaNetConfig:
    channels: int = 96
    blocks: int = 4
    z_channels: int = 0  # 0: the L1 variant; 64: explorable (GAN) variant

    @property
    def receptive_blocks(self) -> int:
        """Receptive-field radius in blocks (3×3 convs: 1 per conv)."""
        return 2 * self.blocks + 2


def table_channels(table: torch.Tensor, shape: tuple[int, int]) -> torch.Tensor:
    """``log M / 5`` of tables ``(B, 8, 8)`` broadcast to ``(B, 64, h, w)``."""
    t = torch.log(table.reshape(-1, 64).float()) / 5.0
    return t[:, :, None, None].expand(-1, -1, *shape)


class LumaNet(nn.Module):
    """See module docstring. ``forward(q, table, z) -> coefficients`` on ``(B, 64, h, w)``."""

    def __init__(self, config: LumaNetConfig | None = None, **kwargs: int) -> None:
        super().__init__()
        self.config = config or LumaNetConfig(**kwargs)
        c = self.config
        self.head = nn.Conv2d(128, c.channels, 3, padding=1)
        self.body = nn.ModuleList(ZResBlock(c.channels, c.z_channels) for _ in range(c.blocks))
        self.tail = nn.Conv2d(c.channels, 64, 3, padding=1)
        nn.init.zeros_(self.tail.weight)
        nn.init.zeros_(cast(torch.Tensor, self.tail.bias))

    def offsets(
        self, q: torch.Tensor, table: torch.Tensor, z: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Bounded offsets ``½ tanh(f) ∈ (−½, ½)``, shape ``(B, 64, h, w)``."""
        m = table.reshape(-1, 64, 1, 1).to(q.dtype)
        tc = table_channels(table, (q.shape[-2], q.shape[-1])).to(q.dtype)
        x = torch.cat([q * m / 128.0, tc], 1)
        h = self.head(x)
        for block in self.body:
            h = block(h, z)
        return 0.5 * torch.tanh(self.tail(nn.functional.gelu(h)))

    def forward(
        self, q: torch.Tensor, table: torch.Tensor, z: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Consistent coefficients ``q + offsets`` (in quantization steps), ``(B, 64, h, w)``."""
        return q + self.offsets(q, table, z)


def coefficients_to_pixels(coefficients: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    """``IDCT(M · X̂) + 128``: ``(B, 64, h, w)`` steps → ``(B, 8h, 8w)`` pixels."""
    m = table.reshape(-1, 1, 1, 8, 8).to(coefficients.dtype)
    return unblockify(idct_blocks(channels_to_blocks(coefficients) * m)) + 128.0
