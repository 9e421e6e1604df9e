"""The strokes painted on the image → the selection mask and the scribble, in file pixels."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ..display import display_size, resize_nearest, rgb
from ..session import Session


def _rgba(a: Any) -> np.ndarray | None:
    if a is None:
        return None
    if isinstance(a, str | Path):
        a = Image.open(a)
    if isinstance(a, Image.Image):
        a = np.asarray(a.convert("RGBA"))
    a = np.asarray(a)
    if a.ndim == 2:
        a = np.repeat(a[..., None], 3, axis=-1)
    if a.shape[-1] == 3:
        a = np.concatenate([a, np.full(a.shape[:2] + (1,), 255, a.dtype)], axis=-1)
    return a.astype(np.uint8)


def strokes(value: Any, shown: tuple[int, int]) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Editor value → ``(mask, colours)`` at display size ``shown`` (None when nothing drawn).

    The brush layers carry the strokes: a pixel is selected where any layer is opaque, and
    its colour is the top-most layer's colour there.
    """
    if not isinstance(value, dict):
        return None, None
    h, w = shown
    mask = np.zeros((h, w), dtype=bool)
    colours = np.zeros((h, w, 3), dtype=np.uint8)
    for layer in value.get("layers") or []:
        rgba = _rgba(layer)
        if rgba is None:
            continue
        rgba = resize_nearest(rgba, h, w)
        painted = rgba[..., 3] > 0
        colours[painted] = rgba[..., :3][painted]
        mask |= painted
    if not mask.any():
        return None, None
    return mask, colours


SELECTIONS: dict[str, str] = {
    "brush": "the painted pixels",
    "box": "the rectangle around the strokes (drag one diagonal line)",
}


def box_around(mask: np.ndarray) -> np.ndarray:
    """The smallest axis-aligned rectangle holding every True pixel of ``mask``, filled."""
    ys, xs = np.nonzero(mask)
    out = np.zeros_like(mask)
    if ys.size:
        out[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1] = True
    return out


OUTLINE_PX = 2  # width of the drawn box
DASH_PX = 6  # its dashes, white and black in turn: visible on any image


def outline_box(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``image`` (RGB uint8) with the border of :func:`box_around` ``mask`` drawn on it, a
    dashed white-and-black line :data:`OUTLINE_PX` wide just inside the box (a copy)."""
    out = rgb(image).copy()
    ys, xs = np.nonzero(mask)
    if not ys.size:
        return out
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    border = np.zeros(mask.shape, dtype=bool)
    t = OUTLINE_PX
    border[y0:y1, x0:x1] = True
    border[y0 + t : y1 - t, x0 + t : x1 - t] = False
    yy, xx = np.mgrid[: mask.shape[0], : mask.shape[1]]
    white = ((yy + xx) // DASH_PX) % 2 == 0
    out[border & white] = 255
    out[border & ~white] = 0
    return out


def full_resolution_strokes(
    state: Session, value: Any, selection: str = "brush"
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Mask ``(H, W)`` and scribble image (current image with the strokes painted in).
    ``selection``: ``brush`` (the painted pixels) or ``box`` (the rectangle around them)."""
    h, w = state.code.height, state.code.width
    mask, colours = strokes(value, display_size(h, w))
    if mask is None or colours is None:
        return None, None
    mask = resize_nearest(mask.astype(np.uint8) * 255, h, w) > 0
    colours = resize_nearest(colours, h, w)
    scribble = np.where(mask[..., None], colours, rgb(state.image))
    if selection == "box":
        mask = box_around(mask)
    return mask, scribble
