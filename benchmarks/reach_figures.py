"""Before/after figure of every exploration tool: z only (reach 0) against the default reach.

    python benchmarks/reach_figures.py PHOTO.png [--qf 10] [--out docs/reach_tools.png]

One row per tool on a crop around the selection (the selection's outline in the first
column): the decoding before the edit, the tool with ``reach = 0`` (the network's z alone,
as the tools were before the exploration field), and the tool with its default reach (0.5
for random alternatives, whose default is 0). Use a
photo the networks were not trained on (e.g. ``shared/datasets/photos/val`` or eval2).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw
from reach import load_photo

import explorable_jpeg as ej
from explorable_jpeg.decoding.decoder import Decoder
from explorable_jpeg.explore import SPECS, Explorer, rect_mask

ROOT = Path(__file__).resolve().parents[1]
SIDE = 64
PAD = 24
SCALE = 1


def calls(image: np.ndarray, box: tuple[int, int, int, int], other: np.ndarray) -> list:
    y0, x0, y1, x1 = box
    paint = image.copy()
    paint[y0:y1, x0:x1] = (220, 30, 30)
    lab = np.zeros(image.shape[:2], np.int64)
    lab[y0:y1, x0:x1] = 1
    src = other[: other.shape[0] // 2, : other.shape[1] // 2]
    return [
        ("imprint", {"source": src}),
        ("scribble", {"scribble": paint, "labels": lab}),
        ("scribble", {"mode": "brighten", "delta": 0.3}),
        ("scribble", {"mode": "darken", "delta": 0.3}),
        ("hsv", {"hue": 0.3}),
        ("variance-up", {"delta": 0.05}),
        ("variance-down", {"delta": 0.05}),
        ("magnitude-up", {"delta": 0.05}),
        ("magnitude-down", {"delta": 0.05}),
        ("tv-down", {}),
        ("periodicity", {"directions": (0.0,), "periods": (8.0,)}),
        ("dictionary", {"source": src}),
        ("random", {"n": 2}),
    ]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("photo")
    ap.add_argument("--other", help="source photo for imprint / dictionary (default: photo)")
    ap.add_argument("--qf", type=int, default=10)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--budget", type=float, default=10.0)
    ap.add_argument("--out", default=str(ROOT / "docs" / "reach_tools.png"))
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(2)
    img = load_photo(Path(args.photo), args.size)
    other = load_photo(Path(args.other or args.photo), args.size)
    _, code = ej.compress(img, quality=args.qf, subsampling="4:2:0")
    ex = Explorer(Decoder.from_pretrained(variant="gan"), code)
    h, w = ex.shape
    y0, x0 = h // 2 - SIDE // 2 + 3, w // 2 - SIDE // 2 + 5
    box = (y0, x0, y0 + SIDE, x0 + SIDE)
    mask = rect_mask(ex.shape, *box)
    sl = (slice(max(0, y0 - PAD), y0 + SIDE + PAD), slice(max(0, x0 - PAD), x0 + SIDE + PAD))
    before = ex.image
    rows = []
    for tool, params in calls(before, box, other):
        cells = [before[sl]]
        # random alternatives default to reach 0: show them at 0.5 (their field's effect)
        for reach in (0.0, SPECS[tool].reach or 0.5):
            res = ex.apply(tool, mask, reach=reach, budget_s=args.budget, **params)
            cells.append(res.image[sl])
            assert ej.check(code, res.image).consistent
            ex.undo()
        row = Image.fromarray(np.concatenate(cells, 1))
        row = row.resize((row.width * SCALE, row.height * SCALE), Image.Resampling.NEAREST)
        draw = ImageDraw.Draw(row)
        by, bx = (y0 - sl[0].start) * SCALE, (x0 - sl[1].start) * SCALE
        draw.rectangle((bx, by, bx + SIDE * SCALE, by + SIDE * SCALE), outline=(255, 255, 0))
        label = params.get("mode", tool) if tool == "scribble" and "mode" in params else tool
        draw.text((4, 4), label, fill=(255, 255, 0))
        rows.append(np.asarray(row))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.concatenate(rows, 0)).save(args.out, optimize=True)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
