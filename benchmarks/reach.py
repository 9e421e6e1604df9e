"""Reach of the exploration tools: how much of what the file allows each tool delivers.

    python benchmarks/reach.py --images DIR [--images DIR2] [--qf 10,30] [--out results/reach.json]

For each photo (down-scaled to ``--size`` px on the long side, compressed by libjpeg at each
quality, colour 4:2:0) and each edit, the target image ``t`` (what the user asks for) and the
**best consistent image** ``P = snap(P_C(t))`` (closed-form projection onto the file's
consistent set plus the exact 8-bit snap) are formed; the tool runs from the decoding ``x₀``
to ``x₁``. Inside the selection ``S``

    reach = 1 − |x₁ − P|₁ / |x₀ − P|₁

(1: the tool delivered everything the file allows; 0: it did not move; < 0: it moved away),
next to the mean change outside the selection (grey levels, over the rest of the image, and
over a 16 px ring around the selection — where the blocks it cuts through must change —
for ``x₁`` and for ``P``), the
ST-LPIPS distance to ``t`` of ``x₁`` and of ``P`` (a crop around the selection), the time of
the edit (and its ratio to one decode of the same file) and whether ``x₁`` re-encodes to the
file (``check``). Edits: imprint of another photo's texture, colour scribble (the saturated
primary farthest from the region), brighten / darken (δ = 0.15, the tool's own definition
``B₃(x₀·(1 ± δ))``), HSV (hue + 0.25), variance + / − (targets: detail × 2.5, a 5×5 box
blur), periodicity (vertical stripes of period 8 px added, amplitude 40).
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

import explorable_jpeg as ej
from explorable_jpeg.cli.params import convert, parse_params, split_items
from explorable_jpeg.decoding.decoder import Decoder
from explorable_jpeg.errors import CliError
from explorable_jpeg.explore import Explorer, rect_mask
from explorable_jpeg.explore.loop import (
    DEFAULT_FIELD_ITERS,
    DEFAULT_MAX_ITERS,
    MARGIN_BLOCKS,
    Z_HALO_BLOCKS,
)
from explorable_jpeg.explore.objectives._ops import box_blur3, hsv_to_rgb, rgb_to_hsv
from explorable_jpeg.explore.objectives.imprint import as_chw, render
from explorable_jpeg.explore.tools import Param, spec
from explorable_jpeg.snap.continuous import image_to_planes

ROOT = Path(__file__).resolve().parents[1]
logger = logging.getLogger("reach")

EDITS = (
    "imprint", "colour", "brighten", "darken", "hsv", "variance-up", "variance-down",
    "periodicity",
)  # fmt: skip
EDIT_TOOLS = {
    "imprint": "imprint", "colour": "scribble", "brighten": "scribble", "darken": "scribble",
    "hsv": "hsv", "variance-up": "variance-up", "variance-down": "variance-down",
    "periodicity": "periodicity",
}  # fmt: skip
"""The registry tool each edit runs (:func:`edit_target` makes its call)."""
RUN_PARAMS = {
    p.name: p
    for p in (
        Param("max_iters", DEFAULT_MAX_ITERS, "int", "z-phase iterations", minimum=0),
        Param("field_iters", DEFAULT_FIELD_ITERS, "int", "field-phase iterations", minimum=0),
        Param("preserve_weight", None, "float", "weight of the outside term", minimum=0.0),
        Param("field_prior", None, "float", "weight of the field's prior", minimum=0.0),
        Param("margin_blocks", MARGIN_BLOCKS, "int", "context blocks around it", minimum=0),
        Param("z_halo_blocks", Z_HALO_BLOCKS, "int", "free z blocks around it", minimum=0),
    )
}
"""Run options of :meth:`Explorer.apply` (any tool) that ``--param`` may set; the tools'
own parameters come from the registry."""
BOX = 64  # side of the selection (px)
RING = 16  # width of the ring outside the selection where "outside change" is measured


def load_photo(path: Path, size: int) -> np.ndarray:
    with Image.open(path) as im:
        im = im.convert("RGB")
        s = size / max(im.size)
        im = im.resize((max(16, round(im.width * s)), max(16, round(im.height * s))),
                       Image.Resampling.LANCZOS)  # fmt: skip
        return np.asarray(im)


def best_consistent(target: np.ndarray, code: ej.JpegCode) -> np.ndarray:
    """``P = snap(P_C(t))`` for an RGB target (uint8 or float on [0, 255])."""
    planes = image_to_planes(np.asarray(target, dtype=np.float64), code)
    return ej.snap(ej.project_image(planes, code), code)


def to_t(x: np.ndarray) -> torch.Tensor:
    return torch.as_tensor(x.astype(np.float32) / 255.0).permute(2, 0, 1)


def to_np(x: torch.Tensor) -> np.ndarray:
    return (x.clamp(0, 1).permute(1, 2, 0).numpy() * 255.0).astype(np.float64)


def box_of(shape: tuple[int, int], side: int = BOX) -> tuple[int, int, int, int]:
    """A ``side``² selection near the centre, deliberately not on the 8-px grid."""
    h, w = shape
    y0, x0 = max(0, h // 2 - side // 2 + 3), max(0, w // 2 - side // 2 + 5)
    return y0, x0, min(h, y0 + side), min(w, x0 + side)


def edit_target(edit: str, x0: np.ndarray, box, other: np.ndarray) -> tuple[np.ndarray, dict]:
    """``(t, tool call)`` for an edit: the target image and the tool's name and params."""
    y0, x0_, y1, x1 = box
    sel = (slice(y0, y1), slice(x0_, x1))
    t = x0.astype(np.float64).copy()
    xt = to_t(x0)
    if edit == "imprint":
        oh, ow = other.shape[:2]
        c = min(oh, ow) // 2
        src = other[oh // 2 - c // 2 : oh // 2 + c // 2, ow // 2 - c // 2 : ow // 2 + c // 2]
        return t, {"tool": "imprint", "source": src}  # t: formed after the tool's placement
    if edit == "colour":
        mean = x0[sel].reshape(-1, 3).mean(0)
        prims = np.eye(3) * 255.0
        colour = prims[np.argmax(np.abs(prims - mean).sum(1))]
        t[sel] = colour
        return t, {"tool": "scribble", "mode": "colour", "scribble": t.astype(np.uint8)}
    if edit in ("brighten", "darken"):
        sign = 1.0 if edit == "brighten" else -1.0
        edited = to_np(box_blur3((xt * (1 + sign * 0.15)).clamp(0, 1)))
        t[sel] = edited[sel]
        return t, {"tool": "scribble", "mode": edit, "delta": 0.15}
    if edit == "hsv":
        h = rgb_to_hsv(xt)
        h[0] = (h[0] + 0.25) % 1.0
        t[sel] = to_np(hsv_to_rgb(h))[sel]
        return t, {"tool": "hsv", "hue": 0.25}
    if edit == "variance-up":
        blur = to_np(box_blur3(xt))
        t[sel] = np.clip(x0 + 1.5 * (x0 - blur), 0, 255)[sel]
        return t, {"tool": "variance-up"}
    if edit == "variance-down":
        k = torch.ones(3, 1, 5, 5) / 25
        blur = torch.nn.functional.conv2d(
            torch.nn.functional.pad(xt[None], (2, 2, 2, 2), mode="replicate"), k, groups=3
        )[0]
        t[sel] = to_np(blur)[sel]
        return t, {"tool": "variance-down"}
    if edit == "periodicity":
        xx = np.arange(x0.shape[1])[None, :, None]
        t[sel] = np.clip(x0 + 40.0 * np.sin(2 * np.pi * xx / 8.0), 0, 255)[sel]
        return t, {"tool": "periodicity", "directions": (0.0,), "periods": (8.0,)}
    raise ValueError(edit)


def imprint_target(x0: np.ndarray, src: np.ndarray, box, shift) -> np.ndarray:
    """The imprint composite at the placement the tool chose (its ``info['shift']``)."""
    y0, x0_, y1, x1 = box
    sy, sx = shift
    img, alpha = render(as_chw(src, 3), x0.shape[:2], (y0 + sy, x0_ + sx, y1 + sy, x1 + sx))
    comp = alpha * img + (1 - alpha) * to_t(x0)
    return to_np(comp)


class Judge:
    """ST-LPIPS (shift-tolerant AlexNet of ``stlpips-pytorch``) on a crop around the box."""

    def __init__(self) -> None:
        try:
            from explorable_jpeg_train.metrics import load_stlpips_net

            self.net = load_stlpips_net()
        except Exception as exc:  # noqa: BLE001 - eval extra missing: report, do not fail
            logger.warning("ST-LPIPS unavailable: %s", exc)
            self.net = None

    def __call__(self, a: np.ndarray, b: np.ndarray, box) -> float:
        if getattr(self, "net", None) is None:
            return float("nan")
        y0, x0, y1, x1 = box
        h, w = a.shape[:2]
        sl = (slice(max(0, y0 - 8), min(h, y1 + 8)), slice(max(0, x0 - 8), min(w, x1 + 8)))
        ta = to_t(np.asarray(a, dtype=np.float64)[sl].clip(0, 255).astype(np.uint8))[None]
        tb = to_t(np.asarray(b, dtype=np.float64)[sl].clip(0, 255).astype(np.uint8))[None]
        with torch.no_grad():
            return float(self.net(ta * 2 - 1, tb * 2 - 1).mean())


def run_edit(
    ex: Explorer, edit: str, box, other: np.ndarray, judge: Judge, params: dict[str, Any]
) -> dict[str, Any]:
    x0 = ex.image
    code = ex.code
    mask = rect_mask(ex.shape, *box)
    t, call = edit_target(edit, x0, box, other)
    tool = call.pop("tool")
    call.update(params)
    t0 = time.perf_counter()
    res = ex.apply(tool, mask, **call)
    seconds = time.perf_counter() - t0
    x1 = res.image
    if edit == "imprint":
        t = imprint_target(x0, call["source"], box, res.info.get("shift", (0, 0)))
    p = best_consistent(t, code)
    ex.undo()
    sel = mask
    ring = np.zeros_like(mask)
    y0, x0_, y1, x1_ = box
    ring[max(0, y0 - RING) : y1 + RING, max(0, x0_ - RING) : x1_ + RING] = True
    ring &= ~mask
    d0 = np.abs(x0.astype(float) - p)[sel].mean()
    d1 = np.abs(x1.astype(float) - p)[sel].mean()
    return {
        "edit": edit,
        "reach": float(1 - d1 / d0) if d0 > 0 else float("nan"),
        "room": float(d0),  # how far P is from the start (grey levels)
        "outside": float(np.abs(x1.astype(float) - x0)[~mask].mean()),
        "outside_ring": float(np.abs(x1.astype(float) - x0)[ring].mean()),
        "outside_ring_p": float(np.abs(p.astype(float) - x0)[ring].mean()),
        "stlpips_x1": judge(x1, t, box),
        "stlpips_p": judge(p, t, box),
        "seconds": seconds,
        "consistent": bool(ej.check(code, x1).consistent),
    }


def tool_params(tools: Iterable[str], items: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Each tool's ``--param name=value`` values, parsed and checked by the registry.

    A run option (:data:`RUN_PARAMS`) goes to every tool; a tool parameter goes to every tool
    of the run that has it (converted by that tool's :class:`Param`, as the CLI does); a name
    that no tool of the run takes raises :class:`CliError` before anything runs."""
    tools = sorted(set(tools))
    run: dict[str, Any] = {}
    own: list[tuple[str, str]] = []
    for item, name, text in split_items(items):
        if name in RUN_PARAMS:
            run[name] = convert(RUN_PARAMS[name], item, text)
        else:
            own.append((item, name))
    for item, name in own:
        if not any(name in spec(t).accepted() for t in tools):
            takes = "; ".join(f"{t}: {', '.join(sorted(spec(t).accepted()))}" for t in tools)
            raise CliError(
                f"--param {item}: no tool of the run takes {name!r} ({takes}; any tool: "
                f"{', '.join(RUN_PARAMS)})"
            )
    return {
        t: {**run, **parse_params(t, [i for i, n in own if n in spec(t).accepted()])} for t in tools
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--images", action="append", required=True, help="folder of PNG photos")
    ap.add_argument("--qf", default="10,30")
    ap.add_argument("--size", type=int, default=256, help="long side (px)")
    ap.add_argument("--limit", type=int, default=0, help="photos per folder (0: all)")
    ap.add_argument("--edits", default=",".join(EDITS))
    ap.add_argument(
        "--param", action="append", default=[],
        help="k=v for every tool of the run that has k (the registry checks it), or a run "
        f"option ({', '.join(RUN_PARAMS)})",
    )  # fmt: skip
    ap.add_argument("--budget", type=float, default=10.0)
    ap.add_argument("--out", default=str(ROOT / "results" / "reach.json"))
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("explorable_jpeg").setLevel(logging.WARNING)
    torch.set_num_threads(2)
    edits = args.edits.split(",")
    unknown = sorted(set(edits) - set(EDIT_TOOLS))
    if unknown:
        ap.error(f"unknown edit(s) {', '.join(unknown)}; edits: {', '.join(EDITS)}")
    try:
        per_tool = tool_params((EDIT_TOOLS[e] for e in edits), args.param)
    except CliError as exc:
        ap.error(str(exc))
    for values in per_tool.values():
        values["budget_s"] = args.budget
    photos = []
    for folder in args.images:
        files = sorted(Path(folder).glob("*.png"))
        photos += files[: args.limit] if args.limit else files
    decoder = Decoder.from_pretrained(variant="gan")
    judge = Judge()
    rows = []
    for qf in (int(q) for q in args.qf.split(",")):
        for k, path in enumerate(photos):
            img = load_photo(path, args.size)
            other = load_photo(photos[(k + 1) % len(photos)], args.size)
            _, code = ej.compress(img, quality=qf, subsampling="4:2:0")
            t0 = time.perf_counter()
            ex = Explorer(decoder, code)
            decode_s = time.perf_counter() - t0
            box = box_of(ex.shape)
            for edit in edits:
                row = run_edit(ex, edit, box, other, judge, dict(per_tool[EDIT_TOOLS[edit]]))
                row.update(photo=path.name, qf=qf, decode_s=decode_s)
                rows.append(row)
                logger.info("%s q%d %-13s reach %.2f (room %.1f) outside %.2f stlpips %.3f/%.3f "
                            "%.1fs %s", path.name, qf, edit, row["reach"], row["room"],
                            row["outside"], row["stlpips_x1"], row["stlpips_p"], row["seconds"],
                            "ok" if row["consistent"] else "INCONSISTENT")  # fmt: skip
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    params = {t: {k: str(v) for k, v in values.items()} for t, values in per_tool.items()}
    out.write_text(json.dumps({"params": params, "size": args.size, "rows": rows},
                              indent=1) + "\n")  # fmt: skip
    print(table(rows))
    return 0


def table(rows: list[dict]) -> str:
    """Markdown: mean per edit and quality."""
    lines = [
        "| edit | QF | reach (mean / min) | outside: image / ring (P's ring) | "
        "ST-LPIPS x₁→t / P→t | time (s) | ×decode | consistent |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    keys = sorted({(r["edit"], r["qf"]) for r in rows}, key=lambda k: (EDITS.index(k[0]), k[1]))
    for edit, qf in keys:
        rs = [r for r in rows if r["edit"] == edit and r["qf"] == qf]

        def m(key: str, rs: list = rs) -> float:
            return statistics.fmean(r[key] for r in rs)

        lines.append(
            f"| {edit} | {qf} | {m('reach'):.2f} / {min(r['reach'] for r in rs):.2f} | "
            f"{m('outside'):.2f} / {m('outside_ring'):.2f} ({m('outside_ring_p'):.2f}) | "
            f"{m('stlpips_x1'):.3f} / {m('stlpips_p'):.3f} | "
            f"{m('seconds'):.1f} | {m('seconds') / m('decode_s'):.0f} | "
            f"{sum(r['consistent'] for r in rs)}/{len(rs)} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
