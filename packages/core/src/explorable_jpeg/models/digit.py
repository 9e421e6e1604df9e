"""A small handwritten-digit classifier used by the digit class-exploration tool.

Input: a gray crop ``(B, h, w)`` on [0, 1] of any size. It is resized (aspect kept, edge
padding) to ``S × S`` (``S = config.size``) and standardised per image,

    x̃ = (x − mean(x)) / (std(x) + ε),

so the polarity (light on dark or dark on light) and contrast of the digit do not matter
to the input scale. Network: three conv stages (3×3 conv → GELU → 3×3 conv → GELU →
2×2 max-pool; widths ``config.widths``), global average pooling, a linear layer to 10
logits. Everything is differentiable, so ``log p_d`` can drive z optimisation.

Weights (ours, trained by ``explorable_jpeg_train.digits`` on the 5,000 OpenCV digits
with photo-like augmentation) ship in ``weights/digits/`` as ``config.json`` +
``model.safetensors``; ``weights/digits/README.md`` gives the held-out accuracy.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from explorable_jpeg.errors import DigitWeightsError
from explorable_jpeg.models import hub

DIGIT_WEIGHTS = Path(__file__).resolve().parents[1] / "weights" / "digits"
NUM_CLASSES = 10
EPS = 1e-2  # std floor of the per-image standardisation (on the [0, 1] scale)

__all__ = [
    "DIGIT_WEIGHTS",
    "DigitNet",
    "DigitNetConfig",
    "DigitWeightsError",
    "fit_square",
    "standardise",
]


@dataclasses.dataclass
class DigitNetConfig:
    size: int = 32
    widths: tuple[int, ...] = (24, 48, 64)

    def __post_init__(self) -> None:
        self.widths = tuple(int(w) for w in self.widths)  # JSON gives lists


def fit_square(gray: torch.Tensor, size: int) -> torch.Tensor:
    """Resize ``(B, h, w)`` to ``(B, 1, size, size)`` keeping the aspect ratio.

    The longer side becomes ``size``; the shorter one is centred and padded by edge
    replication (bilinear, anti-aliased when shrinking; differentiable).
    """
    if gray.dim() != 3:
        raise ValueError(f"expected (B, h, w) gray crops, got shape {tuple(gray.shape)}")
    _, h, w = gray.shape
    scale = size / max(h, w)
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    x = F.interpolate(
        gray[:, None].float(), size=(nh, nw), mode="bilinear", align_corners=False,
        antialias=scale < 1,
    )  # fmt: skip
    top, left = (size - nh) // 2, (size - nw) // 2
    return F.pad(x, (left, size - nw - left, top, size - nh - top), mode="replicate")


def standardise(x: torch.Tensor) -> torch.Tensor:
    """Per-image ``(x − mean) / (std + ε)`` over the last three dimensions."""
    m = x.mean(dim=(-3, -2, -1), keepdim=True)
    s = x.std(dim=(-3, -2, -1), keepdim=True)
    return (x - m) / (s + EPS)


class DigitNet(nn.Module):
    """``forward(gray (B, h, w) in [0, 1]) -> logits (B, 10)``; see the module docstring."""

    def __init__(self, config: DigitNetConfig | None = None) -> None:
        super().__init__()
        self.config = config or DigitNetConfig()
        layers: list[nn.Module] = []
        cin = 1
        for w in self.config.widths:
            layers += [nn.Conv2d(cin, w, 3, padding=1), nn.GELU()]
            layers += [nn.Conv2d(w, w, 3, padding=1), nn.GELU(), nn.MaxPool2d(2)]
            cin = w
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(cin, NUM_CLASSES)

    def forward_square(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of inputs already at ``(B, 1, S, S)`` (not yet standardised)."""
        h = self.features(standardise(x))
        return self.head(h.mean(dim=(-2, -1)))

    def forward(self, gray: torch.Tensor) -> torch.Tensor:
        return self.forward_square(fit_square(gray, self.config.size))

    @torch.no_grad()
    def probabilities(self, gray: torch.Tensor) -> torch.Tensor:
        """Softmax probabilities ``(B, 10)`` of gray crops ``(B, h, w)`` on [0, 1]."""
        return self.forward(gray).softmax(-1)

    # ------------------------------------------------------------------ IO
    def save_pretrained(self, folder: str | os.PathLike[str], card: str | None = None) -> None:
        """Write ``config.json`` and ``model.safetensors`` (fp32; the net is small)."""
        cfg = dataclasses.asdict(self.config)
        cfg["widths"] = list(cfg["widths"])
        hub.save_folder(folder, self.state_dict(), cfg, torch.float32, card)

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> DigitNet:
        """The classifier (random weights) that a ``config.json`` describes."""
        try:
            return cls(DigitNetConfig(**config))
        except (TypeError, ValueError) as exc:
            raise DigitWeightsError(f"bad digit classifier config: {exc}") from None

    @classmethod
    def from_pretrained(
        cls, folder: str | os.PathLike[str] | None = None, device: str | torch.device = "cpu"
    ) -> DigitNet:
        """Load from ``folder`` (default: the bundled weights), in eval mode.

        >>> net = DigitNet.from_pretrained()
        >>> net.probabilities(torch.zeros(2, 28, 20)).shape
        torch.Size([2, 10])
        """
        root = Path(folder) if folder is not None else DIGIT_WEIGHTS
        return hub.load_folder(root, cls.from_config, DigitWeightsError, device)
