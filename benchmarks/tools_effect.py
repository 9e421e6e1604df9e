"""Effect and time of every exploration tool on a real photo with the shipped model.

    PYTHONPATH=packages/core/src python benchmarks/tools_effect.py [--jpeg FILE] [--budget 10]

For each tool: wall-clock time of ``Explorer.apply`` on a 128×128 selection (CPU), the
statistic the tool targets inside the selection before → after, the mean absolute change
inside and outside the selection, and whether the output re-encodes to the file (``check``).
Writes results/tools_effect.json and prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

import explorable_jpeg as ej
from explorable_jpeg.decoding.decoder import Decoder
from explorable_jpeg.explore import Explorer
from explorable_jpeg.ops.color import rgb_to_ycbcr

ROOT = Path(__file__).resolve().parents[1]


def gray(img: np.ndarray) -> np.ndarray:
    return rgb_to_ycbcr(img.astype(np.float64))[..., 0] if img.ndim == 3 else img.astype(float)


def local_std(y: np.ndarray, k: int = 7) -> float:
    from numpy.lib.stride_tricks import sliding_window_view

    return float(sliding_window_view(y, (k, k)).std(axis=(-2, -1)).mean())


def tv(y: np.ndarray) -> float:
    return float(np.abs(np.diff(y, axis=0)).mean() + np.abs(np.diff(y, axis=1)).mean())


def period_error(y: np.ndarray, p: int = 8) -> float:
    return float(np.abs(y[:, p:] - y[:, :-p]).mean())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument(
        "--jpeg",
        default=str(ROOT / "packages/app/src/explorable_jpeg_app/examples/raindrops_q20.jpg"),
    )
    ap.add_argument("--budget", type=float, default=10.0)
    ap.add_argument("--out", default=str(ROOT / "results" / "tools_effect.json"))
    args = ap.parse_args()
    code = ej.read_jpeg(args.jpeg)
    start = ej.check(code, Explorer(Decoder.from_pretrained(variant="gan"), code).image)
    print(f"{args.jpeg}: {code}; starting decode {100 * start.identical_fraction:.4f}% identical")
    dec = Decoder.from_pretrained(variant="gan", device="cpu")
    h, w = code.height, code.width
    y0, x0 = (h - 128) // 2 // 16 * 16, (w - 128) // 2 // 16 * 16
    sel = (slice(y0, y0 + 128), slice(x0, x0 + 128))
    mask = np.zeros((h, w), bool)
    mask[sel] = True
    base = Explorer(dec, code).image
    scribble = base.copy()
    scribble[sel] = (scribble[sel].astype(int) * 0 + np.array([200, 40, 40])).astype(np.uint8)
    stripes = np.tile((np.arange(128) // 4 % 2 * 120 + 60)[None, :, None], (128, 1, 3))
    scribble_y, stripes_y = gray(scribble), gray(stripes)
    cases = {
        "variance-up": ({"delta": 0.05}, "local std", lambda y: local_std(y[sel])),
        "variance-down": ({"delta": 0.05}, "local std", lambda y: local_std(y[sel])),
        "magnitude-up": ({"delta": 0.05}, "local std", lambda y: local_std(y[sel])),
        "magnitude-down": ({"delta": 0.05}, "local std", lambda y: local_std(y[sel])),
        "tv-down": ({}, "TV", lambda y: tv(y[sel])),
        "scribble": (
            {"scribble": scribble},
            "L1 to scribble",
            lambda y: float(np.abs(y[sel] - scribble_y[sel]).mean()),
        ),
        "hsv": ({"value": 0.1}, "mean Y", lambda y: float(y[sel].mean())),
        "imprint": (
            {"source": stripes.astype(np.uint8)},
            "L1 to imprint",
            lambda y: float(np.abs(y[sel] - stripes_y).mean()),
        ),
        "dictionary": ({"source": stripes.astype(np.uint8)}, "TV", lambda y: tv(y[sel])),
        "periodicity": (
            {"directions": [0.0], "periods": [8.0]},
            "period-8 error",
            lambda y: period_error(y[sel]),
        ),
        "random": ({"n": 3}, "L1 to start", None),
        "uniform": (
            {"magnitude": 1.0, "secondary": 0.0, "direction": 0.0},
            "TV",
            lambda y: tv(y[sel]),
        ),
        "digit": ({"digits": [3]}, "p(3)", None),
    }
    rows = []
    for tool, (params, stat_name, stat) in cases.items():
        ex = Explorer(dec, code)
        before = gray(ex.image)
        t = time.perf_counter()
        res = ex.apply(tool, mask, budget_s=args.budget, **params)
        dt = time.perf_counter() - t
        after = gray(res.image)
        if tool == "random":
            alts = (
                [gray(a) for a in res.alternatives.values()]
                if isinstance(res.alternatives, dict)
                else [gray(a) for a in res.alternatives]
            )
            s0, s1 = 0.0, float(np.mean([np.abs(a[sel] - before[sel]).mean() for a in alts]))
        elif tool == "digit":
            s0, s1 = float("nan"), float(np.max(list(res.scores.values()))) if res.scores else 0.0
        else:
            s0, s1 = stat(before), stat(after)
        diff = np.abs(after - before)
        rows.append(
            {
                "tool": tool,
                "seconds": dt,
                "statistic": stat_name,
                "before": s0,
                "after": s1,
                "change_inside": float(diff[mask].mean()),
                "change_outside": float(diff[~mask].mean()),
                "identical": float(ej.check(code, res.image).identical_fraction),
            }
        )
        r = rows[-1]
        print(
            f"| {tool} | {dt:.1f} s | {stat_name}: {s0:.3f} → {s1:.3f} | "
            f"{r['change_inside']:.2f} / {r['change_outside']:.3f} | {100 * r['identical']:.4f}% |",
            flush=True,
        )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"jpeg": args.jpeg, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
