"""Benchmarks: our decoders next to libjpeg's own decode of the same file.

    nox -s bench                 # 12-megapixel 4:2:0 JPEG at quality 75, plus the networks
    nox -s bench -- --megapixels 2 --quality 90 --skip-models

1. The exact plain pipeline: wall-clock seconds of read_jpeg, decode_plain (bin centres +
   snap), check, and their sum, each as a ratio to libjpeg's decode (Pillow/libjpeg-turbo).
2. The neural decoder (default model, bundled weights): ``Decoder.decode`` (networks + snap)
   of a 512×512 colour JPEG and of the 12 MP one, each in a fresh process so that its peak
   resident memory (ru_maxrss) is its own, next to libjpeg's decode time.
Writes results/bench.json.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import math
import resource
import subprocess
import sys
import tempfile
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


def decode_in_process(jpeg_path: str, model: str) -> dict:
    """Child-process body: time Decoder.decode on a file, report seconds and peak RSS."""
    import torch

    from explorable_jpeg.decoder import Decoder

    data = Path(jpeg_path).read_bytes()
    t_lib, _ = timed(lambda: np.asarray(Image.open(io.BytesIO(data)).convert("RGB")), repeat=3)
    code = ej.read_jpeg(data)
    dec = Decoder.from_pretrained(variant=model, device="cpu")
    t_dec, image = timed(lambda: dec.decode(code), repeat=2 if code.width < 2000 else 1)
    with torch.inference_mode():
        t_net, _ = timed(lambda: dec.decode_planes(code))
    return {
        "size": f"{code.width}x{code.height}",
        "libjpeg_s": t_lib,
        "decode_s": t_dec,
        "networks_s": t_net,
        "ratio_to_libjpeg": t_dec / t_lib,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "identical_fraction": ej.check(code, image).identical_fraction,
        "threads": torch.get_num_threads(),
    }


def bench_models(big_jpeg: bytes, model: str) -> list[dict]:
    small = make_test_jpeg(512 * 512 / 1e6, 10, "4:2:0")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, data in (("512x512 QF10", small), ("12MP", big_jpeg)):
            path = Path(tmp) / "in.jpg"
            path.write_bytes(data)
            out = subprocess.run(
                [sys.executable, __file__, "--child", str(path), "--model", model],
                capture_output=True,
                text=True,
                check=True,
            )
            row = json.loads(out.stdout.strip().splitlines()[-1])
            row["name"] = name
            rows.append(row)
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--model", default="gan", choices=["gan", "l1"])
    p.add_argument("--skip-models", action="store_true", help="only the plain pipeline")
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--megapixels", type=float, default=12.0)
    p.add_argument("--quality", type=int, default=75)
    p.add_argument("--subsampling", default="4:2:0")
    p.add_argument("--out", default=str(ROOT / "results" / "bench.json"))
    args = p.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.child:
        print(json.dumps(decode_in_process(args.child, args.model)))
        return

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
