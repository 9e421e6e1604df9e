"""Training images: random crops at random down-scales with flips/transposes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")


def load_folder(folder: str | Path, device) -> list[torch.Tensor]:
    """All images of a folder as uint8 ``(3, H, W)`` tensors on ``device``."""
    paths = sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not paths:
        raise FileNotFoundError(f"no images in {folder}")
    out = []
    for p in paths:
        with Image.open(p) as im:
            arr = np.asarray(im.convert("RGB"))
        out.append(torch.from_numpy(arr.copy()).permute(2, 0, 1).to(device))
    return out


def random_crops(
    images: list[torch.Tensor],
    batch: int,
    size: int,
    generator: torch.Generator,
    min_scale: float = 0.5,
) -> torch.Tensor:
    """``(batch, 3, size, size)`` float crops in [0, 255], each from a random image, down-scaled
    by a random factor in [min_scale, 1] (antialiased), randomly flipped and transposed."""
    dev = images[0].device
    crops = []
    for _ in range(batch):
        img = images[int(torch.randint(len(images), (1,), generator=generator))]
        _, h, w = img.shape
        s = min_scale + (1 - min_scale) * float(torch.rand(1, generator=generator))
        src = min(int(round(size / s)), h, w)
        y = int(torch.randint(h - src + 1, (1,), generator=generator))
        x = int(torch.randint(w - src + 1, (1,), generator=generator))
        c = img[:, y : y + src, x : x + src].float()[None]
        if src != size:
            c = F.interpolate(
                c, size=(size, size), mode="bilinear", antialias=True, align_corners=False
            )
        c = c[0]
        flips = torch.rand(3, generator=generator)
        if flips[0] < 0.5:
            c = c.flip(-1)
        if flips[1] < 0.5:
            c = c.flip(-2)
        if flips[2] < 0.5:
            c = c.transpose(-1, -2)
        crops.append(c)
    return torch.stack(crops).clamp(0, 255).round().to(dev)
