"""Benchmarks: every figure as a ratio to libjpeg's own decode of the same file, same run.

    nox -s bench                           # all sections, README table left alone
    nox -s bench -- --readme               # ... and regenerate README.md's performance table
    nox -s bench -- --skip-big --skip-explorer --repeats 9     # the 512×512 figures only
    nox -s bench -- --photo path/to/photo.png                   # another photo for 512×512

Every timed step is run ``--repeats`` times, each repeat paired with libjpeg's decode of the
same file (Pillow/libjpeg-turbo to RGB) timed right before it; the ratio is taken pair by
pair, so a machine whose speed drifts (a shared CPU) moves both sides. Each figure is printed
as min / median / max of those ratios (quote the median), next to its median seconds.

1. **512×512** colour 4:2:0 JPEG at quality 10 (a committed real photo, or ``--photo``):
   ``decode_plain`` (bin centres + snap), ``snap`` of the gan networks' planes, ``check``,
   and ``Decoder.decode`` with the l1 and the gan decoder (bundled weights). The decoders
   run in a fresh process each, so that their peak resident memory is their own.
2. **Big photo** (``--megapixels``, default 12, 4:2:0, ``--quality`` 75): ``read_jpeg``,
   ``decode_plain``, ``check`` and ``Decoder.decode`` (``--model``, default gan) in a fresh
   process with its peak RSS (the kernel's counter reset at the child's start), and the
   torch threads it used.
3. **Explorer** per device (CPU, and CUDA when available), on the 512×512 file: one
   optimisation step of ``variance-up`` on a 128×128 selection, and the tool as a user
   applies it (the registry's defaults; 60 s at most) until it converges. Skipped with a
   note if the explorer's API has moved.

Writes ``results/bench.json``; ``--readme`` rewrites the block between
``<!-- bench:start -->`` and ``<!-- bench:end -->`` in README.md from it.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

import explorable_jpeg as ej

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "tests" / "fixtures" / "realworld_lomiri_picosdeeuropa.jpg"
README = ROOT / "README.md"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"
logger = logging.getLogger("bench")

TARGETS = {  # issue 24: ratio to libjpeg, or seconds / MB where stated
    "decode_plain": ("ratio", 50.0),
    "Decoder.decode l1": ("seconds", 0.3),
    "Decoder.decode gan": ("seconds", 0.4),
    "explorer: variance-up to convergence": ("seconds", 10.0),
    "big: Decoder.decode": ("seconds", 5.0),
    "big: peak RSS MB": ("mb", 1024.0),
}


def make_test_jpeg(megapixels: float, quality: int, subsampling: str, photo=None) -> bytes:
    """A photo-like test JPEG: a real photo resized (up-scaled with grain when
    ``megapixels`` exceeds it), re-compressed by libjpeg with IJG tables.

    With ``photo`` (a path) and a size at most the photo's, a centre crop is used instead,
    so that nothing but the JPEG compression touches the pixels."""
    src = Image.open(photo or SOURCE).convert("RGB")
    w = int(math.sqrt(megapixels * 1e6 * 4 / 3))
    h = int(w * 3 / 4)
    if megapixels * 1e6 <= 512 * 512 + 1:
        w = h = int(round(math.sqrt(megapixels * 1e6)))
    if photo is not None and w <= src.width and h <= src.height:
        x0, y0 = (src.width - w) // 2, (src.height - h) // 2
        pixels = np.asarray(src)[y0 : y0 + h, x0 : x0 + w]
    else:
        big = np.asarray(src.resize((w, h), Image.Resampling.LANCZOS), dtype=np.float64)
        big += np.random.default_rng(0).normal(0, 4, big.shape)
        pixels = np.clip(big, 0, 255).astype(np.uint8)
    data, _ = ej.compress(np.ascontiguousarray(pixels), quality=quality, subsampling=subsampling)
    return data


def libjpeg_decoder(data: bytes) -> Callable[[], np.ndarray]:
    """libjpeg-turbo's decode of ``data`` to RGB (through Pillow), the yardstick."""
    return lambda: np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def _clock(fn: Callable[[], object]) -> tuple[float, object]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def _cpu_clock(fn: Callable[[], object]) -> tuple[float, float, object]:
    """Wall and CPU seconds (this process, all threads) of one call."""
    c, t = time.process_time(), time.perf_counter()
    out = fn()
    return time.perf_counter() - t, time.process_time() - c, out


