"""Digit reach: does the digit tool show the other digits wherever the file allows them?

    python benchmarks/reach_digits.py --images DIR [--qf 5,10,20] [--out results/reach_digits.json]

A printed digit (DejaVu Sans Bold, Liberation Serif, FreeSans, FreeMono Bold from Debian's
font packages — not the font the tool renders with) is drawn on a textured background (a
crop of a photo), dark on light or light on dark, and compressed by libjpeg (colour 4:2:0).
For every other digit ``d`` the same font draws ``d`` over the same background, and its best
consistent image ``P_d = snap(P_C(t_d))`` is read by an OCR engine that is not ours
(Tesseract, one character, digits only): the classes read correctly are those *the file
allows*. The digit tool's ten alternatives are read by the same engine: the classes read as
their own digit are those *the tool produced*. Reported: allowed, produced, their overlap,
and ``recall = |produced ∩ allowed| / |allowed|`` over all cases.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont
from reach import best_consistent, load_photo

import explorable_jpeg as ej
from explorable_jpeg.decoding.decoder import Decoder
from explorable_jpeg.explore import Explorer, rect_mask

ROOT = Path(__file__).resolve().parents[1]
logger = logging.getLogger("reach_digits")
FONTS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf",
    "/usr/share/fonts/truetype/freefont/FreeSans.ttf",
    "/usr/share/fonts/truetype/freefont/FreeMonoBold.ttf",
)
SIZE = (96, 128)  # image (h, w)
BOX = (24, 44, 72, 84)  # where the digit sits (y0, x0, y1, x1): 48 × 40 px


def draw_digit(background: np.ndarray, digit: int, font: str, dark: bool) -> np.ndarray:
    """``background`` with ``digit`` printed in the box (ink: a dim or bright version of it)."""
    y0, x0, y1, x1 = BOX
    h, w = y1 - y0, x1 - x0
    s = 4
    f = ImageFont.truetype(font, size=int(h * 0.8 * s))
    mask = Image.new("L", (w * s, h * s), 0)
    d = ImageDraw.Draw(mask)
    left, top, right, bottom = d.textbbox((0, 0), str(digit), font=f)
    d.text(((w * s - (right - left)) / 2 - left, (h * s - (bottom - top)) / 2 - top),
           str(digit), fill=255, font=f)  # fmt: skip
    g = np.asarray(mask, dtype=np.float64).reshape(h, s, w, s).mean(axis=(1, 3))[..., None] / 255
    img = background.astype(np.float64).copy()
    patch = img[y0:y1, x0:x1]
    ink = patch * 0.25 if dark else 255 - (255 - patch) * 0.25
    img[y0:y1, x0:x1] = g * ink + (1 - g) * patch
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def background_of(photo: np.ndarray, dark: bool) -> np.ndarray:
    """A ``SIZE`` crop of the photo, lightened (dark ink) or darkened (light ink)."""
    h, w = SIZE
    ph, pw = photo.shape[:2]
    crop = photo[(ph - h) // 2 : (ph - h) // 2 + h, (pw - w) // 2 : (pw - w) // 2 + w]
    crop = crop.astype(np.float64)
    out = 150 + 0.4 * crop if dark else 20 + 0.4 * crop
    return np.clip(out, 0, 255).astype(np.uint8)


class Ocr:
    """Tesseract on the digit's box: one character, digits only."""

    def __init__(self) -> None:
        self.exe = shutil.which("tesseract")
        if self.exe is None:
            raise SystemExit("tesseract not found: apt-get install -y tesseract-ocr")
        self.tmp = Path(tempfile.mkdtemp())

    def __call__(self, image: np.ndarray) -> str:
        y0, x0, y1, x1 = BOX
        crop = Image.fromarray(image[y0 - 6 : y1 + 6, x0 - 6 : x1 + 6]).convert("L")
        crop = crop.resize((crop.width * 4, crop.height * 4), Image.Resampling.BICUBIC)
        framed = Image.new("L", (crop.width + 80, crop.height + 80), int(np.median(crop)))
        framed.paste(crop, (40, 40))
        path = self.tmp / "digit.png"
        framed.save(path)
        out = subprocess.run(
            [self.exe, str(path), "-", "--psm", "10", "-c", "tessedit_char_whitelist=0123456789"],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        return out.stdout.strip()[:1]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--images", action="append", required=True, help="folder of PNG photos")
    ap.add_argument("--qf", default="5,10,20")
    ap.add_argument("--limit", type=int, default=2, help="photos per folder")
    ap.add_argument("--digits", default="3,7", help="the printed digits")
    ap.add_argument("--budget", type=float, default=20.0, help="digit tool budget (s)")
    ap.add_argument("--reach", type=float, default=None)
    ap.add_argument("--out", default=str(ROOT / "results" / "reach_digits.json"))
    ap.add_argument(
        "--all-styles",
        action="store_true",
        help="every font x both polarities per digit (default: one, in turn)",
    )
    ap.add_argument("--cache", default=None,
                    help="json of the allowed classes per case, read and extended (reruns skip "
                         "the projections)")  # fmt: skip
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("explorable_jpeg").setLevel(logging.WARNING)
    torch.set_num_threads(2)
    photos = []
    for folder in args.images:
        photos += sorted(Path(folder).glob("*.png"))[: args.limit]
    fonts = [f for f in FONTS if Path(f).is_file()]
    if not fonts:
        raise SystemExit("no fonts: apt-get install -y fonts-dejavu-core fonts-liberation2 "
                         "fonts-freefont-ttf")  # fmt: skip
    decoder = Decoder.from_pretrained(variant="gan")
    ocr = Ocr()
    rows = []
    params = {"budget_s": args.budget}
    if args.reach is not None:
        params["reach"] = args.reach
    cache_path = Path(args.cache) if args.cache else None
    cache: dict[str, list[int]] = (
        json.loads(cache_path.read_text()) if cache_path and cache_path.is_file() else {}
    )
    case = 0
    for qf in (int(q) for q in args.qf.split(",")):
        for photo_path in photos:
            photo = load_photo(photo_path, 256)
            styles = []
            for digit in (int(d) for d in args.digits.split(",")):
                if args.all_styles:
                    styles += [(digit, f, k) for f in fonts for k in (True, False)]
                else:
                    styles.append((digit, fonts[case % len(fonts)], case % 2 == 0))
                    case += 1
            for digit, font, dark in styles:
                bg = background_of(photo, dark)
                img = draw_digit(bg, digit, font, dark)
                _, code = ej.compress(img, quality=qf, subsampling="4:2:0")
                key = f"{qf}/{photo_path.name}/{digit}/{Path(font).stem}/{int(dark)}"
                if key not in cache:
                    cache[key] = [
                        d for d in range(10)
                        if d != digit
                        and ocr(best_consistent(draw_digit(bg, d, font, dark), code)) == str(d)
                    ]  # fmt: skip
                    if cache_path:
                        cache_path.write_text(json.dumps(cache, indent=0) + "\n")
                allowed = cache[key]
                ex = Explorer(decoder, code)
                start = ocr(ex.image)
                t0 = time.perf_counter()
                res = ex.apply("digit", rect_mask(ex.shape, *BOX), **params)
                seconds = time.perf_counter() - t0
                read: dict[int, list] = {}  # "digit 3", "digit 3 serif"
                for k, a in res.alternatives.items():
                    read.setdefault(int(k.split()[1]), []).append(a)
                reads = {d: [ocr(a) == str(d) for a in al] for d, al in read.items() if d != digit}
                produced = [d for d, r in reads.items() if any(r)]
                main = res.alternatives  # "digit d": the best over every face
                produced_best = [d for d in reads if ocr(main[f"digit {d}"]) == str(d)]
                consistent = all(ej.check(code, a).consistent for a in res.alternatives.values())
                row = {
                    "qf": qf, "photo": photo_path.name, "digit": digit, "font": Path(font).stem,
                    "dark_ink": dark, "start_read_as": start, "allowed": allowed,
                    "produced": produced, "both": sorted(set(allowed) & set(produced)),
                    "both_best_face": sorted(set(allowed) & set(produced_best)),
                    "ranking": res.info["ranking"], "seconds": seconds, "consistent": consistent,
                }  # fmt: skip
                rows.append(row)
                logger.info("q%d %s %d (%s): start read %r, allowed %s, produced %s, %.0fs",
                            qf, Path(font).stem, digit, "dark" if dark else "light", start,
                            allowed, produced, seconds)  # fmt: skip
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"params": params, "rows": rows}, indent=1) + "\n")
    print(table(rows))
    return 0


def table(rows: list[dict]) -> str:
    lines = ["| QF | cases | start read correctly | allowed | produced | produced ∩ allowed | "
             "recall | recall, best face only | produced, not allowed | time (s) | consistent |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    for qf in sorted({r["qf"] for r in rows}):
        rs = [r for r in rows if r["qf"] == qf]
        allowed = sum(len(r["allowed"]) for r in rs)
        produced = sum(len(r["produced"]) for r in rs)
        both = sum(len(r["both"]) for r in rs)
        extra = produced - both
        recall = f"{both / allowed:.0%}" if allowed else "—"
        best = sum(len(r.get("both_best_face", r["both"])) for r in rs)
        recall1 = f"{best / allowed:.0%}" if allowed else "—"
        start = sum(r["start_read_as"] == str(r["digit"]) for r in rs)
        secs = np.mean([r["seconds"] for r in rs])
        ok = sum(r["consistent"] for r in rs)
        lines.append(f"| {qf} | {len(rs)} | {start} | {allowed} | {produced} | {both} | {recall} "
                     f"| {recall1} | {extra} | {secs:.0f} | {ok}/{len(rs)} |")  # fmt: skip
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
