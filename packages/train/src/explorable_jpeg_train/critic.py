"""Conditional critics D(code, candidate) for the WGAN-GP phase.

Both work on the 8×8 block grid (one position per luma block), like the decoders. The
critic sees the *code* (what the generator saw) and a *candidate* inside its bins — the
truth's unrounded coefficients for a real pair, the decoder's output for a fake one — so it
judges the within-bin detail conditioned on the code (paper digest §3.1, "InputConcatD").

Luma input (channels, per block):
    q·M/128 (64) | log M / 5 (64) | 2·(X̂ − q) ∈ (−1, 1) (64) | [(x − 128)/64, s2d (64)]
Chroma input (channels, per luma block; all planes at full resolution, space-to-depth):
    (Y − 128)/64 (64) | (U(c̄) − 128)/64 (128) | log M_C / 5 (64) | box size (2)
    | (C − U(c̄))/32 (128)
where U(c̄) is the up-sampled bin-centre chroma and C the candidate (projected) chroma.

Body: 3×3 conv → LeakyReLU(0.2) → ``layers`` × [3×3 conv (stride 2 at layers 2 and 4),
LayerNorm over (C, H, W) without affine or nothing, LeakyReLU(0.2)] → global mean pool →
linear → one scalar per image. No BatchNorm: the gradient penalty is per sample, and
batch statistics would couple the samples.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from explorable_jpeg.models.luma import table_channels

from .config import CriticConfig

LUMA_CODE_CHANNELS = 128  # q·M/128 and log M/5
LUMA_CANDIDATE_CHANNELS = 64
CHROMA_CODE_CHANNELS = 64 + 128 + 64 + 2
CHROMA_CANDIDATE_CHANNELS = 128


class _LayerNorm(nn.Module):
    """LayerNorm over (C, H, W) per sample, no affine (works for any spatial size)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.layer_norm(x, x.shape[1:])


class BlockGridCritic(nn.Module):
    """``forward(x (B, in_channels, h, w)) -> (B,)`` scores; see module docstring."""

    def __init__(self, in_channels: int, config: CriticConfig | None = None) -> None:
        super().__init__()
        c = config or CriticConfig()
        if c.norm not in ("layer", "none"):
            raise ValueError(f"critic norm must be 'layer' or 'none', got {c.norm!r}")
        self.config = c
        layers: list[nn.Module] = [nn.Conv2d(in_channels, c.channels, 3, padding=1)]
        layers.append(nn.LeakyReLU(0.2))
        for i in range(c.layers):
            stride = 2 if i in (1, 3) else 1
            layers.append(nn.Conv2d(c.channels, c.channels, 3, stride=stride, padding=1))
            if c.norm == "layer":
                layers.append(_LayerNorm())
            layers.append(nn.LeakyReLU(0.2))
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(c.channels, 1)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, a=0.2, nonlinearity="leaky_relu")
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x).mean(dim=(2, 3)))[:, 0]


def luma_critic(config: CriticConfig) -> BlockGridCritic:
    extra = 64 if config.pixels else 0
    return BlockGridCritic(LUMA_CODE_CHANNELS + LUMA_CANDIDATE_CHANNELS + extra, config)


def chroma_critic(config: CriticConfig) -> BlockGridCritic:
    return BlockGridCritic(CHROMA_CODE_CHANNELS + CHROMA_CANDIDATE_CHANNELS, config)


def luma_code_channels(q: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    """``(B, 128, h, w)``: ``q·M/128`` and ``log M / 5`` for ``q (B, 64, h, w)``."""
    m = table.reshape(-1, 64, 1, 1).to(q.dtype)
    return torch.cat([q * m / 128.0, table_channels(table, q.shape[-2:]).to(q.dtype)], 1)


def luma_critic_input(
    code: torch.Tensor, offsets: torch.Tensor, pixels: torch.Tensor | None
) -> torch.Tensor:
    """Concatenate code channels, ``2·offsets`` and (optionally) pixels ``(B, H, W)``."""
    parts = [code, 2.0 * offsets]
    if pixels is not None:
        parts.append(F.pixel_unshuffle((pixels[:, None] - 128.0) / 64.0, 8))
    return torch.cat(parts, 1)


def chroma_code_channels(
    luma: torch.Tensor, chroma_up: torch.Tensor, table: torch.Tensor, factors
) -> torch.Tensor:
    """``(B, 258, H/8, W/8)`` condition of the chroma critic (the chroma net's inputs)."""
    b, h, w = luma.shape
    grid = (h // 8, w // 8)
    fac = torch.tensor([factors[0] / 2.0, factors[1] / 2.0], dtype=luma.dtype, device=luma.device)
    return torch.cat(
        [
            F.pixel_unshuffle((luma[:, None] - 128.0) / 64.0, 8),
            F.pixel_unshuffle((chroma_up - 128.0) / 64.0, 8),
            table_channels(table, grid).to(luma.dtype),
            fac[None, :, None, None].expand(b, 2, *grid),
        ],
        1,
    )


def chroma_critic_input(
    code: torch.Tensor, candidate: torch.Tensor, chroma_up: torch.Tensor
) -> torch.Tensor:
    """Condition + ``(C − U(c̄))/32`` of the candidate chroma ``(B, 2, H, W)``."""
    return torch.cat([code, F.pixel_unshuffle((candidate - chroma_up) / 32.0, 8)], 1)