def _libjpeg_seconds(lib: Callable[[], object]) -> float:
    """One libjpeg figure: the median of enough back-to-back decodes to fill ≥ 20 ms
    (a 512×512 decode takes well under a millisecond; one call alone is timer noise)."""
    first, _ = _clock(lib)
    n = max(3, min(200, int(0.02 / max(first, 1e-6))))
    _libjpeg_seconds.calls = n + 1  # for the caller's mean CPU time per call
    return statistics.median(_clock(lib)[0] for _ in range(n))


_libjpeg_seconds.calls = 1


def _stats(values: list[float]) -> dict:
    return {"min": min(values), "median": statistics.median(values), "max": max(values)}


def paired(fn: Callable[[], object], lib: Callable[[], object], repeats: int, warmup: int = 1):
    """Time ``fn`` ``repeats`` times, each run paired with libjpeg's decode timed just before.

    Returns ``(figure, last output)``: ``figure`` holds min/median/max of the seconds, of
    libjpeg's seconds and of the pair-by-pair ratio."""
    out = None
    for _ in range(warmup):
        out = fn()
        lib()
    secs, libs, ratios, cpu_ratios = [], [], [], []
    for _ in range(repeats):
        c0 = time.process_time()
        t_lib = _libjpeg_seconds(lib)
        c_lib = (time.process_time() - c0) / _libjpeg_seconds.calls
        t, c, out = _cpu_clock(fn)
        secs.append(t)
        libs.append(t_lib)
        ratios.append(t / t_lib)
        cpu_ratios.append(c / max(c_lib, 1e-9))
    fig = {"seconds": _stats(secs), "libjpeg_s": _stats(libs), "ratio": _stats(ratios)}
    # CPU seconds (all threads) over libjpeg's: less moved by other load than wall time
    fig["cpu_ratio"] = _stats(cpu_ratios)
    fig["repeats"] = repeats
    return fig, out


def _reset_peak_rss() -> None:
    """Reset the kernel's peak-RSS counter (VmHWM) of this process (Linux ≥ 4.0)."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def _peak_rss_mb() -> float:
    """VmHWM from /proc/self/status (after :func:`_reset_peak_rss`), else ru_maxrss."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def decode_in_process(jpeg_path: str, model: str, repeats: int, ensemble: int | None) -> dict:
    """Child-process body: ``Decoder.decode`` of a file paired with libjpeg's decode, its
    network share (``decode_planes``) and the process's peak RSS."""
    _reset_peak_rss()
    import torch

    from explorable_jpeg.decoding.decoder import Decoder

    data = Path(jpeg_path).read_bytes()
    lib = libjpeg_decoder(data)
    code = ej.read_jpeg(data)
    dec = Decoder.from_pretrained(variant=model, device="cpu")
    big = code.width * code.height > 4_000_000
    fig, image = paired(lambda: dec.decode(code, ensemble=ensemble), lib, repeats, 0 if big else 1)
    with torch.inference_mode():
        t_net, _ = _clock(lambda: dec.decode_planes(code, ensemble=ensemble))
    return {
        "size": f"{code.width}x{code.height}",
        "decode": fig,
        "networks_s": t_net,
        "peak_rss_mb": _peak_rss_mb(),
        "identical_fraction": ej.check(code, image).identical_fraction,
        "threads": torch.get_num_threads(),
        "ensemble": dec.ensemble if ensemble is None else ensemble,
    }


