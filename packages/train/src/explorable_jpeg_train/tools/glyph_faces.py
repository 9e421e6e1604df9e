"""Build the digit tool's extra type faces: ``explore/glyph_faces.safetensors`` in core.

    python -m explorable_jpeg_train.tools.glyph_faces [--out PATH]

The digit tool draws each candidate digit in several faces so that a digit printed in a
serif or a monospaced font can be redrawn in kind. Pillow's bundled Aileron (a grotesque
sans) is rendered at run time; this tool renders the others from Debian's font packages,

* ``serif`` — DejaVu Serif Book (``fonts-dejavu-core``),
* ``mono`` — DejaVu Sans Mono Bold (``fonts-dejavu-core``),

as white-on-black coverage masks (uint8, cropped to the ink, ``HEIGHT`` px tall, one per
digit) and stores them with safetensors (key ``"<face>/<digit>"``). DejaVu's licence (the
Bitstream Vera / DejaVu changes licence) allows redistributing such derived renderings.
The faces are deliberately not the ones ``benchmarks/reach_digits.py`` prints its test
digits in (DejaVu Sans Bold, Liberation Serif, FreeSans, FreeMono Bold).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont
from safetensors.torch import save_file

logger = logging.getLogger("explorable_jpeg_train")
HEIGHT = 96  # px: the masks' ink height (the tool resamples them to the old digit's)
FONTS = {
    "serif": "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
    "mono": "/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf",
}
DEFAULT_OUT = (
    Path(__file__).resolve().parents[4] / "core/src/explorable_jpeg/explore/glyph_faces.safetensors"
)


def render(font_path: str, digit: int, height: int = HEIGHT) -> np.ndarray:
    """Coverage (uint8) of ``digit`` in the font, cropped to its ink, ``height`` px tall."""
    n = 4 * height
    font = ImageFont.truetype(font_path, size=int(n * 1.4))
    big = Image.new("L", (3 * n, 3 * n), 0)
    ImageDraw.Draw(big).text((n // 2, n // 4), str(digit), fill=255, font=font)
    box = big.getbbox()
    if box is None:
        raise ValueError(f"{font_path} has no ink for {digit}")
    shape = big.crop(box)
    width = max(1, round(shape.width * height / shape.height))
    return np.asarray(shape.resize((width, height), Image.Resampling.LANCZOS), dtype=np.uint8)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=str(DEFAULT_OUT))
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    tensors = {
        f"{face}/{d}": torch.from_numpy(render(path, d).copy())
        for face, path in FONTS.items()
        for d in range(10)
    }
    save_file(tensors, args.out, metadata={"height": str(HEIGHT), "fonts": repr(FONTS)})
    size = Path(args.out).stat().st_size
    logger.info("wrote %d masks to %s (%d bytes)", len(tensors), args.out, size)


if __name__ == "__main__":
    main()
