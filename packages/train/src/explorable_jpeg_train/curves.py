"""Learning curves from training logs (``log_<phase>.csv``) for model cards and notes.

    python -m explorable_jpeg_train.curves --metric probe_gain_db \\
        "l1 fine-tune=runs/sweep_gpu/l1_ft_extra/log_l1_luma.csv" ... \\
        --out docs/curves_l1.png [--rows 8]

Plots each metric against minutes of training (one panel per metric) and prints a markdown
table of the metric at evenly spaced logged steps, with the step count and minutes, for
pasting into a card. Rows without the metric (probes run every ``eval_every`` steps) are
skipped.
"""

from __future__ import annotations

import argparse
import csv
import logging
import textwrap
from pathlib import Path

log = logging.getLogger(__name__)


def read_curve(path: Path, metric: str) -> list[tuple[int, float, float]]:
    """``[(step, minutes, value)]`` of the rows of ``path`` that hold ``metric``."""
    out = []
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            value = row.get(metric)
            if value not in (None, ""):
                out.append((int(row["step"]), float(row["seconds"]) / 60.0, float(value)))
    return out


def markdown(curves: dict[str, list[tuple[int, float, float]]], metric: str, rows: int) -> str:
    lines = [f"| run | step | minutes | {metric} |", "|---|---:|---:|---:|"]
    for label, pts in curves.items():
        if not pts:
            continue
        idx = sorted({round(i * (len(pts) - 1) / max(rows - 1, 1)) for i in range(rows)})
        for i in idx:
            step, minutes, value = pts[i]
            lines.append(f"| {label} | {step} | {minutes:.1f} | {value:.3f} |")
    return "\n".join(lines)


def plot(curves_by_metric: dict[str, dict[str, list]], out: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(curves_by_metric)
    fig, axes = plt.subplots(1, n, figsize=(5.2 * n, 3.6), squeeze=False)
    for ax, (metric, curves) in zip(axes[0], curves_by_metric.items(), strict=True):
        for label, pts in curves.items():
            if pts:
                ax.plot([p[1] for p in pts], [p[2] for p in pts], label=label, lw=1.4)
        ax.set_xlabel("minutes of training")
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)
    fig.suptitle("\n".join(textwrap.wrap(title, 70 * n)), fontsize=9)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs", nargs="+", help="LABEL=path/to/log_<phase>.csv")
    p.add_argument("--metric", action="append", required=True, help="CSV column (repeatable)")
    p.add_argument("--out", type=Path, help="PNG to write")
    p.add_argument("--title", default="")
    p.add_argument("--rows", type=int, default=6, help="table rows per run")
    args = p.parse_args(argv)
    runs = {}
    for item in args.runs:
        label, sep, path = item.partition("=")
        if not sep:
            p.error(f"expected LABEL=path, got {item!r}")
        runs[label] = Path(path)
    by_metric = {m: {k: read_curve(v, m) for k, v in runs.items()} for m in args.metric}
    for metric, curves in by_metric.items():
        print(markdown(curves, metric, args.rows))  # noqa: T201 - a CLI's output
        print()  # noqa: T201
    if args.out:
        plot(by_metric, args.out, args.title)
        log.info("wrote %s", args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
