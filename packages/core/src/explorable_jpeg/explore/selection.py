"""Selections: user masks normalised to boolean pixel masks, snapped to blocks and MCUs.

A selection is what the user painted (or a rectangle). The explorer works on whole 8×8
blocks (z has one vector per block) and, for the exploration field, on whole MCUs (a
subsampled chroma sample covers a 2×2 or 2×1 box of luma blocks, so a field that stops
inside an MCU could not be projected exactly).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from explorable_jpeg.errors import RegionError
from explorable_jpeg.jpeg.code import JpegCode

Box = tuple[int, int, int, int]  # (y0, x0, y1, x1), end exclusive


def rect_mask(shape: tuple[int, int], y0: int, x0: int, y1: int, x1: int) -> np.ndarray:
    """A boolean ``(H, W)`` mask of the rectangle ``[y0, y1) × [x0, x1)``.

    Raises :class:`RegionError` if the rectangle does not overlap the image.

    >>> rect_mask((4, 6), 1, 2, 3, 9).sum()
    np.int64(8)
    """
    h, w = shape
    a0, b0, a1, b1 = max(0, y0), max(0, x0), min(h, y1), min(w, x1)
    if a1 <= a0 or b1 <= b0:
        raise RegionError(f"rectangle ({y0}, {x0})–({y1}, {x1}) is outside the {w}x{h} image")
    m = np.zeros((h, w), dtype=bool)
    m[a0:a1, b0:b1] = True
    return m


def as_mask(mask: object, shape: tuple[int, int]) -> np.ndarray:
    """Normalise a selection to a boolean ``(H, W)`` array.

    ``None`` → the whole image. Arrays: bool, or numbers where ≥ ½ of the maximum
    (uint8 ≥ 128: white = selected); ``(H, W, 3/4)`` images use their mean of RGB (and
    alpha > 0 when there is an alpha channel). A ``(y0, x0, y1, x1)`` tuple is a rectangle.
    """
    h, w = shape
    if mask is None:
        return np.ones((h, w), dtype=bool)
    if isinstance(mask, tuple) and len(mask) == 4:
        return rect_mask(shape, *(int(v) for v in mask))
    m = mask.detach().cpu().numpy() if isinstance(mask, torch.Tensor) else np.asarray(mask)
    if m.ndim == 3 and m.shape[-1] in (3, 4):
        alpha = m[..., 3] > 0 if m.shape[-1] == 4 else True
        m = (
            m[..., :3].astype(np.float64).mean(-1) >= (128 if m.dtype == np.uint8 else 0.5)
        ) & alpha
    if m.ndim != 2:
        raise RegionError(f"mask must be (H, W) or an RGB(A) image, got shape {m.shape}")
    if m.shape != (h, w):
        raise RegionError(f"mask is {m.shape[1]}x{m.shape[0]} but the image is {w}x{h}")
    if m.dtype != bool:
        m = m >= (128 if m.dtype == np.uint8 else 0.5)
    if not m.any():
        raise RegionError("the selection is empty (no white pixels in the mask)")
    return m


def block_mask(mask: np.ndarray, padded: tuple[int, int]) -> np.ndarray:
    """``(Hp/8, Wp/8)`` bool: blocks that contain at least one selected pixel.

    >>> block_mask(rect_mask((10, 20), 7, 0, 9, 3), (16, 24)).astype(int).tolist()
    [[1, 0, 0], [1, 0, 0]]
    """
    hp, wp = padded
    m = np.zeros((hp, wp), dtype=bool)
    m[: mask.shape[0], : mask.shape[1]] = mask
    return np.asarray(m.reshape(hp // 8, 8, wp // 8, 8).any(axis=(1, 3)))


def selected_blocks(mask: object, code: JpegCode) -> torch.Tensor:
    """Bool tensor ``(Hp/8, Wp/8)`` of the blocks of ``code``'s canvas that a selection
    (anything :func:`as_mask` takes; ``None``: all) touches — z has one vector per block."""
    return torch.as_tensor(block_mask(as_mask(mask, (code.height, code.width)), code.padded_size()))


def mcu_pixel_mask(blocks: torch.Tensor, mcu: tuple[int, int]) -> torch.Tensor:
    """Pixel mask ``(8·by, 8·bx)`` float of the MCUs that hold a selected block.

    ``blocks`` is a ``(by, bx)`` block mask whose origin is MCU-aligned.
    """
    fy, fx = mcu[0] // 8, mcu[1] // 8
    by, bx = blocks.shape
    m = blocks.float()
    pad = (0, (-bx) % fx, 0, (-by) % fy)
    m = F.pad(m, pad)
    m = F.max_pool2d(m[None, None], (fy, fx), stride=(fy, fx))[0, 0]
    m = m.repeat_interleave(fy, 0).repeat_interleave(fx, 1)[:by, :bx]
    return m.repeat_interleave(8, 0).repeat_interleave(8, 1)


def dilate(m: torch.Tensor, r: int) -> torch.Tensor:
    """Binary dilation of a 2-D mask by a ``(2r+1)²`` square (bool result)."""
    if r <= 0:
        return m.bool()
    return F.max_pool2d(m[None, None].float(), 2 * r + 1, stride=1, padding=r)[0, 0] > 0


def bbox(mask: np.ndarray | torch.Tensor) -> Box:
    """``(y0, x0, y1, x1)`` (end exclusive) of the nonzero entries of a 2-D array or tensor.

    >>> bbox(rect_mask((6, 8), 1, 2, 4, 5))
    (1, 2, 4, 5)
    """
    m = mask.detach().cpu().numpy() if isinstance(mask, torch.Tensor) else np.asarray(mask)
    rows, cols = np.nonzero(m.any(axis=1))[0], np.nonzero(m.any(axis=0))[0]
    return int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1
