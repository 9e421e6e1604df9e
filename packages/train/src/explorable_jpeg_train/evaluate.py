"""Evaluation of JPEG decoders on folders of lossless photos (``nox -s eval``).

For every image and quality factor a *real* JPEG is made with :func:`explorable_jpeg.compress`
(gray: the PNG's luma via PIL ``convert("L")``; colour: RGB, 4:2:0), read back with
:func:`explorable_jpeg.read_jpeg` and decoded by each model:

* ``libjpeg`` — :func:`explorable_jpeg.libjpeg_decode` (libjpeg's own decode, the reference),
* ``jpegqs``  — the ``jpegqs`` command (Debian package ``jpegqs``, "JPEG Quant Smooth", a
  classical smoother that keeps coefficients in their bins), its output decoded by libjpeg
  (skipped with a message when the command is absent),
* ``plain``   — :func:`explorable_jpeg.decode_plain` (bin centres, exactly consistent),
* ``l1`` / ``gan`` — ``Decoder.from_pretrained(weights, variant).decode(code, z)``; the gan
  is decoded with ``--z-samples`` random z per image (seeds 0, 1, …) and its scores are the
  means over them (the paper used 50).

Reported per image (metrics in :mod:`explorable_jpeg_train.metrics`): PSNR-Y, PSNR-B
(Yim & Bovik's blocking-aware PSNR), SSIM (all on Y: the gray image or the float JFIF Y of
RGB, peak 255, no border crop), ST-LPIPS (RGB; when ``stlpips-pytorch`` is installed), the
PSNR gain over libjpeg, diversity (mean per-pixel std of Y over the random z; 0 for
deterministic decoders), re-encode identity ``check(code, out).identical_fraction`` and the
decode time (one untimed warm-up decode per model). LPIPS and NIQE are not computed (see
:func:`explorable_jpeg_train.metrics.unavailable_metrics`, whose reasons go into the report).

Outputs: ``--out`` (JSON, default ``results/eval.json``), the same name with ``.md`` (the
tables) and ``eval_<set>.png`` plots of every metric against QF beside it.

``--paper`` also runs the paper reproduction (:mod:`explorable_jpeg_train.paper`: the
supplementary's Sec. D chroma-model check, the Fig. 18-style spread of decodings against QF
and the digit-exploration figure) into ``paper.json`` / ``paper.md`` / PNGs.

Usage::

    python -m explorable_jpeg_train.evaluate [--images DIR ...] [--qf 5,10,20,30,40,50] \\
        [--models libjpeg,jpegqs,plain,l1x1,l1,l1x8,gan] [--gray] [--color] [--z-samples 4] \\
        [--max-side 512] [--quick] [--paper] [--weights PATH] [--out results/eval.json]

``l1x8`` (``l1x1``, ``l1x2``, ``l1x4``; ``gan…`` alike) is the l1 decoder with a self-ensemble
of 8 (1, 2, 4) flipped/transposed views of the code (:mod:`explorable_jpeg.ops.symmetry`); a bare
``l1`` or ``gan`` is the decoder as shipped, with its ``config.json``'s own ensemble (bundled
l1: 2, gan: 1), so ``l1x1`` is the bare network.

Default images: ``../shared/datasets/photos/val`` and ``data_cache/eval2`` (made by
``python -m explorable_jpeg_train.prepare_eval2``), each reported separately.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import platform
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

import explorable_jpeg as ej

from . import metrics as M
from .eval_data import REPO, load_images, luma, to_gray

log = logging.getLogger(__name__)

NEURAL = ("l1", "gan")
KNOWN_MODELS = ("libjpeg", "jpegqs", "plain", *NEURAL)
DEFAULT_MODELS = "libjpeg,jpegqs,plain,l1x1,l1,l1x8,gan"
DEFAULT_SETS = (REPO.parent / "shared/datasets/photos/val", REPO / "data_cache/eval2")
METRIC_KEYS = ("psnr_y", "psnr_b", "ssim", "stlpips", "stlpips_vgg", "gain_db", "diversity")
OTHER_KEYS = ("identical_fraction", "decode_s")
LABELS = {
    "psnr_y": "PSNR-Y (dB) ↑",
    "psnr_b": "PSNR-B (dB) ↑",
    "ssim": "SSIM ↑",
    "stlpips": "ST-LPIPS ↓",
    "stlpips_vgg": "ST-LPIPS (VGG) ↓",
    "gain_db": "PSNR gain vs libjpeg (dB)",
    "diversity": "diversity: std over z (grey levels)",
}

# name -> f(code, jpeg_bytes, seed) -> uint8 image
DecodeFn = Callable[[ej.JpegCode, bytes, int], np.ndarray]


psnr = M.psnr  # kept importable from here


def jpegqs_decode(data: bytes, gray: bool, exe: str = "jpegqs") -> np.ndarray:
    """Smooth a JPEG with the ``jpegqs`` CLI (default quality 3, one thread) and decode the
    resulting JPEG with libjpeg (Pillow)."""
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "in.jpg", Path(tmp) / "out.jpg"
        src.write_bytes(data)
        subprocess.run(
            [exe, "--info", "0", "--threads", "1", str(src), str(dst)],
            check=True,
            capture_output=True,
        )
        with Image.open(dst) as im:
            return np.asarray(im.convert("L" if gray else "RGB"))


def make_decoders(
    models: list[str], weights: str | None, device: str, seed: int | None
) -> dict[str, DecodeFn]:
    """``name -> f(code, jpeg_bytes, seed) -> uint8 image``; neural ones loaded once.

    ``jpegqs`` is dropped with a warning when the command is not installed.
    """
    decoders: dict[str, DecodeFn] = {}
    for name in models:
        if name == "libjpeg":
            decoders[name] = lambda code, data, s: ej.libjpeg_decode(data)
        elif name == "jpegqs":
            exe = shutil.which("jpegqs")
            if exe is None:
                log.warning("jpegqs skipped: command not found (apt-get install jpegqs)")
                continue
            decoders[name] = lambda code, data, s, exe=exe: jpegqs_decode(
                data, not code.is_color, exe
            )
        elif name == "plain":
            decoders[name] = lambda code, data, s: ej.decode_plain(code)
        elif name.split("x")[0] in NEURAL:
            from explorable_jpeg.decoding.decoder import Decoder  # optional: needs torch + weights

            variant, ens = _neural_name(name)
            dec = Decoder.from_pretrained(weights, variant=variant, device=device)
            if variant == "gan" and dec.z_channels:
                decoders[name] = lambda code, data, s, dec=dec, e=ens: np.asarray(
                    dec.decode(code, seed=s, ensemble=e)
                )
            else:
                decoders[name] = lambda code, data, s, dec=dec, e=ens: np.asarray(
                    dec.decode(code, seed=seed, ensemble=e)
                )
        else:
            raise ValueError(f"unknown model {name!r}; use {', '.join(KNOWN_MODELS)}")
    return decoders


def _neural_name(name: str) -> tuple[str, int | None]:
    """``"l1"`` → ``("l1", None)``: the decoder as shipped, with its own self-ensemble
    (``config.json``'s ``"ensemble"``); ``"l1x8"`` → ``("l1", 8)``: a self-ensemble of 8
    flipped/transposed views (:mod:`explorable_jpeg.ops.symmetry`); ``"l1x1"``: the bare network."""
    variant, x, ens = name.partition("x")
    if variant not in NEURAL or (x and ens not in ("1", "2", "4", "8")):
        raise ValueError(f"unknown model {name!r}; use {', '.join(KNOWN_MODELS)} (l1x8: ensemble)")
    return variant, int(ens) if ens else None


def evaluate_image(
    original: np.ndarray,
    qf: int,
    decoders: dict[str, DecodeFn],
    subsampling: str = "4:2:0",
    z_samples: int = 1,
    stlpips: M.STLPIPS | None = None,
    seed: int = 0,
    stlpips_vgg: M.STLPIPS | None = None,
) -> dict[str, dict[str, float]]:
    """Compress ``original`` (gray ``(H, W)`` or RGB) at ``qf``, decode with every model and
    return ``model -> {psnr_y, psnr_b, ssim, stlpips, gain_db, diversity, identical_fraction,
    min_identical_fraction, decode_s}`` (``gan``: means over ``z_samples`` random z, seeds
    ``seed, seed+1, …``). libjpeg is always run as the reference of ``gain_db``."""
    data, _ = ej.compress(original, quality=qf, subsampling=subsampling)
    code = ej.read_jpeg(data)
    y_ref = luma(original)
    res: dict[str, dict[str, float]] = {}
    ref_psnr = M.psnr(luma(ej.libjpeg_decode(data)), y_ref)
    for name, dec in decoders.items():
        n = max(1, z_samples) if name.startswith("gan") else 1
        outs, times = [], []
        for k in range(n):
            t0 = time.perf_counter()
            out = dec(code, data, seed + k)
            times.append(time.perf_counter() - t0)
            if out.shape != original.shape or out.dtype != np.uint8:
                raise ValueError(
                    f"{name} returned {out.dtype} {out.shape}, expected uint8 {original.shape}"
                )
            outs.append(out)
        ys = [luma(o) for o in outs]
        per = {
            "psnr_y": [M.psnr(y, y_ref) for y in ys],
            "psnr_b": [M.psnr_b(y_ref, y) for y in ys],
            "ssim": [M.ssim(y_ref, y) for y in ys],
        }
        if stlpips is not None:
            per["stlpips"] = [stlpips(original, o) for o in outs]
        if stlpips_vgg is not None:
            per["stlpips_vgg"] = [stlpips_vgg(original, o) for o in outs]
        ident = [ej.check(code, o).identical_fraction for o in outs]
        r = {k: float(np.mean(v)) for k, v in per.items()}
        r["gain_db"] = r["psnr_y"] - ref_psnr
        r["diversity"] = M.diversity(ys)
        r["identical_fraction"] = float(np.mean(ident))
        r["min_identical_fraction"] = float(min(ident))
        r["decode_s"] = float(np.mean(times))
        r["samples"] = n
        res[name] = r
    return res


def summarize(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Means over images per (set, mode, qf, model)."""
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for r in records:
        groups.setdefault((r["set"], r["mode"], r["qf"], r["model"]), []).append(r)
    out = []
    for (s, mode, qf, model), rs in groups.items():
        row: dict[str, Any] = {"set": s, "mode": mode, "qf": qf, "model": model, "n": len(rs)}
        for k in (*METRIC_KEYS, *OTHER_KEYS):
            vals = [r[k] for r in rs if r.get(k) is not None]
            row[k] = float(np.mean(vals)) if vals else None
        row["min_identical_fraction"] = float(
            min(r.get("min_identical_fraction", r["identical_fraction"]) for r in rs)
        )
        out.append(row)
    return out


def _fmt(v, spec: str, dash: str = "—") -> str:
    return dash if v is None or (isinstance(v, float) and math.isnan(v)) else format(v, spec)


def markdown_table(rows: list[dict[str, Any]]) -> str:
    """One line per row; the ST-LPIPS (VGG) column only when some row has it."""
    vgg = any(r.get("stlpips_vgg") is not None for r in rows)
    lines = [
        "| mode | QF | model | PSNR-Y (dB) | PSNR-B (dB) | SSIM | ST-LPIPS "
        + ("| ST-LPIPS (VGG) " if vgg else "")
        + "| gain vs libjpeg (dB) | diversity | identical (mean / min) | decode (ms) |",
        "|---|---:|---|---:|---:|---:|---:|" + ("---:|" if vgg else "") + "---:|---:|---:|---:|",
    ]
    for r in rows:
        div = r.get("diversity")
        vcol = f"{_fmt(r.get('stlpips_vgg'), '.4f')} | " if vgg else ""
        lines.append(
            f"| {r['mode']} | {r['qf']} | {r['model']} | {_fmt(r['psnr_y'], '.2f')} | "
            f"{_fmt(r.get('psnr_b'), '.2f')} | {_fmt(r.get('ssim'), '.4f')} | "
            f"{_fmt(r.get('stlpips'), '.4f')} | {vcol}{_fmt(r['gain_db'], '+.2f')} | "
            f"{_fmt(div if div else None, '.2f')} | "
            f"{100 * r['identical_fraction']:.3f}% / {100 * r['min_identical_fraction']:.3f}% | "
            f"{1000 * r['decode_s']:.1f} |"
        )
    return "\n".join(lines)


def plot_curves(summary: list[dict[str, Any]], set_name: str, path: Path) -> Path | None:
    """Every metric against QF, one line per model, rows gray / colour (like the seed's
    Fig. 15–16). Returns the path, or None when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log.warning("plots skipped: matplotlib is not installed (pip install matplotlib)")
        return None
    rows = [r for r in summary if r["set"] == set_name]
    modes = sorted({r["mode"] for r in rows}, key=["gray", "color"].index)
    keys = [k for k in ("psnr_y", "psnr_b", "ssim", "stlpips", "diversity")
            if any(r.get(k) is not None for r in rows)]  # fmt: skip
    models = list(dict.fromkeys(r["model"] for r in rows))
    fig, axes = plt.subplots(
        len(modes), len(keys), figsize=(3.6 * len(keys), 3.0 * len(modes)), squeeze=False
    )
    for i, mode in enumerate(modes):
        for j, k in enumerate(keys):
            ax = axes[i][j]
            for m in models:
                pts = sorted((r["qf"], r[k]) for r in rows if r["mode"] == mode and r["model"] == m)
                pts = [(q, v) for q, v in pts if v is not None]
                if k == "diversity" and not any(v for _, v in pts):
                    continue
                if pts:
                    ax.plot(*zip(*pts, strict=True), marker="o", ms=3, label=m)
            ax.set_title(f"{set_name} {mode}: {LABELS[k]}", fontsize=8)
            ax.set_xlabel("JPEG quality factor", fontsize=8)
            ax.tick_params(labelsize=7)
            ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _set_names(folders: list[Path]) -> list[str]:
    names = [f.name or str(f) for f in folders]
    if len(set(names)) != len(names):
        names = [str(f) for f in folders]
    return names


def default_image_sets() -> list[Path]:
    """val and eval2; eval2 is skipped with a message when it has not been prepared."""
    out = []
    for folder in DEFAULT_SETS:
        if folder.is_dir():
            out.append(folder)
        elif folder.name == "eval2":
            log.warning(
                "eval2 skipped: %s is missing (python -m explorable_jpeg_train.prepare_eval2)",
                folder,
            )
        else:
            log.warning("%s is missing", folder)
    if not out:
        raise SystemExit("no image folder found: pass --images DIR")
    return out


def write_markdown(payload: dict[str, Any], path: Path) -> str:
    cfg = payload["config"]
    lines = [
        "# Evaluation",
        "",
        f"Images: {', '.join(cfg['images'])} (max side {cfg['max_side']}); "
        f"QF {', '.join(map(str, cfg['qf']))}; gan: mean over {cfg['z_samples']} random z "
        f"per image; device {cfg['device']}; {cfg['machine']}.",
        "",
        "PSNR-Y, PSNR-B (Yim & Bovik 2011) and SSIM on Y (gray image / float JFIF Y of RGB), "
        "peak 255, no crop; ST-LPIPS on RGB ("
        + (cfg.get("stlpips") or "not available")
        + "); diversity = mean per-pixel std of Y over the z samples; identical = share of "
        "coefficients a re-encode reproduces; decode time = wall-clock per decode.",
        "",
    ]
    for name, why in cfg.get("not_computed", {}).items():
        lines.append(f"* not computed — {name}: {why}")
    for note in cfg.get("notes", []):
        lines.append(f"* {note}")
    for set_name in cfg["sets"]:
        rows = [r for r in payload["summary"] if r["set"] == set_name]
        n = rows[0]["n"] if rows else 0
        lines += ["", f"## {set_name} ({n} images)", "", markdown_table(rows)]
    text = "\n".join(lines) + "\n"
    path.write_text(text)
    return text


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--images", action="append", type=Path, help="folder of PNGs (repeatable)")
    ap.add_argument("--qf", default="10,30,50", help="comma-separated IJG qualities")
    ap.add_argument("--models", default=DEFAULT_MODELS, help="comma-separated: " + DEFAULT_MODELS)
    ap.add_argument("--gray", action="store_true", help="evaluate grayscale JPEGs")
    ap.add_argument("--color", action="store_true", help="evaluate colour (4:2:0) JPEGs")
    ap.add_argument("--weights", default=None, help="weights for l1/gan (default: packaged)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--seed", type=int, default=0, help="first z seed (gan) / seed for l1")
    ap.add_argument("--z-samples", type=int, default=8, help="random z per image (paper: 50)")
    ap.add_argument("--max-side", type=int, default=None, help="down-scale larger images")
    ap.add_argument("--max-images", type=int, default=None, help="first N images of each set")
    ap.add_argument("--no-stlpips", action="store_true", help="skip ST-LPIPS")
    ap.add_argument(
        "--stlpips-vgg",
        action="store_true",
        help="also ST-LPIPS with the VGG network (a second opinion when a model was trained "
        "with the AlexNet one)",
    )
    ap.add_argument("--no-plots", action="store_true")
    ap.add_argument("--quick", action="store_true",
                    help="smoke test: 2 images at 96 px, QF 10, 2 z samples (seconds)")  # fmt: skip
    ap.add_argument("--paper", action="store_true", help="also run the paper reproduction")
    ap.add_argument("--out", type=Path, default=Path("results/eval.json"))
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

    if args.quick:
        args.max_side = args.max_side or 96
        args.max_images = args.max_images or 2
        args.z_samples = min(args.z_samples, 2)
        if args.qf == ap.get_default("qf"):
            args.qf = "10"
    folders = args.images or default_image_sets()
    qfs = [int(q) for q in args.qf.split(",") if q.strip()]
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    if "libjpeg" not in models:
        models = ["libjpeg", *models]  # the reference row of every table
    modes = [m for m, on in (("gray", args.gray), ("color", args.color)) if on] or [
        "gray",
        "color",
    ]
    decoders = make_decoders(models, args.weights, args.device, args.seed)
    not_computed = M.unavailable_metrics()
    stl = stl_vgg = None
    if args.no_stlpips:
        not_computed["stlpips"] = "skipped (--no-stlpips)"
    else:
        try:
            stl = M.STLPIPS(args.device)
            stl_vgg = M.STLPIPS(args.device, net="vgg") if args.stlpips_vgg else None
        except RuntimeError as exc:
            log.warning("ST-LPIPS skipped: %s", exc)
            not_computed["stlpips"] = str(exc)
    for name, why in not_computed.items():
        log.warning("not computed: %s: %s", name, why)

    records: list[dict[str, Any]] = []
    set_names = _set_names(folders)
    for folder, set_name in zip(folders, set_names, strict=True):
        images = load_images(folder, args.max_side)[: args.max_images]
        log.info("%s: %d images", set_name, len(images))
        for mode in modes:
            originals = [(n, to_gray(im) if mode == "gray" else im) for n, im in images]
            # one untimed warm-up decode per model (lazy init, kernel caches)
            data, code = ej.compress(originals[0][1], quality=qfs[0])
            for dec in decoders.values():
                dec(code, data, args.seed)
            for name, orig in originals:
                for qf in qfs:
                    res = evaluate_image(
                        orig,
                        qf,
                        decoders,
                        z_samples=args.z_samples,
                        stlpips=stl,
                        seed=args.seed,
                        stlpips_vgg=stl_vgg,
                    )
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
    notes = []
    if "jpegqs" in models and "jpegqs" not in decoders:
        notes.append("jpegqs skipped: command not found (apt-get install jpegqs)")
    payload = {
        "config": {
            "images": [str(p) for p in folders],
            "sets": set_names,
            "qf": qfs,
            "models": list(decoders),
            "modes": modes,
            "weights": args.weights,
            "device": args.device,
            "seed": args.seed,
            "z_samples": args.z_samples,
            "max_side": args.max_side,
            "max_images": args.max_images,
            "quick": args.quick,
            "subsampling_color": "4:2:0",
            "metric": "PSNR-Y/PSNR-B/SSIM on Y (gray image / float JFIF Y of RGB), peak 255, "
            "no crop; ST-LPIPS on RGB",
            "stlpips": stl.source if stl is not None else None,
            "stlpips_vgg": stl_vgg.source if stl_vgg is not None else None,
            "not_computed": not_computed,
            "notes": notes,
            "machine": platform.platform(),
        },
        "summary": summary,
        "per_image": records,
    }
    args.out.write_text(json.dumps(payload, indent=1))
    md = write_markdown(payload, args.out.with_suffix(".md"))
    log.info("wrote %s and %s", args.out, args.out.with_suffix(".md"))
    if not args.no_plots:
        for set_name in set_names:
            safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in set_name)
            p = plot_curves(summary, set_name, args.out.parent / f"{args.out.stem}_{safe}.png")
            if p:
                log.info("wrote %s", p)
    print(md)

    if args.paper:
        from . import paper

        paper.main(
            folders=folders,
            out_dir=args.out.parent,
            weights=args.weights,
            device=args.device,
            quick=args.quick,
            z_samples=args.z_samples,
        )


if __name__ == "__main__":
    main()
