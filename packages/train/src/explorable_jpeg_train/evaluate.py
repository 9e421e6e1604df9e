"""Quick evaluation of JPEG decoders on folders of PNG photos.

For every image and quality factor a *real* JPEG is made with :func:`explorable_jpeg.compress`
(gray: the PNG's luma via PIL ``convert("L")``; colour: RGB, 4:2:0), read back with
:func:`explorable_jpeg.read_jpeg` and decoded by each model:

* ``libjpeg`` — :func:`explorable_jpeg.libjpeg_decode` (libjpeg's own decode, the reference),
* ``plain``   — :func:`explorable_jpeg.decode_plain` (bin centres, exactly consistent),
* ``l1`` / ``gan`` — ``Decoder.from_pretrained(weights, variant).decode(code)``.

Reported per image: PSNR on Y (gray: the 8-bit image; colour: Y of the float JFIF conversion
of the RGB output vs that of the original RGB, full range, peak 255, no border crop), the PSNR
gain over libjpeg, the re-encode identity ``check(code, out).identical_fraction`` and the
decode time (one warm-up decode per model is not timed). The means over the images of a set,
per QF and model, are printed as markdown tables and everything is written as JSON.

Usage::

    python -m explorable_jpeg_train.evaluate --images /work/shared/datasets/photos/val \\
        --images data_cache/eval2 --qf 10,30,50 --models plain,l1 [--gray] [--color] \\
        [--weights PATH] [--out results/eval_quick.json]
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

import explorable_jpeg as ej
from explorable_jpeg.color import rgb_to_ycbcr

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".png", ".bmp", ".tif", ".tiff", ".ppm")
NEURAL = ("l1", "gan")
KNOWN_MODELS = ("libjpeg", "plain", *NEURAL)


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


def psnr(a: np.ndarray, b: np.ndarray, peak: float = 255.0) -> float:
    mse = float(np.mean((a - b) ** 2))
    return math.inf if mse == 0 else 10.0 * math.log10(peak * peak / mse)


def make_decoders(
    models: list[str], weights: str | None, device: str, seed: int | None
) -> dict[str, Callable[[ej.JpegCode, bytes], np.ndarray]]:
    """``name -> f(code, jpeg_bytes) -> uint8 image`` for each model; neural ones loaded once."""
    decoders: dict[str, Callable[[ej.JpegCode, bytes], np.ndarray]] = {}
    for name in models:
        if name == "libjpeg":
            decoders[name] = lambda code, data: ej.libjpeg_decode(data)
        elif name == "plain":
            decoders[name] = lambda code, data: ej.decode_plain(code)
        elif name in NEURAL:
            from explorable_jpeg.decoder import Decoder  # optional: needs torch + weights

            dec = Decoder.from_pretrained(weights, variant=name, device=device)
            decoders[name] = lambda code, data, dec=dec: np.asarray(dec.decode(code, seed=seed))
        else:
            raise ValueError(f"unknown model {name!r}; use {', '.join(KNOWN_MODELS)}")
    return decoders


def evaluate_image(
    original: np.ndarray,
    qf: int,
    decoders: dict[str, Callable[[ej.JpegCode, bytes], np.ndarray]],
    subsampling: str = "4:2:0",
) -> dict[str, dict[str, float]]:
    """Compress ``original`` (gray ``(H, W)`` or RGB) at ``qf``, decode with every model and
    return ``model -> {psnr_y, gain_db, identical_fraction, decode_s}``; libjpeg is always run
    as the reference of ``gain_db``."""
    data, _ = ej.compress(original, quality=qf, subsampling=subsampling)
    code = ej.read_jpeg(data)
    y_ref = luma(original)
    res: dict[str, dict[str, float]] = {}
    ref_psnr = psnr(luma(ej.libjpeg_decode(data)), y_ref)
    for name, dec in decoders.items():
        t0 = time.perf_counter()
        out = dec(code, data)
        dt = time.perf_counter() - t0
        if out.shape != original.shape or out.dtype != np.uint8:
            raise ValueError(
                f"{name} returned {out.dtype} {out.shape}, expected uint8 {original.shape}"
            )
        p = psnr(luma(out), y_ref)
        res[name] = {
            "psnr_y": p,
            "gain_db": p - ref_psnr,
            "identical_fraction": ej.check(code, out).identical_fraction,
            "decode_s": dt,
        }
    return res


def summarize(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Means over images per (set, mode, qf, model)."""
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for r in records:
        groups.setdefault((r["set"], r["mode"], r["qf"], r["model"]), []).append(r)
    out = []
    for (s, mode, qf, model), rs in groups.items():
        row: dict[str, Any] = {"set": s, "mode": mode, "qf": qf, "model": model, "n": len(rs)}
        for k in ("psnr_y", "gain_db", "identical_fraction", "decode_s"):
            row[k] = float(np.mean([r[k] for r in rs]))
        row["min_identical_fraction"] = float(min(r["identical_fraction"] for r in rs))
        out.append(row)
    return out


