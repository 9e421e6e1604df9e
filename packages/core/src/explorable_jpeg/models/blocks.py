"""Building blocks shared by the decoder networks, and the width of their control z."""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from explorable_jpeg.errors import WeightsError

Z_CHANNELS = 64
"""Width of the control signal z of the explorable (GAN) variant: one 64-vector per 8×8
block, each entry in [−1, 1]. The L1 variant has no z (``z_channels = 0``)."""


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


def load_with_zero_z(net: nn.Module, state: Mapping[str, torch.Tensor]) -> nn.Module:
    """Load ``state`` (of a network without z, or with it) into ``net`` (built with z inputs):
    the z projections ``W_z`` that ``state`` lacks are set to zero, so ``net`` decodes
    exactly as the source does, for every z — the L1 → GAN conversion.

    Raises :class:`~explorable_jpeg.errors.WeightsError` if anything but z projections is
    missing or if ``state`` has weights ``net`` does not.
    """
    missing, unexpected = net.load_state_dict(dict(state), strict=False)
    if unexpected or any("z_proj" not in k for k in missing):
        raise WeightsError(f"weights do not fit: missing {missing}, unexpected {unexpected}")
    with torch.no_grad():
        for k in missing:
            nn.init.zeros_(net.get_parameter(k))
    return net
