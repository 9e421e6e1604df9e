"""docs/reach_digits.png: "what could this digit be?" on one printed digit.

    python benchmarks/digits_figure.py --photo PNG [--digit 3] [--qf 5] [--out FILE]

The printed digit of ``benchmarks/reach_digits.py`` (a Debian font the tool does not render
with) on a crop of the photo, compressed by libjpeg; then the digit tool's alternatives
(three faces per digit), each captioned with the digit and face it was asked for, the
classifier's score, and what Tesseract (not ours) reads in it. Every alternative is checked
against the file.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw
from reach import load_photo
from reach_digits import BOX, FONTS, Ocr, background_of, draw_digit

import explorable_jpeg as ej
from explorable_jpeg.decoding.decoder import Decoder
from explorable_jpeg.explore import Explorer, rect_mask

ROOT = Path(__file__).resolve().parents[1]
ZOOM = 2
PAD = 6


def tile(image: np.ndarray, caption: str) -> Image.Image:
    """The digit's box (± a margin) of ``image``, enlarged, with a caption under it."""
    y0, x0, y1, x1 = BOX
    crop = Image.fromarray(image[y0 - PAD : y1 + PAD, x0 - PAD : x1 + PAD])
    crop = crop.resize((crop.width * ZOOM, crop.height * ZOOM), Image.Resampling.NEAREST)
    out = Image.new("RGB", (crop.width, crop.height + 30), "white")
    out.paste(crop, (0, 0))
    draw = ImageDraw.Draw(out)
    for k, line in enumerate(caption.split("\n")):
        draw.text((3, crop.height + 2 + 13 * k), line, fill="black")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--photo", required=True)
    ap.add_argument("--digit", type=int, default=3)
    ap.add_argument("--qf", type=int, default=5)
    ap.add_argument("--font", default=FONTS[2])
    ap.add_argument("--light-ink", action="store_true")
    ap.add_argument("--budget", type=float, default=20.0)
    ap.add_argument("--out", default=str(ROOT / "docs" / "reach_digits.png"))
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    torch.set_num_threads(2)
    dark = not args.light_ink
    bg = background_of(load_photo(Path(args.photo), 256), dark)
    printed = draw_digit(bg, args.digit, args.font, dark)
    _, code = ej.compress(printed, quality=args.qf, subsampling="4:2:0")
    ex = Explorer(Decoder.from_pretrained(variant="gan"), code)
    ocr = Ocr()
    tiles = [
        tile(printed, f"printed {args.digit}\n(before JPEG)"),
        tile(ex.image, f"JPEG q{args.qf}, decoded\nOCR: {ocr(ex.image) or '-'}"),
    ]
    res = ex.apply("digit", rect_mask(ex.shape, *BOX), budget_s=args.budget)
    # "digit 3" (the best over every face), "digit 3 serif", "digit 3 mono", ...
    for name in sorted(res.alternatives, key=lambda k: (int(k.split()[1]), len(k.split()), k)):
        alt = res.alternatives[name]
        ok = "ok" if ej.check(code, alt).consistent else "NOT consistent"
        caption = f"{name[6:]} ({res.scores[name]:.2f})\nOCR: {ocr(alt) or '-'} · {ok}"
        tiles.append(tile(alt, caption))
    cols = 8
    w, h = tiles[0].size
    rows = -(-len(tiles) // cols)
    sheet = Image.new("RGB", (cols * (w + 4), rows * (h + 4)), "white")
    for k, t in enumerate(tiles):
        sheet.paste(t, ((k % cols) * (w + 4), (k // cols) * (h + 4)))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    sheet.save(args.out, optimize=True)
    logging.getLogger("digits_figure").info("wrote %s", args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
