"""Benchmarks: time of the exact plain pipeline next to libjpeg's own decode.

    nox -s bench                 # 12-megapixel 4:2:0 JPEG at quality 75
    nox -s bench -- --megapixels 2 --quality 90

Reports wall-clock seconds of read_jpeg, decode_plain (bin centres + snap), check, and
their sum, each as a ratio to libjpeg's decode of the same file (Pillow/libjpeg-turbo).
Writes results/bench.json.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import math
import time
from pathlib import Path

import numpy as np
from PIL import Image

import explorable_jpeg as ej

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "tests" / "fixtures" / "realworld_lomiri_picosdeeuropa.jpg"


def make_test_jpeg(megapixels: float, quality: int, subsampling: str) -> bytes:
    """A photo-like test JPEG: a committed real photo up-scaled, with grain, re-compressed."""
    src = Image.open(SOURCE).convert("RGB")
    w = int(math.sqrt(megapixels * 1e6 * 4 / 3))
    h = int(w * 3 / 4)
    big = np.asarray(src.resize((w, h), Image.Resampling.LANCZOS), dtype=np.float64)
    big += np.random.default_rng(0).normal(0, 4, big.shape)
    data, _ = ej.compress(
        np.clip(big, 0, 255).astype(np.uint8), quality=quality, subsampling=subsampling
    )
    return data


def timed(fn, repeat: int = 1):
    best, out = math.inf, None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--megapixels", type=float, default=12.0)
    p.add_argument("--quality", type=int, default=75)
    p.add_argument("--subsampling", default="4:2:0")
    p.add_argument("--out", default=str(ROOT / "results" / "bench.json"))
    args = p.parse_args()
    logging.basicConfig(level=logging.WARNING)

    data = make_test_jpeg(args.megapixels, args.quality, args.subsampling)
    t_lib, _ = timed(lambda: np.asarray(Image.open(io.BytesIO(data)).convert("RGB")), repeat=3)
    t_read, code = timed(lambda: ej.read_jpeg(data))
    t_dec, image = timed(lambda: ej.decode_plain(code))
    t_check, report = timed(lambda: ej.check(code, image))
    total = t_read + t_dec + t_check
    rows = {
        "libjpeg decode": t_lib,
        "read_jpeg": t_read,
        "decode_plain (exact)": t_dec,
        "check": t_check,
        "read + decode + check": total,
    }
    print(
        f"{code.width}x{code.height} ({code.width * code.height / 1e6:.1f} MP), "
        f"{code.subsampling}, quality {args.quality}: {report.summary()}"
    )
    print(f"{'step':<24}{'seconds':>10}{'× libjpeg':>12}")
    for name, t in rows.items():
        print(f"{name:<24}{t:>10.3f}{t / t_lib:>12.1f}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "width": code.width,
                "height": code.height,
                "quality": args.quality,
                "subsampling": code.subsampling,
                "identical_fraction": report.identical_fraction,
                "seconds": rows,
                "ratio_to_libjpeg": {k: v / t_lib for k, v in rows.items()},
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
