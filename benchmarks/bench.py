"""Benchmarks: our decoders next to libjpeg's own decode of the same file.

    nox -s bench                 # 12-megapixel 4:2:0 JPEG at quality 75, plus the networks
    nox -s bench -- --megapixels 2 --quality 90 --skip-models

1. The exact plain pipeline: wall-clock seconds of read_jpeg, decode_plain (bin centres +
   snap), check, and their sum, each as a ratio to libjpeg's decode (Pillow/libjpeg-turbo).
2. The neural decoder (default model, bundled weights): ``Decoder.decode`` (networks + snap)
   of a 512×512 colour JPEG and of the 12 MP one, each in a fresh process so that its peak
   resident memory is its own (the peak is reset at the child's start: a forked child
   otherwise inherits the parent's ru_maxrss), next to libjpeg's decode time.
3. Per device (CPU, and CUDA when ``torch.cuda.is_available()``), on a 512×512 colour QF 10
   JPEG: the gan decoder's networks (``decode_planes``), ``snap`` (planes → consistent
   uint8), ``check``, one optimisation step of the explorer (one Adam step of
   ``variance-up`` on a 128×128 selection, crop and decode included) and the convergence of
   that tool (iterations and seconds until the explorer stops, 60 s / 100 iterations at
   most), each as a ratio to libjpeg's decode time of the same file (absolute GPU times are
   meaningful on a GPU; ``--skip-explorer`` leaves this out).
Writes results/bench.json.
"""

from __future__ import annotations

import argparse
import contextlib
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


def decode_in_process(jpeg_path: str, model: str, ensemble: int | None = None) -> dict:
    """Child-process body: time Decoder.decode on a file, report seconds and peak RSS."""
    _reset_peak_rss()
    import torch

    from explorable_jpeg.decoder import Decoder

    data = Path(jpeg_path).read_bytes()
    t_lib, _ = timed(lambda: np.asarray(Image.open(io.BytesIO(data)).convert("RGB")), repeat=3)
    code = ej.read_jpeg(data)
    dec = Decoder.from_pretrained(variant=model, device="cpu")
    t_dec, image = timed(
        lambda: dec.decode(code, ensemble=ensemble), repeat=2 if code.width < 2000 else 1
    )
    with torch.inference_mode():
        t_net, _ = timed(lambda: dec.decode_planes(code, ensemble=ensemble))
    return {
        "size": f"{code.width}x{code.height}",
        "libjpeg_s": t_lib,
        "decode_s": t_dec,
        "networks_s": t_net,
        "ratio_to_libjpeg": t_dec / t_lib,
        "peak_rss_mb": _peak_rss_mb(),
        "identical_fraction": ej.check(code, image).identical_fraction,
        "threads": torch.get_num_threads(),
        "ensemble": dec.ensemble if ensemble is None else ensemble,
    }


def bench_models(
    big_jpeg: bytes, model: str, ensemble: int | None = None, big: str = "12MP"
) -> list[dict]:
    small = make_test_jpeg(512 * 512 / 1e6, 10, "4:2:0")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, data in (("512x512 QF10", small), (big, big_jpeg)):
            path = Path(tmp) / "in.jpg"
            path.write_bytes(data)
            out = subprocess.run(
                [sys.executable, __file__, "--child", str(path), "--model", model]
                + ([] if ensemble is None else ["--ensemble", str(ensemble)]),
                capture_output=True,
                text=True,
                check=True,
            )
            row = json.loads(out.stdout.strip().splitlines()[-1])
            row["name"] = name
            rows.append(row)
    return rows


