"""Random alternatives: how far apart are the N alternatives the tool offers?

    python benchmarks/reach_random.py --images DIR [--images DIR2] [--out results/reach_random.json]

For each photo (``--size`` px on the long side, libjpeg quality 10, colour 4:2:0) the
``random`` tool makes 4 alternatives in a 128×160 selection at the centre, once with
``reach = 0`` (z only: the tool as it was before the exploration field) and once with
``--reach`` (default 0.8). Reported: the closest pair's mean
absolute difference inside the selection (grey levels, RGB), the time, and whether every
alternative re-encodes to the file.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import statistics
import time
from pathlib import Path

import numpy as np
import torch
from reach import load_photo

import explorable_jpeg as ej
from explorable_jpeg.decoding.decoder import Decoder
from explorable_jpeg.explore import Explorer, rect_mask

ROOT = Path(__file__).resolve().parents[1]
logger = logging.getLogger("reach_random")


def closest_pair(images: list[np.ndarray], mask: np.ndarray) -> float:
    return min(
        float(np.abs(a.astype(float) - b)[mask].mean())
        for a, b in itertools.combinations(images, 2)
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--images", action="append", required=True)
    ap.add_argument("--limit", type=int, default=3)
    ap.add_argument("--size", type=int, default=320)
    ap.add_argument("--budget", type=float, default=10.0)
    ap.add_argument(
        "--reach",
        type=float,
        default=0.8,
        help="against reach 0 (z only: the tool's default)",
    )
    ap.add_argument("--out", default=str(ROOT / "results" / "reach_random.json"))
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("explorable_jpeg").setLevel(logging.WARNING)
    torch.set_num_threads(2)
    photos = [p for d in args.images for p in sorted(Path(d).glob("*.png"))[: args.limit]]
    decoder = Decoder.from_pretrained(variant="gan")
    rows = []
    default = args.reach
    for path in photos:
        _, code = ej.compress(load_photo(path, args.size), quality=10, subsampling="4:2:0")
        ex = Explorer(decoder, code)
        h, w = ex.shape
        y0, x0 = max(0, h // 2 - 64), max(0, w // 2 - 80)
        mask = rect_mask(ex.shape, y0, x0, y0 + 128, x0 + 160)
        row: dict = {"photo": path.name}
        for label, reach in (("z only", 0.0), ("default", default)):  # "default": --reach
            t0 = time.perf_counter()
            res = ex.apply("random", mask, n=4, reach=reach, budget_s=args.budget)
            alts = list(res.alternatives.values())
            row[label] = {
                "closest": closest_pair(alts, mask),
                "seconds": time.perf_counter() - t0,
                "consistent": all(ej.check(code, a).consistent for a in alts),
            }
            ex.undo()
        rows.append(row)
        logger.info("%s: closest pair %.2f (z only) → %.2f (reach %.2f)", path.name,
                    row["z only"]["closest"], row["default"]["closest"], default)  # fmt: skip
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"reach": default, "rows": rows}, indent=1) + "\n")
    z = [r["z only"]["closest"] for r in rows]
    d = [r["default"]["closest"] for r in rows]
    ratio = statistics.fmean(b / a for a, b in zip(z, d, strict=True))
    print("| photos | closest pair, z only | closest pair, reach "
          f"{default} | ratio (mean) | time z only / default (s) | consistent |\n"
          "|---:|---:|---:|---:|---:|---:|\n"
          f"| {len(rows)} | {statistics.fmean(z):.2f} | {statistics.fmean(d):.2f} | {ratio:.2f} | "
          f"{statistics.fmean(r['z only']['seconds'] for r in rows):.1f} / "
          f"{statistics.fmean(r['default']['seconds'] for r in rows):.1f} | "
          f"{sum(r['z only']['consistent'] and r['default']['consistent'] for r in rows)}"
          f"/{len(rows)} |")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
