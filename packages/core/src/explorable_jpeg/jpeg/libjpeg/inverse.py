"""Bit-exact numpy models of libjpeg's decoder arithmetic (islow IDCT, fancy up-sampling).

Used only to reproduce libjpeg's own plain decoding (``decode_plain(exact=False)``) and
as the starting point of the exact plain decode; the consistency machinery does not
depend on them. Formulas follow ``jidctint.c`` and ``jdsample.c`` (libjpeg-turbo, whose
SIMD paths give the same results).
"""

from __future__ import annotations

import numpy as np

from explorable_jpeg.jpeg.libjpeg.islow import (
    CONST_BITS,
    F0298,
    F0390,
    F0541,
    F0765,
    F0899,
    F1175,
    F1501,
    F1847,
    F1961,
    F2053,
    F2562,
    F3072,
    PASS1_BITS,
    Descale,
    descale_shift,
    gemm_transform,
    no_descale,
    pass_matrices,
)


def _idct_1d(
    d: list[np.ndarray],
    shift: int,
    even_shift_in: bool,
    descale: Descale[np.ndarray] = descale_shift,
) -> list[np.ndarray]:
    z2, z3 = d[2], d[6]
    z1 = (z2 + z3) * F0541
    tmp2 = z1 - z3 * F1847
    tmp3 = z1 + z2 * F0765
    tmp0 = (d[0] + d[4]) << CONST_BITS
    tmp1 = (d[0] - d[4]) << CONST_BITS
    tmp10, tmp13 = tmp0 + tmp3, tmp0 - tmp3
    tmp11, tmp12 = tmp1 + tmp2, tmp1 - tmp2
    t0, t1, t2, t3 = d[7], d[5], d[3], d[1]
    z1, z2, z3, z4 = t0 + t3, t1 + t2, t0 + t2, t1 + t3
    z5 = (z3 + z4) * F1175
    t0, t1, t2, t3 = t0 * F0298, t1 * F2053, t2 * F3072, t3 * F1501
    z1, z2 = z1 * -F0899, z2 * -F2562
    z3 = z3 * -F1961 + z5
    z4 = z4 * -F0390 + z5
    t0 = t0 + z1 + z3
    t1 = t1 + z2 + z4
    t2 = t2 + z2 + z3
    t3 = t3 + z1 + z4
    return [
        descale(tmp10 + t3, shift),
        descale(tmp11 + t2, shift),
        descale(tmp12 + t1, shift),
        descale(tmp13 + t0, shift),
        descale(tmp13 - t0, shift),
        descale(tmp12 - t1, shift),
        descale(tmp11 - t2, shift),
        descale(tmp10 - t3, shift),
    ]


_IDCT_GEMM = pass_matrices(
    lambda d, first: _idct_1d(d, 0, first, descale=no_descale),
    [CONST_BITS - PASS1_BITS] * 8,
    [CONST_BITS + PASS1_BITS + 3] * 8,
    first_axis=0,  # columns first: the pass runs down each column (the second-to-last axis)
)
_GEMM_LIMIT = 1 << 20
"""Dequantized values below this keep every sum of the GEMM form below 2⁵³ (exact)."""


def idct_islow(coefficients: np.ndarray, table: np.ndarray) -> np.ndarray:
    """libjpeg's integer inverse DCT of quantized blocks ``(..., 8, 8)``: uint8 samples."""
    d = coefficients.astype(np.int64) * np.asarray(table, dtype=np.int64)
    if d.size and int(np.abs(d).max()) < _GEMM_LIMIT:
        out = gemm_transform(d, _IDCT_GEMM) + 128.0
        return np.clip(out, 0, 255).astype(np.int32)
    return idct_islow_ints(coefficients, table)


def idct_islow_ints(coefficients: np.ndarray, table: np.ndarray) -> np.ndarray:
    """jidctint.c operation by operation in int64 (any coefficient range): the reference
    that the GEMM form of :func:`idct_islow` equals."""
    d = coefficients.astype(np.int64) * np.asarray(table, dtype=np.int64)
    cols = _idct_1d([d[..., k, :] for k in range(8)], CONST_BITS - PASS1_BITS, True)
    ws = np.stack(cols, axis=-2)
    rows = _idct_1d([ws[..., :, k] for k in range(8)], CONST_BITS + PASS1_BITS + 3, False)
    out = np.stack(rows, axis=-1) + 128
    return np.clip(out, 0, 255).astype(np.int32)


def _fancy_h2(x: np.ndarray) -> np.ndarray:
    """h2v1 fancy up-sampling of int rows ``(..., w)`` → ``(..., 2w)``."""
    w = x.shape[-1]
    out = np.empty((*x.shape[:-1], 2 * w), dtype=np.int64)
    if w == 1:
        out[..., 0] = out[..., 1] = x[..., 0]
        return out
    prev = np.concatenate([x[..., :1], x[..., :-1]], axis=-1)
    nxt = np.concatenate([x[..., 1:], x[..., -1:]], axis=-1)
    out[..., 0::2] = (3 * x + prev + 1) >> 2
    out[..., 1::2] = (3 * x + nxt + 2) >> 2
    out[..., 0] = x[..., 0]
    out[..., -1] = x[..., -1]
    return out


def _fancy_v2(x: np.ndarray, bias_even: int, bias_odd: int, shift: int, scale: int) -> np.ndarray:
    """Vertical ×2 triangle: rows ``(3·x + neighbour)``; returns the un-shifted column sums
    when ``shift`` is 0, else ``(sum·scale + bias) >> shift``."""
    above = np.concatenate([x[:1], x[:-1]], axis=0)
    below = np.concatenate([x[1:], x[-1:]], axis=0)
    even = 3 * x + above
    odd = 3 * x + below
    out = np.empty((2 * x.shape[0], *x.shape[1:]), dtype=np.int64)
    out[0::2] = even
    out[1::2] = odd
    if shift:
        out[0::2] = (out[0::2] * scale + bias_even) >> shift
        out[1::2] = (out[1::2] * scale + bias_odd) >> shift
    return out


def upsample_fancy(plane: np.ndarray, fy: int, fx: int) -> np.ndarray:
    """libjpeg-turbo's default up-sampling of an int plane ``(h, w)`` (its real size).

    h2v1, h2v2 and h1v2 use the triangle filters of ``jdsample.c``; other factors replicate.
    """
    x = plane.astype(np.int64)
    if (fy, fx) == (1, 1):
        return x
    if (fy, fx) == (1, 2):
        return _fancy_h2(x)
    if (fy, fx) == (2, 1):
        return _fancy_v2(x, 1, 2, 2, 1)
    if (fy, fx) == (2, 2):
        cs = _fancy_v2(x, 0, 0, 0, 1)  # column sums 3·this + nearer neighbour row
        w = cs.shape[-1]
        out = np.empty((cs.shape[0], 2 * w), dtype=np.int64)
        if w == 1:
            out[:, 0] = (cs[:, 0] * 4 + 8) >> 4
            out[:, 1] = (cs[:, 0] * 4 + 7) >> 4
            return out
        last = np.concatenate([cs[:, :1], cs[:, :-1]], axis=1)
        nxt = np.concatenate([cs[:, 1:], cs[:, -1:]], axis=1)
        out[:, 0::2] = (cs * 3 + last + 8) >> 4
        out[:, 1::2] = (cs * 3 + nxt + 7) >> 4
        out[:, 0] = (cs[:, 0] * 4 + 8) >> 4
        out[:, -1] = (cs[:, -1] * 4 + 7) >> 4
        return out
    return np.repeat(np.repeat(x, fy, axis=0), fx, axis=1)