def markdown_table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| mode | QF | model | PSNR-Y (dB) | gain vs libjpeg (dB) | identical (mean / min) "
        "| decode (s) |",
        "|---|---:|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['mode']} | {r['qf']} | {r['model']} | {r['psnr_y']:.2f} | "
            f"{r['gain_db']:+.2f} | {100 * r['identical_fraction']:.3f}% / "
            f"{100 * r['min_identical_fraction']:.3f}% | {r['decode_s']:.3f} |"
        )
    return "\n".join(lines)


def _set_names(folders: list[Path]) -> list[str]:
    names = [f.name or str(f) for f in folders]
    if len(set(names)) != len(names):
        names = [str(f) for f in folders]
    return names


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--images", action="append", required=True, type=Path, help="folder of PNGs")
    ap.add_argument("--qf", default="10,30,50", help="comma-separated IJG qualities")
    ap.add_argument("--models", default="plain", help="comma-separated: libjpeg,plain,l1,gan")
    ap.add_argument("--gray", action="store_true", help="evaluate grayscale JPEGs")
    ap.add_argument("--color", action="store_true", help="evaluate colour (4:2:0) JPEGs")
    ap.add_argument("--weights", default=None, help="weights for l1/gan (default: packaged)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--seed", type=int, default=0, help="seed passed to neural decoders")
    ap.add_argument("--max-side", type=int, default=None, help="down-scale larger images")
    ap.add_argument("--out", type=Path, default=Path("results/eval_quick.json"))
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

    qfs = [int(q) for q in args.qf.split(",") if q.strip()]
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    if "libjpeg" not in models:
        models = ["libjpeg", *models]  # the reference row of every table
    modes = [m for m, on in (("gray", args.gray), ("color", args.color)) if on] or [
        "gray",
        "color",
    ]
    decoders = make_decoders(models, args.weights, args.device, args.seed)

    records: list[dict[str, Any]] = []
    set_names = _set_names(args.images)
    for folder, set_name in zip(args.images, set_names, strict=True):
        images = load_images(folder, args.max_side)
        log.info("%s: %d images", set_name, len(images))
        for mode in modes:
            originals = [(n, to_gray(im) if mode == "gray" else im) for n, im in images]
            # one untimed warm-up decode per model (lazy init, kernel caches)
            data, code = ej.compress(originals[0][1], quality=qfs[0])
            for dec in decoders.values():
                dec(code, data)
            for name, orig in originals:
                for qf in qfs:
                    res = evaluate_image(orig, qf, decoders)
                    for model, r in res.items():
                        records.append(
                            {
                                "set": set_name,
                                "mode": mode,
                                "image": name,
                                "qf": qf,
                                "model": model,
                                "height": orig.shape[0],
                                "width": orig.shape[1],
                                **r,
                            }
                        )
                    log.info(
                        "%s %s %s QF%d: %s",
                        set_name,
                        mode,
                        name,
                        qf,
                        ", ".join(f"{m} {r['psnr_y']:.2f}" for m, r in res.items()),
                    )

    summary = summarize(records)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "config": {
            "images": [str(p) for p in args.images],
            "sets": set_names,
            "qf": qfs,
            "models": models,
            "modes": modes,
            "weights": args.weights,
            "device": args.device,
            "seed": args.seed,
            "max_side": args.max_side,
            "subsampling_color": "4:2:0",
            "metric": "PSNR on Y (gray image / float JFIF Y of RGB), peak 255, no crop",
            "machine": platform.platform(),
        },
        "summary": summary,
        "per_image": records,
    }
    args.out.write_text(json.dumps(payload, indent=1))
    log.info("wrote %s", args.out)

    for set_name in set_names:
        rows = [r for r in summary if r["set"] == set_name]
        n = rows[0]["n"] if rows else 0
        print(f"\n### {set_name} ({n} images)\n")
        print(markdown_table(rows))


if __name__ == "__main__":
    main()