def bench_explorer(device: str, max_iters: int = 100, budget_s: float = 60.0) -> dict:
    """Section 3 of the module docstring on one device."""
    import torch

    from explorable_jpeg.decoder import Decoder
    from explorable_jpeg.explorer import Explorer, rect_mask
    from explorable_jpeg.objectives import VarianceObjective
    from explorable_jpeg.snap import snap

    data = make_test_jpeg(512 * 512 / 1e6, 10, "4:2:0")
    t_lib, _ = timed(lambda: np.asarray(Image.open(io.BytesIO(data)).convert("RGB")), repeat=5)
    code = ej.read_jpeg(data)
    dec = Decoder.from_pretrained(variant="gan", device=device)
    z = dec.random_z(code, seed=0)
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)

    def planes():
        with torch.inference_mode():
            out = dec.decode_planes(code, z)
        sync()
        return out

    planes()  # warm-up
    t_net, p = timed(planes, repeat=2)
    arr = p.double().cpu().numpy()
    t_snap, image = timed(lambda: snap(arr, code))
    t_check, _ = timed(lambda: ej.check(code, image))
    mask = rect_mask((code.height, code.width), 192, 192, 320, 320)
    ex = Explorer(dec, code)
    ex.optimize(VarianceObjective(0.03), mask, max_iters=1, commit=False)  # warm-up
    sync()
    t_step, _ = timed(
        lambda: ex.optimize(VarianceObjective(0.03), mask, max_iters=1, commit=False), repeat=2
    )
    t0 = time.perf_counter()
    res = ex.apply("variance-up", mask, delta=0.03, max_iters=max_iters, budget_s=budget_s)
    sync()
    t_tool = time.perf_counter() - t0
    r = res.result
    seconds = {
        "libjpeg decode": t_lib,
        "networks (decode_planes)": t_net,
        "snap": t_snap,
        "check": t_check,
        "explorer: one optimisation step": t_step,
        "explorer: variance-up to convergence": t_tool,
    }
    return {
        "device": device,
        "name": torch.cuda.get_device_name(0) if device.startswith("cuda") else "cpu",
        "threads": torch.get_num_threads(),
        "size": f"{code.width}x{code.height} QF10 4:2:0",
        "seconds": seconds,
        "ratio_to_libjpeg": {k: v / t_lib for k, v in seconds.items()},
        "tool_iterations": r.iterations,
        "tool_loss": [r.loss_start, r.loss_best],
        "consistent": ej.check(code, ex.image).consistent,
    }


def print_explorer(row: dict) -> None:
    print(f"\n{row['name']} ({row['size']}, {row['threads']} threads), "
          f"tool: {row['tool_iterations']} iterations, loss {row['tool_loss'][0]:.4g} -> "
          f"{row['tool_loss'][1]:.4g}")  # fmt: skip
    print(f"{'step':<40}{'seconds':>10}{'× libjpeg':>12}")
    for name, t in row["seconds"].items():
        print(f"{name:<40}{t:>10.3f}{row['ratio_to_libjpeg'][name]:>12.1f}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--model", default="gan", choices=["gan", "l1"])
    p.add_argument(
        "--ensemble", type=int, choices=[1, 2, 4, 8], help="self-ensemble (default: the model's)"
    )
    p.add_argument("--skip-models", action="store_true", help="only the plain pipeline")
    p.add_argument("--skip-explorer", action="store_true", help="no snap/explorer section")
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--megapixels", type=float, default=12.0)
    p.add_argument("--quality", type=int, default=75)
    p.add_argument("--subsampling", default="4:2:0")
    p.add_argument("--out", default=str(ROOT / "results" / "bench.json"))
    args = p.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.child:
        print(json.dumps(decode_in_process(args.child, args.model, args.ensemble)))
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
    models, explorer = [], []
    if not args.skip_models:
        models = bench_models(data, args.model, args.ensemble, f"{args.megapixels:g}MP")
        size = models[0]["ensemble"] if models else 1
        ens = f", ensemble of {size}" if size > 1 else ""
        print(f"\n{args.model} decoder{ens} (CPU, fresh process each)")
        print(
            f"{'image':<14}{'decode s':>10}{'× libjpeg':>11}{'networks s':>12}{'peak RSS MB':>13}"
        )
        for r in models:
            print(f"{r['name']:<14}{r['decode_s']:>10.2f}{r['ratio_to_libjpeg']:>11.0f}"
                  f"{r['networks_s']:>12.2f}{r['peak_rss_mb']:>13.0f}")  # fmt: skip
    if not args.skip_explorer:
        import torch

        devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
        for device in devices:
            explorer.append(bench_explorer(device))
            print_explorer(explorer[-1])
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
                "model": args.model,
                "ensemble": args.ensemble,
                "models": models,
                "explorer": explorer,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
