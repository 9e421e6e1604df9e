"""Digit targets: render digit d into the selection the way the file allows it best.

For digit ``d`` glyph coverages ``g ∈ [0, 1]`` (rendered at 4× and averaged down) are drawn
into the selection's bounding box in two families, in the polarity of the digit already
there (dark ink on light paper, or light on dark):

* *box* glyphs, centred in the box at a few heights and stroke widths;
* *fitted* glyphs, whose ink spans the current digit's ink box (the bounding box of the
  largest connected part of the pixels nearer the ink colour than the paper colour) at
  a few heights, stroke widths and aspect ratios — the new digit drawn where the old one is,
  at its size, which is where the file's coefficients leave room for strokes — in each of
  :data:`FACES`: ``"sans"`` (Pillow's bundled Aileron, as the box glyphs), ``"serif"``
  (DejaVu Serif) and ``"mono"`` (DejaVu Sans Mono Bold), the last two from the masks in
  ``glyph_faces.safetensors``. Which face the file lets through depends on the face the
  digit was printed in, so the explorer keeps the best of every face as well.

The current box gives the two colours: *ink* and *paper*, the means of its darkest and
lightest quarter. The candidate composite is

    t̃ = g · ink' + (1 − g) · b,   b = x̂₀ where x̂₀ is nearer paper than ink, else paper',

with ``ink' = paper + k (ink − paper)`` and ``paper' = paper + (k − 1)(paper − ink)``
(``k`` = :data:`CONTRAST`, clipped to the RGB cube): the old strokes are painted over a
little past paper and the new ones drawn a little past ink, so that the projection, which
keeps only what the file allows, lands as far from the old digit as it can.

The candidate kept is the one whose glyph *survives the projection* best while the old
digit does not: with ``y = gray(P_C(t̃))`` and ``y₀ = gray(x̂₀)`` on the box, ``s = −1``
for dark ink (``+1`` for light) and ``corr(a, b) = ⟨a − ā, b − b̄⟩ / (‖a − ā‖ ‖b − b̄‖)``,

    score(t̃) = s · corr(y, g) − corr(y, y₀)

(then whole-pixel offsets of the winner, by the same score). The polarity is the one of
the digit already there (the ink side is the minority of the box). As for imprint, ``t = P_C(t̃)``
and ``f(x̂) = mean_{p ∈ box} |x̂_p − t_p|₁``; the explorer's field phase then reaches it
wherever the file allows.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFilter, ImageFont
from safetensors import safe_open

from explorable_jpeg.consistency.projection import mcu_window
from explorable_jpeg.explore.objectives._ops import bbox, gray, project_rgb
from explorable_jpeg.explore.objectives.base import Region
from explorable_jpeg.explore.objectives.target import TargetObjective

SUPERSAMPLE = 4
SCALES = (0.75, 0.9, 1.0)  # box glyphs: glyph height as a share of the box height
STROKES = (0, 1, 2)  # box glyphs: extra stroke width (in box pixels)
FIT_HEIGHTS = (0.9, 1.0, 1.12)  # fitted glyphs: height as a share of the old ink's
FIT_STROKES = (0.0, 1.5, 3.0)  # fitted glyphs: extra stroke width (box pixels)
FIT_ASPECTS = (0.8, 1.0, 1.25)  # fitted glyphs: width / the font's width at that height
SHIFTS = (-2, 0, 2)  # px offsets tried in y and x (after the shape is chosen)
QUANTILE = 0.25  # ink / paper: mean of the darkest / lightest quarter
CONTRAST = 1.5  # ink drawn this much further from paper, old strokes painted past paper
_RENDER_SIZE = 160  # font size (px) of the master rendering that fitted glyphs resample


@functools.lru_cache(maxsize=256)
def glyph(digit: int, height: int, width: int, scale: float, stroke: int) -> np.ndarray:
    """Coverage ``(height, width)`` float on [0, 1] of ``digit`` centred in the box."""
    s = SUPERSAMPLE
    size = max(4, round(height * scale * s * 1.3))  # the digits' ink is ~0.73 em tall
    font = ImageFont.load_default(size=size)
    img = Image.new("L", (width * s, height * s), 0)
    draw = ImageDraw.Draw(img)
    text = str(int(digit))
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font, stroke_width=stroke * s)
    x = (width * s - (right - left)) / 2 - left
    y = (height * s - (bottom - top)) / 2 - top
    draw.text((x, y), text, fill=255, font=font, stroke_width=stroke * s, stroke_fill=255)
    a = np.asarray(img, dtype=np.float32).reshape(height, s, width, s).mean(axis=(1, 3))
    return a / 255.0


FACES = ("sans", "serif", "mono")  # Pillow's Aileron; DejaVu Serif, DejaVu Sans Mono Bold
_FACES_FILE = Path(__file__).with_name("glyph_faces.safetensors")


@functools.lru_cache(maxsize=32)
def face_master(face: str, digit: int) -> Image.Image:
    """White-on-black coverage of ``digit`` in ``face``, cropped to its ink: ``"sans"`` is
    Pillow's bundled Aileron (rendered at :data:`_RENDER_SIZE`); the others are the masks of
    ``glyph_faces.safetensors`` (``python -m explorable_jpeg_train.tools.glyph_faces``)."""
    if face == "sans":
        n = _RENDER_SIZE
        big = Image.new("L", (2 * n, 2 * n), 0)
        ImageDraw.Draw(big).text((n // 2, n // 4), str(int(digit)), fill=255,
                                 font=ImageFont.load_default(size=n))  # fmt: skip
        box = big.getbbox()
        return big.crop(box) if box is not None else big
    if face not in FACES:
        raise ValueError(f"unknown face {face!r}; expected one of {FACES}")
    with safe_open(str(_FACES_FILE), framework="pt") as f:
        mask = f.get_tensor(f"{face}/{int(digit)}").numpy()
    return Image.fromarray(mask)


@functools.lru_cache(maxsize=2048)
def fitted_glyph(
    digit: int,
    size: tuple[int, int],
    ink: tuple[int, int, int, int],
    stroke: float,
    aspect: float,
    face: str = "sans",
) -> np.ndarray:
    """Coverage ``size = (height, width)`` of ``digit`` in ``face`` whose ink is
    ``ink[2] − ink[0]`` px tall, ``aspect`` × the face's width at that height, centred on
    the box ``ink`` ``(y0, x0, y1, x1)``, with strokes ``stroke`` px bolder (a max filter on
    the master, each side ``stroke / 2``)."""
    height, width = size
    a0, b0, a1, b1 = ink
    s = SUPERSAMPLE
    tall = max(a1 - a0, 1)
    shape = face_master(face, digit)
    widen = int(round(stroke * shape.height / tall / 2))  # master px, each side
    if widen > 0:
        pad = Image.new("L", (shape.width + 2 * widen, shape.height + 2 * widen), 0)
        pad.paste(shape, (widen, widen))
        shape = pad.filter(ImageFilter.MaxFilter(2 * widen + 1))
    gh = tall * s
    gw = max(1, int(round(shape.width * gh / shape.height * aspect)))
    shape = shape.resize((gw, gh), Image.Resampling.LANCZOS)
    canvas = Image.new("L", (width * s, height * s), 0)
    cy, cx = (a0 + a1) / 2 * s, (b0 + b1) / 2 * s
    canvas.paste(shape, (int(round(cx - gw / 2)), int(round(cy - gh / 2))))
    a = np.asarray(canvas, dtype=np.float32).reshape(height, s, width, s).mean(axis=(1, 3))
    return a / 255.0


def ink_and_paper(rgb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean colours ``(C,)`` of the darkest and the lightest quarter of ``rgb (C, h, w)``."""
    g = gray(rgb[None])[0].flatten()
    order = torch.argsort(g)
    k = max(1, int(len(order) * QUANTILE))
    flat = rgb.flatten(1)
    return flat[:, order[:k]].mean(1), flat[:, order[-k:]].mean(1)