def run_child(data: bytes, model: str, repeats: int, ensemble: int | None = None) -> dict:
    """:func:`decode_in_process` in a fresh interpreter (its own peak RSS)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "in.jpg"
        path.write_bytes(data)
        cmd = [sys.executable, __file__, "--child", str(path), "--model", model]
        cmd += ["--repeats", str(repeats)]
        cmd += [] if ensemble is None else ["--ensemble", str(ensemble)]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench_small(data: bytes, repeats: int, skip_models: bool) -> dict:
    """Section 1 of the module docstring."""
    import torch

    from explorable_jpeg.decoding.decoder import Decoder
    from explorable_jpeg.snap.pipeline import snap

    lib = libjpeg_decoder(data)
    code = ej.read_jpeg(data)
    figs: dict[str, dict] = {}
    figs["decode_plain"], image = paired(lambda: ej.decode_plain(code), lib, repeats)
    figs["check"], report = paired(lambda: ej.check(code, image), lib, repeats)
    gan = Decoder.from_pretrained(variant="gan", device="cpu")
    with torch.inference_mode():
        planes = gan.decode_planes(code, gan.random_z(code, seed=0)).double().numpy()
    figs["snap (gan planes)"], snapped = paired(lambda: snap(planes, code), lib, repeats)
    identical = {
        "decode_plain": report.identical_fraction,
        "snap (gan planes)": ej.check(code, snapped).identical_fraction,
    }
    children = {}
    if not skip_models:
        for model in ("l1", "gan"):
            row = run_child(data, model, repeats)
            children[model] = row
            figs[f"Decoder.decode {model}"] = row["decode"]
            identical[f"Decoder.decode {model}"] = row["identical_fraction"]
    return {
        "size": f"{code.width}x{code.height}",
        "quality": 10,
        "subsampling": code.subsampling,
        "figures": figs,
        "identical_fraction": identical,
        "children": children,
    }


def bench_big(data: bytes, model: str, skip_models: bool, ensemble: int | None) -> dict:
    """Section 2 of the module docstring (one run of each step: they take seconds)."""
    lib = libjpeg_decoder(data)
    figs: dict[str, dict] = {}
    figs["big: read_jpeg"], code = paired(lambda: ej.read_jpeg(data), lib, 1, 0)
    figs["big: decode_plain"], image = paired(lambda: ej.decode_plain(code), lib, 1, 0)
    figs["big: check"], report = paired(lambda: ej.check(code, image), lib, 1, 0)
    out = {
        "size": f"{code.width}x{code.height}",
        "megapixels": code.width * code.height / 1e6,
        "subsampling": code.subsampling,
        "figures": figs,
        "identical_fraction": {"big: decode_plain": report.identical_fraction},
    }
    if not skip_models:
        row = run_child(data, model, 1, ensemble)
        figs["big: Decoder.decode"] = row["decode"]
        out["identical_fraction"]["big: Decoder.decode"] = row["identical_fraction"]
        out["model"], out["child"] = model, row
    return out


def bench_explorer(data: bytes, device: str, budget_s: float = 60.0):
    """Section 3 of the module docstring on one device."""
    import torch

    from explorable_jpeg.decoding.decoder import Decoder
    from explorable_jpeg.explore import Explorer, rect_mask
    from explorable_jpeg.explore.objectives import VarianceObjective

    lib = libjpeg_decoder(data)
    code = ej.read_jpeg(data)
    dec = Decoder.from_pretrained(variant="gan", device=device)
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    mask = rect_mask((code.height, code.width), 192, 192, 320, 320)
    ex = Explorer(dec, code)

    def step():
        ex.optimize(VarianceObjective(0.03), mask, max_iters=1, commit=False)
        sync()

    figs = {}
    figs["explorer: one optimisation step"], _ = paired(step, lib, 2)

    def tool():
        res = ex.apply("variance-up", mask, budget_s=budget_s)  # the registry's defaults
        sync()
        return res

    figs["explorer: variance-up to convergence"], res = paired(tool, lib, 1, 0)
    r = res.result
    return {
        "device": device,
        "name": torch.cuda.get_device_name(0) if device.startswith("cuda") else "cpu",
        "threads": torch.get_num_threads(),
        "figures": figs,
        "tool_iterations": r.iterations,
        "tool_loss": [r.loss_start, r.loss_best],
        "consistent": ej.check(code, ex.image).consistent,
    }


def _target_note(name: str, fig: dict) -> str:
    key = name if name in TARGETS else name.split(" (")[0]
    if key not in TARGETS:
        return ""
    kind, bound = TARGETS[key]
    value = fig["ratio"]["median"] if kind == "ratio" else fig["seconds"]["median"]
    unit = f"×{bound:g}" if kind == "ratio" else f"{bound:g} s"
    return f"{'met' if value <= bound else 'missed'} (≤ {unit})"


def table(result: dict) -> list[str]:
    """Markdown rows: one per figure, ratios to libjpeg as min / median / max."""
    rows = [
        "| step | image | seconds (median) | × libjpeg min / median / max | CPU × libjpeg "
        "(median) | target |",
        "|---|---|---:|---:|---:|---|",
    ]
    sections = [result["small"], result.get("big") or {}] + result.get("explorer", [])
    for sec in sections:
        if not sec or "figures" not in sec:
            continue
        image = sec.get("size", "512x512")
        if "device" in sec:
            image = f"512x512, {sec['device']}"
        for name, fig in sec["figures"].items():
            r = fig["ratio"]
            rows.append(
                f"| {name} | {image} | {fig['seconds']['median']:.3f} | "
                f"{r['min']:.0f} / **{r['median']:.0f}** / {r['max']:.0f} | "
                f"{fig['cpu_ratio']['median']:.0f} | {_target_note(name, fig)} |"
            )
    big = result.get("big") or {}
    if "child" in big:
        mb = big["child"]["peak_rss_mb"]
        ok = "met" if mb <= TARGETS["big: peak RSS MB"][1] else "missed"
        rows.append(f"| big: peak RSS of Decoder.decode | {big['size']} | {mb:.0f} MB | | | "
                    f"{ok} (≤ 1024 MB) |")  # fmt: skip
    return rows


def write_readme(result: dict) -> None:
    """Replace the README block between the bench markers with :func:`table`."""
    text = README.read_text()
    if START not in text or END not in text:
        raise SystemExit(f"README.md has no {START} … {END} block")
    small = result["small"]
    ident = ", ".join(f"{k} {v:.4%}" for k, v in small["identical_fraction"].items())
    body = [
        START,
        "Generated by `nox -s bench -- --readme` (`benchmarks/bench.py`) — do not edit by hand.",
        "",
        f"{result['machine']} (at the end: {result.get('load_at_end', '?')}: other "
        "processes share these cores, so read the spread); "
        f"{result['repeats']} repeats, each paired with libjpeg-turbo's "
        f"decode of the same file (Pillow); min / median / max of the pair-by-pair ratios. "
        f"512×512: {small['subsampling']} quality 10 ({result['photo']}); "
        f"identical coefficients: {ident}.",
        "",
        *table(result),
        END,
    ]
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    README.write_text(head + "\n".join(body) + tail)


def _machine() -> str:
    import torch

    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"{platform.machine()} {os.cpu_count()} CPUs, torch {torch.__version__} "
        f"({torch.get_num_threads()} threads), load average {load} at the start"
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--model", default="gan", choices=["gan", "l1"], help="big-photo decoder")
    p.add_argument(
        "--ensemble", type=int, choices=[1, 2, 4, 8], help="self-ensemble (default: the model's)"
    )
    p.add_argument("--repeats", type=int, default=5, help="paired repeats of each small step")
    p.add_argument("--photo", help="photo for the 512×512 file (centre crop; default: fixture)")
    p.add_argument("--skip-models", action="store_true", help="no Decoder.decode rows")
    p.add_argument("--skip-big", action="store_true", help="no big-photo section")
    p.add_argument("--skip-explorer", action="store_true", help="no explorer section")
    p.add_argument("--readme", action="store_true", help="regenerate README.md's table")
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--megapixels", type=float, default=12.0)
    p.add_argument("--quality", type=int, default=75)
    p.add_argument("--subsampling", default="4:2:0")
    p.add_argument("--out", default=str(ROOT / "results" / "bench.json"))
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.child:
        row = decode_in_process(args.child, args.model, args.repeats, args.ensemble)
        print(json.dumps(row))
        return

    result: dict = {"machine": _machine(), "repeats": args.repeats}
    result["photo"] = Path(args.photo).name if args.photo else SOURCE.name
    small = make_test_jpeg(512 * 512 / 1e6, 10, "4:2:0", args.photo)
    result["small"] = bench_small(small, args.repeats, args.skip_models)
    if not args.skip_big:
        data = make_test_jpeg(args.megapixels, args.quality, args.subsampling)
        result["big"] = bench_big(data, args.model, args.skip_models, args.ensemble)
    result["explorer"] = []
    if not args.skip_explorer:
        import torch

        for device in ["cpu"] + (["cuda"] if torch.cuda.is_available() else []):
            try:
                result["explorer"].append(bench_explorer(small, device))
            except (ImportError, AttributeError, TypeError) as exc:  # the API moved
                logger.warning("explorer section skipped on %s: %s", device, exc)
                result["explorer"].append({"device": device, "skipped": str(exc)})
    result["load_at_end"] = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    for line in table(result):
        logger.info("%s", line)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    logger.info("wrote %s", out)
    if args.readme:
        write_readme(result)
        logger.info("updated %s", README)


if __name__ == "__main__":
    main()
