"""The probe folder of the training logs: the `val` photos down-scaled 2× (Lanczos).

    python -m explorable_jpeg_train.prepare_probe [--src ../shared/datasets/photos/val]
                                                  [--out data_cache/val_probe]

Training configs point ``[data] val`` at it, so the learning curves in the logs
(``probe_gain_db``, ``probe_std_zrand``, ``probe_stlpips*``) are measured on held-out photos
(crops of a fixed seed, QF ``probe_quality``) rather than on training crops. Halving keeps the
folder small (1.7 MB) for GPU windows, whose carried files are limited to 64 MiB in all.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from PIL import Image

from .data import IMAGE_SUFFIXES

log = logging.getLogger(__name__)
DEFAULT_SRC = Path(__file__).resolve().parents[4].parent / "shared" / "datasets" / "photos" / "val"


def halve_folder(src: Path, out: Path) -> list[Path]:
    """Write every image of ``src`` down-scaled 2× (Lanczos, RGB PNG) into ``out``."""
    paths = sorted(p for p in src.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not paths:
        raise FileNotFoundError(f"no images in {src}")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for p in paths:
        with Image.open(p) as im:
            rgb = im.convert("RGB")
        half = rgb.resize((rgb.width // 2, rgb.height // 2), Image.Resampling.LANCZOS)
        dst = out / (p.stem + ".png")
        half.save(dst, optimize=True)
        written.append(dst)
    return written


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--src", type=Path, default=DEFAULT_SRC)
    p.add_argument("--out", type=Path, default=Path("data_cache/val_probe"))
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    written = halve_folder(args.src, args.out)
    log.info("%d probe images in %s", len(written), args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