def ink_side(rgb: torch.Tensor, dark_ink: bool) -> torch.Tensor:
    """``(h, w)`` bool: the pixels of ``rgb (C, h, w)`` past the midpoint between paper
    and ink (:func:`ink_and_paper`) on the ink's side."""
    g = gray(rgb[None])[0]
    dark, light = ink_and_paper(gray(rgb[None]))
    mid = float(dark + light) / 2
    return g < mid if dark_ink else g > mid


def dark_ink_likely(rgb: torch.Tensor) -> bool:
    """Whether the ink of ``rgb (C, h, w)`` is dark: the dark side is the minority (ink
    covers less of a digit's box than paper)."""
    return float(ink_side(rgb, True).float().mean()) <= 0.5


def largest_component(mask: np.ndarray) -> np.ndarray:
    """The largest 8-connected component of a bool ``(h, w)`` mask (breadth-first)."""
    h, w = mask.shape
    label = np.zeros((h, w), dtype=np.int32)
    best, best_size, n = 0, 0, 0
    for y, x in zip(*np.nonzero(mask), strict=True):
        if label[y, x]:
            continue
        n += 1
        label[y, x] = n
        queue, size = [(y, x)], 0
        while queue:
            cy, cx = queue.pop()
            size += 1
            for ny in range(max(0, cy - 1), min(h, cy + 2)):
                for nx in range(max(0, cx - 1), min(w, cx + 2)):
                    if mask[ny, nx] and not label[ny, nx]:
                        label[ny, nx] = n
                        queue.append((ny, nx))
        if size > best_size:
            best, best_size = n, size
    return label == best if best else np.zeros_like(mask)


