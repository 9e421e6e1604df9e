"""The digit tool's targets: the old digit's ink is found (not the texture around it), the
polarity is the digit's, and the chosen target shows the new digit and not the old one."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw, ImageFont

from explorable_jpeg import compress, decode_plain
from explorable_jpeg.explore.glyphs import (
    DigitTargetObjective,
    dark_ink_likely,
    ink_box,
    largest_component,
)
from explorable_jpeg.explore.objectives._ops import gray
from explorable_jpeg.explore.objectives.base import Region
from explorable_jpeg.explore.selection import rect_mask

H, W = 64, 64
BOX = (8, 16, 56, 48)  # y0, x0, y1, x1: 48 × 32 px


def printed(digit: int, dark: bool, blob: bool = False) -> np.ndarray:
    """A ``digit`` (Pillow's font, ink rows 16–48) on a flat paper, with a separate ink
    blob in the box's corner when ``blob``."""
    paper, ink = (210, 40) if dark else (40, 210)
    img = Image.new("L", (W, H), paper)
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=44)
    left, top, right, bottom = draw.textbbox((0, 0), str(digit), font=font)
    draw.text((32 - (left + right) / 2, 32 - (top + bottom) / 2), str(digit), fill=ink, font=font)
    if blob:
        draw.rectangle((17, 51, 20, 54), fill=ink)
    return np.repeat(np.asarray(img)[..., None], 3, axis=2)


def region_of(img: np.ndarray, quality: int) -> Region:
    _, code = compress(img, quality=quality, subsampling="4:2:0")
    rgb = torch.as_tensor(decode_plain(code).astype(np.float32) / 255).permute(2, 0, 1)
    mask = torch.as_tensor(rect_mask((H, W), *BOX)).float()
    return Region(rgb0=rgb, mask=mask, pixel_mask=mask, code=code, origin=(0, 0))


def corr(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a - a.mean(), b - b.mean()
    return float((a * b).sum() / (a.norm() * b.norm()))


def test_largest_component_keeps_the_big_part_only():
    m = np.zeros((10, 10), dtype=bool)
    m[1:5, 1:5] = True  # 16 px
    m[7:9, 7:9] = True  # 4 px, apart
    part = largest_component(m)
    assert part.sum() == 16 and part[1:5, 1:5].all() and not part[7:, 7:].any()
    assert not largest_component(np.zeros((3, 3), dtype=bool)).any()


@pytest.mark.parametrize("dark", [True, False])
def test_ink_box_is_the_digit_not_a_blob_beside_it(dark):
    img = printed(1, dark, blob=True)
    y0, x0, y1, x1 = BOX
    box = torch.as_tensor(img[y0:y1, x0:x1].astype(np.float32) / 255).permute(2, 0, 1)
    assert dark_ink_likely(box) == dark
    a0, b0, a1, b1 = ink_box(box, dark)
    ys, xs = np.nonzero((img[y0:y1, x0:x1, 0] < 125) == dark)
    digit = ys < 40  # the blob sits at rows 43–46 of the box
    want = (ys[digit].min(), xs[digit].min(), ys[digit].max() + 1, xs[digit].max() + 1)
    assert np.abs(np.subtract((a0, b0, a1, b1), want)).max() <= 1  # anti-aliased edges


@pytest.mark.parametrize("dark", [True, False])
def test_target_moves_toward_the_new_digit(dark):
    """At quality 10 the projected target of digit 3 over a printed 1 reads more as the 3
    than as the 1 (correlation with the two glyphs, drawn the same way), where the file's
    plain decoding reads as the 1."""
    r = region_of(printed(1, dark), quality=10)
    obj = DigitTargetObjective(3)
    obj.prepare(r)
    assert obj.choice is not None and obj.choice.dark_ink == dark
    # the best of every face is kept (the explorer shows them) and the choice is one of them
    assert set(obj.best_by_face) == {"sans", "serif", "mono"}
    assert obj.choice in obj.best_by_face.values()
    assert all(p.face == f for f, p in obj.best_by_face.items())
    y0, x0, y1, x1 = BOX
    sign = -1.0 if dark else 1.0
    reader = dataclasses.replace(obj.choice, face="sans")  # the two glyphs in one face
    g3 = obj.coverage(r, reader).float()
    g1 = DigitTargetObjective(1).coverage(r, reader).float()

    def lean(rgb: torch.Tensor) -> float:  # > 0: more like the 3
        y = gray(rgb[None])[0][y0:y1, x0:x1]
        return sign * (corr(y, g3) - corr(y, g1))

    assert lean(r.rgb0) < 0 < lean(obj.target)
