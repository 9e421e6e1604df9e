"""Printed digits as the digit tool sees them: real JPEG files and real projections.

    python -m explorable_jpeg_train.digit_pool --photos DIR --out pool.npz --files 3000

Each file: a crop of a training photo, re-toned to light paper (dark ink) or dark paper
(light ink), with a digit ``o`` printed in a box (a training font, 0.55–0.9 of the box
tall, ink a fraction 0.1–0.5 of the way from black / white to the paper), compressed by
libjpeg at quality 5–30 (colour 4:2:0). From it, gray crops of the box (resized to fit
``S × S`` as the classifier does, :func:`fit_square`):

* the plain decoding ``x̂₀``, labelled ``o``;
* for two other digits ``d``: the consistency projection ``y = P_C(t̃)`` of one of the
  digit tool's candidate composites ``t̃`` (:class:`DigitTargetObjective`, a random
  placement), with the *soft* label

      λ e_d + (1 − λ) e_o,   λ = ‖y − x̂₀‖ / (‖y − x̂₀‖ + ‖y − t̃‖)  (on the box, gray),

  how far the file let the projection travel from the old digit towards the new one.

The fonts are Debian's that are *not* the four ``benchmarks/reach_digits.py`` prints in
(nor their families or look-alike clones): DejaVu Serif and DejaVu Sans Mono (all styles),
Liberation Mono (all styles) and Pillow's Aileron, with random stroke widths.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont
from tqdm import tqdm

import explorable_jpeg as ej
from explorable_jpeg.explore.glyphs import DigitTargetObjective
from explorable_jpeg.explore.objectives._ops import gray, project_rgb
from explorable_jpeg.explore.objectives.base import Region
from explorable_jpeg.models.digit import fit_square

logger = logging.getLogger("explorable_jpeg_train")
FONT_DIRS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/truetype/liberation2",
             "/usr/share/fonts/truetype/liberation")  # fmt: skip
FONT_PREFIXES = ("DejaVuSerif", "DejaVuSansMono", "LiberationMono")
SIZE = 32  # the classifier's input side
SHAPE = (96, 128)  # image (h, w)


def train_fonts() -> list[str | None]:
    """Font files of :data:`FONT_PREFIXES` found on this machine, and ``None`` (Aileron)."""
    found: dict[str, str] = {}
    for folder in FONT_DIRS:
        for f in sorted(Path(folder).glob("*.ttf")) if Path(folder).is_dir() else []:
            if f.name.startswith(FONT_PREFIXES):
                found.setdefault(f.name, str(f))
    return [None, *found.values()]


def print_digit(img: np.ndarray, box: tuple[int, int, int, int], digit: int, font: str | None,
                share: float, stroke: int, ink_k: float, dark: bool) -> np.ndarray:  # fmt: skip
    """``img`` (float RGB) with ``digit`` printed in ``box`` (see the module docstring)."""
    y0, x0, y1, x1 = box
    h, w = y1 - y0, x1 - x0
    s = 4
    n = max(8, int(h * share * s * 1.35))
    f = ImageFont.load_default(size=n) if font is None else ImageFont.truetype(font, size=n)
    mask = Image.new("L", (w * s, h * s), 0)
    d = ImageDraw.Draw(mask)
    left, top, right, bottom = d.textbbox((0, 0), str(digit), font=f, stroke_width=stroke)
    d.text(((w * s - (right - left)) / 2 - left, (h * s - (bottom - top)) / 2 - top), str(digit),
           fill=255, font=f, stroke_width=stroke, stroke_fill=255)  # fmt: skip
    g = np.asarray(mask, dtype=np.float64).reshape(h, s, w, s).mean(axis=(1, 3))[..., None] / 255
    out = img.copy()
    patch = out[y0:y1, x0:x1]
    ink = patch * ink_k if dark else 255 - (255 - patch) * ink_k
    out[y0:y1, x0:x1] = g * ink + (1 - g) * patch
    return out


def crop(gray_img: torch.Tensor, box: tuple[int, int, int, int]) -> np.ndarray:
    """``(S, S)`` float16 input of the box of a gray ``(H, W)`` image."""
    y0, x0, y1, x1 = box
    return fit_square(gray_img[None, y0:y1, x0:x1], SIZE)[0, 0].numpy().astype(np.float16)


def one_file(photo: np.ndarray, fonts: list[str | None], rng: np.random.Generator
             ) -> list[tuple[np.ndarray, int, int, float]]:  # fmt: skip
    """Samples ``(input, new digit, old digit, λ)`` of one synthetic file."""
    h, w = SHAPE
    ph, pw = photo.shape[:2]
    y, x = int(rng.integers(0, ph - h + 1)), int(rng.integers(0, pw - w + 1))
    dark = bool(rng.random() < 0.5)
    c = rng.uniform(0.2, 0.6)
    base = photo[y : y + h, x : x + w].astype(np.float64) * c
    img = base + (rng.uniform(255 * (1 - c) - 60, 255 * (1 - c)) if dark else rng.uniform(0, 50))
    img = np.clip(img, 0, 255)
    bh = int(rng.integers(26, 60))
    bw = int(round(bh * rng.uniform(0.7, 1.05)))
    by, bx = int(rng.integers(4, h - bh - 3)), int(rng.integers(4, w - bw - 3))
    box = (by, bx, by + bh, bx + bw)
    old = int(rng.integers(0, 10))
    font = fonts[int(rng.integers(0, len(fonts)))]
    printed = print_digit(img, box, old, font, rng.uniform(0.55, 0.9), int(rng.integers(0, 9)),
                          rng.uniform(0.1, 0.5), dark)  # fmt: skip
    _, code = ej.compress(np.clip(np.rint(printed), 0, 255).astype(np.uint8),
                          quality=int(rng.integers(5, 31)), subsampling="4:2:0")  # fmt: skip
    x0 = torch.as_tensor(ej.decode_plain(code).astype(np.float32) / 255).permute(2, 0, 1)
    # the user's selection: the box, a few px looser or tighter
    m = [int(v) for v in rng.integers(-2, 5, 4)]
    sel = (max(0, by - m[0]), max(0, bx - m[1]), min(h, by + bh + m[2]), min(w, bx + bw + m[3]))
    pm = torch.zeros(SHAPE)
    pm[sel[0] : sel[2], sel[1] : sel[3]] = 1
    region = Region(rgb0=x0, mask=pm, pixel_mask=pm, code=code, origin=(0, 0))
    g0 = gray(x0[None])[0]
    out = [(crop(g0, sel), old, old, 0.0)]
    for new in rng.choice([d for d in range(10) if d != old], 2, replace=False):
        obj = DigitTargetObjective(int(new))
        cands = obj.candidates(region)
        p = cands[int(rng.integers(0, len(cands)))]
        comp = obj.composite(region, p).clamp(0, 1)
        proj = gray(project_rgb(comp, code)[None])[0]
        t = gray(comp[None])[0]
        a0, b0, a1, b1 = sel
        to_old = float((proj - g0)[a0:a1, b0:b1].norm())
        to_new = float((proj - t)[a0:a1, b0:b1].norm())
        lam = to_old / max(to_old + to_new, 1e-9)
        out.append((crop(proj, sel), int(new), old, lam))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--photos", required=True, help="folder of training PNGs")
    ap.add_argument("--exclude", default="", help="comma-separated photo names to leave out")
    ap.add_argument("--out", required=True)
    ap.add_argument("--files", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("explorable_jpeg").setLevel(logging.WARNING)
    torch.set_num_threads(1)
    rng = np.random.default_rng(args.seed)
    skip = set(filter(None, args.exclude.split(",")))
    photos = []
    for f in sorted(Path(args.photos).glob("*.png")):
        if f.name in skip:
            continue
        im = Image.open(f).convert("RGB")
        im.thumbnail((256, 256), Image.Resampling.LANCZOS)
        photos.append(np.asarray(im))
    fonts = train_fonts()
    logger.info("%d photos, %d fonts", len(photos), len(fonts))
    xs, news, olds, lams = [], [], [], []
    for _ in tqdm(range(args.files), desc="files"):
        for x, new, old, lam in one_file(photos[int(rng.integers(0, len(photos)))], fonts, rng):
            xs.append(x)
            news.append(new)
            olds.append(old)
            lams.append(lam)
    np.savez_compressed(args.out, x=np.stack(xs), new=np.array(news, np.int8),
                        old=np.array(olds, np.int8), lam=np.array(lams, np.float16))  # fmt: skip
    logger.info("wrote %d samples to %s", len(xs), args.out)


if __name__ == "__main__":
    main()
