"""The evaluation images and how they are read (shared by :mod:`.evaluate` and :mod:`.paper`).

``REPO`` is the repository root (the default image sets and outputs are found from it);
images are lossless files read as uint8 RGB, optionally down-scaled; ``luma`` is the Y the
metrics are taken on.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from explorable_jpeg.ops.color import rgb_to_ycbcr

IMAGE_SUFFIXES = (".png", ".bmp", ".tif", ".tiff", ".ppm")
REPO = Path(__file__).resolve().parents[4]


def load_images(folder: str | Path, max_side: int | None = None) -> list[tuple[str, np.ndarray]]:
    """``(name, uint8 RGB (H, W, 3))`` for every lossless image of ``folder``, sorted by name.

    With ``max_side`` larger images are down-scaled (LANCZOS) so their long side fits.
    """
    folder = Path(folder)
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not paths:
        raise FileNotFoundError(f"no PNG/BMP/TIFF images in {folder}")
    out = []
    for p in paths:
        with Image.open(p) as im:
            rgb = im.convert("RGB")
        if max_side and max(rgb.size) > max_side:
            f = max(rgb.size) / max_side
            rgb = rgb.resize(
                (round(rgb.width / f), round(rgb.height / f)), Image.Resampling.LANCZOS
            )
        out.append((p.name, np.asarray(rgb)))
    return out


def to_gray(rgb: np.ndarray) -> np.ndarray:
    """The luma PIL's ``convert("L")`` gives (ITU-R 601, rounded), as uint8 ``(H, W)``."""
    return np.asarray(Image.fromarray(rgb).convert("L"))


def luma(image: np.ndarray) -> np.ndarray:
    """Float Y in [0, 255]: the image itself for gray, the JFIF Y of RGB."""
    x = np.asarray(image, dtype=np.float64)
    return x if x.ndim == 2 else rgb_to_ycbcr(x)[..., 0]