def ink_box(rgb: torch.Tensor, dark_ink: bool) -> tuple[int, int, int, int]:
    """``(y0, x0, y1, x1)`` of the ink in ``rgb (C, h, w)``: the bounding box of the largest
    connected part of the pixels on the ink's side (:func:`ink_side`; a digit, not the
    texture around it), or the middle two thirds of the box when there is none."""
    h, w = rgb.shape[-2:]
    part = largest_component(ink_side(rgb, dark_ink).cpu().numpy())
    ys, xs = np.nonzero(part)
    if len(ys) < 4:
        return h // 6, w // 6, h - h // 6, w - w // 6
    return int(ys.min()), int(xs.min()), int(ys.max()) + 1, int(xs.max()) + 1


@dataclass(frozen=True)
class Placement:
    """One candidate: the glyph's family and shape, its offset and its polarity."""

    family: str  # "box" or "fit"
    shape: tuple  # box: (scale, stroke); fit: (height share, stroke, aspect)
    dy: int = 0
    dx: int = 0
    dark_ink: bool = True
    face: str = "sans"  # fitted glyphs: one of FACES


def _ncc_rows(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Normalised correlation ``⟨a − ā, b − b̄⟩ / (‖a − ā‖ ‖b − b̄‖)`` of every pair
    ``(a_n, b_n)`` of ``(N, h, w)`` stacks, ``(N,)`` (0 where either is flat)."""
    a = a.flatten(1) - a.flatten(1).mean(1, keepdim=True)
    b = b.flatten(1) - b.flatten(1).mean(1, keepdim=True)
    den = a.norm(dim=1) * b.norm(dim=1)
    return torch.where(den > 1e-12, (a * b).sum(1) / den.clamp_min(1e-12), torch.zeros_like(den))


class DigitTargetObjective(TargetObjective):
    """See the module docstring (the explorer ranks the results with its classifier).

    ``faces``: the faces the candidates are drawn in (box glyphs count as ``"sans"``);
    ``placement``: a placement chosen already (e.g. one of another objective's
    :attr:`best_by_face`), used as it is instead of choosing."""

    def __init__(
        self, digit: int, faces: tuple[str, ...] = FACES, placement: Placement | None = None
    ) -> None:
        super().__init__()
        if not 0 <= int(digit) <= 9:
            raise ValueError(f"digit must be 0–9, got {digit}")
        unknown = [f for f in faces if f not in FACES]
        if unknown or not faces:
            raise ValueError(f"faces must be some of {FACES}, got {faces}")
        self.digit = int(digit)
        self.faces = tuple(faces)
        self.placement = placement
        self.choice: Placement | None = None
        self.best_by_face: dict[str, Placement] = {}
        self._ink: dict[tuple[int, bool], tuple[int, int, int, int]] = {}

    def _ink_box(self, region: Region, dark_ink: bool) -> tuple[int, int, int, int]:
        """:func:`ink_box` of the selection's box, once per region and polarity."""
        key = (id(region.rgb0), dark_ink)
        if key not in self._ink:
            y0, x0, y1, x1 = bbox(region.pixel_mask > 0)
            self._ink[key] = ink_box(region.rgb0[:, y0:y1, x0:x1], dark_ink)
        return self._ink[key]

    def coverage(self, region: Region, p: Placement) -> torch.Tensor:
        """The glyph coverage ``(h_box, w_box)`` of placement ``p`` in the selection's box."""
        y0, x0, y1, x1 = bbox(region.pixel_mask > 0)
        h, w = y1 - y0, x1 - x0
        if p.family == "box":
            scale, stroke = p.shape
            g = glyph(self.digit, h, w, scale, stroke)
        else:
            share, stroke, aspect = p.shape
            a0, b0, a1, b1 = self._ink_box(region, p.dark_ink)
            c, half = (a0 + a1) / 2, (a1 - a0) * share / 2
            ink = (max(0, round(c - half)), b0, min(h, round(c + half)), b1)
            g = fitted_glyph(self.digit, (h, w), ink, stroke, aspect, p.face)
        return torch.roll(torch.as_tensor(g), (p.dy, p.dx), dims=(0, 1))

    def _parts(self, region: Region, dark_ink: bool) -> tuple[torch.Tensor, torch.Tensor]:
        """``(ink', b)`` of the module docstring: the exaggerated ink colour ``(C,)`` and the
        box with the old strokes painted past paper ``(C, h_box, w_box)``."""
        y0, x0, y1, x1 = bbox(region.pixel_mask > 0)
        box = region.rgb0[:, y0:y1, x0:x1]
        dark, light = ink_and_paper(box)
        ink, paper = (dark, light) if dark_ink else (light, dark)
        near_ink = (box - ink[:, None, None]).abs().sum(0) < (
            box - paper[:, None, None]).abs().sum(0)  # fmt: skip
        # exaggerated ink and paper: the projection keeps only what the file allows, so a
        # bolder target lands further from the old digit (clipped to the RGB cube)
        ink_x = (paper + CONTRAST * (ink - paper)).clamp(0, 1)
        paper_x = (paper + (CONTRAST - 1) * (paper - ink)).clamp(0, 1)
        return ink_x, torch.where(near_ink, paper_x[:, None, None].expand_as(box), box)

    def composite(self, region: Region, p: Placement) -> torch.Tensor:
        """The candidate composite ``t̃`` (module docstring) for placement ``p``."""
        y0, x0, y1, x1 = bbox(region.pixel_mask > 0)
        ink_x, b = self._parts(region, p.dark_ink)
        g = self.coverage(region, p).to(b)
        comp = region.rgb0.clone()
        comp[:, y0:y1, x0:x1] = g * ink_x[:, None, None] + (1 - g) * b
        return comp

    def projections(
        self, region: Region, placements: list[Placement]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Gray ``y = P_C(t̃)`` on the box ``(N, h_box, w_box)`` of every placement and their
        coverages ``(N, h_box, w_box)``: one batched projection of the MCUs around the box."""
        box = bbox(region.pixel_mask > 0)
        y0, x0, y1, x1 = box
        win, ys, xs = mcu_window(region.code, box)
        base = region.rgb0[:, ys, xs]
        g = torch.stack([self.coverage(region, p) for p in placements]).to(base)
        comps = base.expand(len(placements), *base.shape).clone()
        a0, b0 = y0 - ys.start, x0 - xs.start
        for dark_ink in {p.dark_ink for p in placements}:
            ink_x, b = self._parts(region, dark_ink)
            idx = [i for i, p in enumerate(placements) if p.dark_ink == dark_ink]
            gi = g[idx][:, None]
            comps[idx, :, a0 : a0 + y1 - y0, b0 : b0 + x1 - x0] = (
                gi * ink_x[None, :, None, None] + (1 - gi) * b[None]
            )
        proj = gray(project_rgb(comps.clamp(0, 1), win))
        return proj[:, a0 : a0 + y1 - y0, b0 : b0 + x1 - x0], g

    def scores(self, region: Region, placements: list[Placement]) -> torch.Tensor:
        """``s · corr(y, g) − corr(y, y₀)`` per placement (module docstring): how much of
        the glyph the file lets through, less how much of the old digit it keeps."""
        y0, x0, y1, x1 = bbox(region.pixel_mask > 0)
        seen, g = self.projections(region, placements)
        old = gray(region.rgb0[None])[0][y0:y1, x0:x1].to(seen)
        sign = torch.tensor([-1.0 if p.dark_ink else 1.0 for p in placements]).to(seen)
        out = sign * _ncc_rows(seen, g) - _ncc_rows(seen, old.expand_as(seen))
        return out

    def candidates(self, region: Region) -> list[Placement]:
        """Every shape of both families (fitted ones in every face) at the box centre, in
        the polarity of the digit already there (:func:`dark_ink_likely`)."""
        y0, x0, y1, x1 = bbox(region.pixel_mask > 0)
        dark = dark_ink_likely(region.rgb0[:, y0:y1, x0:x1])
        out = []
        if "sans" in self.faces:
            out = [Placement("box", s, dark_ink=dark) for s in itertools.product(SCALES, STROKES)]
        shapes = itertools.product(FIT_HEIGHTS, FIT_STROKES, FIT_ASPECTS)
        return out + [
            Placement("fit", s, dark_ink=dark, face=face) for s in shapes for face in self.faces
        ]

    def choose(self, region: Region) -> Placement:
        """In each face the shape with the best score, then its best offset (ties: the
        smaller one), kept in :attr:`best_by_face`; returns the best of those."""
        cands = self.candidates(region)
        sc = self.scores(region, cands).tolist()
        shapes: dict[str, tuple[float, Placement]] = {}
        for score, c in zip(sc, cands, strict=True):
            if c.face not in shapes or score > shapes[c.face][0]:
                shapes[c.face] = (score, c)
        shifted = [dataclasses.replace(c, dy=dy, dx=dx)
                   for _, c in shapes.values() for dy in SHIFTS for dx in SHIFTS]  # fmt: skip
        ranked: dict[str, tuple[tuple[float, int], Placement]] = {}
        for score, c in zip(self.scores(region, shifted).tolist(), shifted, strict=True):
            key = (score, -abs(c.dy) - abs(c.dx))
            if c.face not in ranked or key > ranked[c.face][0]:
                ranked[c.face] = (key, c)
        self.best_by_face = {face: c for face, (_, c) in ranked.items()}
        return max(ranked.values(), key=lambda t: t[0])[1]

    def prepare(self, region: Region) -> None:
        super().prepare(region)
        self.choice = self.placement if self.placement is not None else self.choose(region)
        y0, x0, y1, x1 = bbox(region.pixel_mask > 0)
        weight = torch.zeros(region.shape)
        weight[y0:y1, x0:x1] = 1.0
        self.set_target(self.composite(region, self.choice), weight)
