"""Bin tests and bin excess: how far libjpeg's ×8 integer DCT ``t`` of an image lies outside
the bins ``[lo, hi]`` of the code (:func:`~explorable_jpeg.jpeg.libjpeg.forward.bin_bounds`).

The excess of one coefficient is ``max(0, lo − t, t − hi)`` (0: it quantizes to the file's
value); every integer stage of snap lowers a sum of it. Unreachable blocks
(:mod:`explorable_jpeg.consistency.reachability`) get bounds so wide that they never count.
"""

from __future__ import annotations

import numpy as np

from explorable_jpeg.consistency.reachability import free_blocks, free_bounds
from explorable_jpeg.jpeg.code import JpegCode
from explorable_jpeg.jpeg.libjpeg.forward import bin_bounds, bin_excess, unquantized_dct8


def total_excess(
    t: np.ndarray, lo: np.ndarray, hi: np.ndarray, axis: int | tuple[int, ...] = -1
) -> np.ndarray:
    """Bin excess ``Σ max(0, lo − t, t − hi)`` summed over ``axis``."""
    return bin_excess(t, lo, hi).sum(axis=axis)


def out_of_bin_count(t: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Coefficients out of their bins, counted over the last axis."""
    return ((t < lo) | (t > hi)).sum(axis=-1)


def outside_bin(t: np.ndarray, q: np.ndarray, table: np.ndarray) -> np.ndarray:
    """``quantize_islow(t) != q`` without a division: with ``e = t − 8Mq`` the value ``t``
    quantizes to ``q`` iff ``−4M + [q ≤ 0] ≤ e ≤ 4M − 1 + [q < 0]`` (:func:`bin_bounds`)."""
    m8 = np.asarray(table, dtype=np.int64) << 3
    q = q.astype(np.int64)
    e = t - q * m8
    half = m8 >> 1
    return (e < (q <= 0) - half) | (e > half - 1 + (q < 0))


def image_violations(image: np.ndarray, code: JpegCode) -> list[np.ndarray]:
    """Differing coefficients of a uint8 image, per component ``(by, bx, 8, 8)`` bool;
    unreachable blocks excluded."""
    return [
        outside_bin(t, c.coefficients, c.table) & ~f[..., None, None]
        for t, c, f in zip(
            unquantized_dct8(image, code), code.components, free_blocks(code), strict=True
        )
    ]


def image_excess(image: np.ndarray, code: JpegCode) -> list[np.ndarray]:
    """Per-coefficient excess of a uint8 image, per component, in ×8 DCT units (0 = identical)."""
    out = []
    for t, comp, free in zip(
        unquantized_dct8(image, code), code.components, free_blocks(code), strict=True
    ):
        lo, hi = free_bounds(*bin_bounds(comp.coefficients, comp.table), free)
        out.append(bin_excess(t, lo, hi))
    return out


def mcu_totals(per_block: list[np.ndarray], code: JpegCode) -> np.ndarray:
    """Sum per-block values ``(by, bx)`` of every component over MCUs: ``(my, mx)`` float."""
    my, mx = code.mcu_grid
    score = np.zeros((my, mx), dtype=np.float64)
    for pb, comp in zip(per_block, code.components, strict=True):
        by, bx = pb.shape
        v, h = comp.v_samp, comp.h_samp
        pad = np.zeros((my * v, mx * h))
        pad[:by, :bx] = pb
        score += pad.reshape(my, v, mx, h).sum(axis=(1, 3))
    return score


def mcu_scores(image: np.ndarray, code: JpegCode) -> np.ndarray:
    """Total bin excess of a uint8 image per MCU ``(mcu_rows, mcu_cols)``."""
    return mcu_totals([ex.sum(axis=(-2, -1)) for ex in image_excess(image, code)], code)
