"""Building blocks shared by the decoder networks."""

from __future__ import annotations

import torch
from torch import nn


class ZResBlock(nn.Module):
    """Residual block ``x + conv(gelu(conv(gelu(x) + W_z z)))`` on the block grid.

    ``W_z`` (1×1 conv of the control signal z) lets z act at every depth; it is absent when
    ``z_channels == 0`` and zero-initialised when an L1 model is converted to a GAN model,
    so the conversion starts exactly at the L1 model's output.
    """

    def __init__(self, channels: int, z_channels: int = 0) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)
        self.act = nn.GELU()
        self.z_proj = nn.Conv2d(z_channels, channels, 1) if z_channels else None

    def forward(self, x: torch.Tensor, z: torch.Tensor | None = None) -> torch.Tensor:
        h = self.act(x)
        if self.z_proj is not None and z is not None:
            h = h + self.z_proj(z)
        h = self.conv2(self.act(self.conv1(h)))
        return x + h
