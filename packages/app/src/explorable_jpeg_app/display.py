"""What the browser shows of an image: one display size, one rounding rule, the compare views.

The code is never resized: a large image is shown downscaled by :func:`display_scale`, at
the size :func:`display_size` gives — the one rounding rule shared by what is shown and
by the strokes painted on it, which are mapped back to the file's pixels.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

DISPLAY_MAX_SIDE = 1024  # longest side of what the browser shows; the code is never resized

#: the compare views of the main image: label → what it shows
COMPARE_VIEWS: dict[str, str] = {
    "current": "the image as it is now",
    "previous": "the image before the last change",
    "plain": "the plain JPEG decode (bin centres)",
    "difference ×4": "|current − previous| × 4: where the last change acted",
}
DIFFERENCE_GAIN = 4


def display_scale(height: int, width: int, max_side: int = DISPLAY_MAX_SIDE) -> float:
    """Factor ≤ 1 that brings the longest side to at most ``max_side``."""
    return min(1.0, max_side / max(height, width))


def display_size(height: int, width: int) -> tuple[int, int]:
    """``(h, w)`` of an image of ``height × width`` pixels as shown: each side times
    :func:`display_scale`, rounded to the nearest pixel, at least one."""
    scale = display_scale(height, width)
    if scale >= 1.0:
        return height, width
    return max(1, round(height * scale)), max(1, round(width * scale))


def rgb(image: np.ndarray) -> np.ndarray:
    """``(H, W)`` or ``(H, W, 3)`` uint8 → ``(H, W, 3)`` (gray repeated)."""
    return np.repeat(image[..., None], 3, axis=-1) if image.ndim == 2 else image


def to_display(image: np.ndarray) -> np.ndarray:
    """RGB uint8 for the browser at :func:`display_size` (Lanczos; display only)."""
    image = rgb(image)
    h, w = display_size(*image.shape[:2])
    if (h, w) == image.shape[:2]:
        return image
    return np.asarray(Image.fromarray(image).resize((w, h), Image.Resampling.LANCZOS))


def resize_nearest(array: np.ndarray, height: int, width: int) -> np.ndarray:
    """``array`` (uint8, 2-D or with channels) resized to ``height × width`` (nearest)."""
    if array.shape[:2] == (height, width):
        return array
    return np.asarray(Image.fromarray(array).resize((width, height), Image.Resampling.NEAREST))


def difference(a: np.ndarray, b: np.ndarray, gain: int = DIFFERENCE_GAIN) -> np.ndarray:
    """``min(255, gain · |a − b|)`` per channel, RGB uint8: black where nothing changed."""
    diff = np.abs(rgb(a).astype(np.int16) - rgb(b).astype(np.int16)) * gain
    return np.minimum(diff, 255).astype(np.uint8)


def compare_view(
    current: np.ndarray, previous: np.ndarray, plain: np.ndarray, view: str
) -> np.ndarray:
    """The main image in compare view ``view`` (one of :data:`COMPARE_VIEWS`), full size."""
    if view == "previous":
        return rgb(previous)
    if view == "plain":
        return rgb(plain)
    if view.startswith("difference"):
        return difference(current, previous)
    return rgb(current)
