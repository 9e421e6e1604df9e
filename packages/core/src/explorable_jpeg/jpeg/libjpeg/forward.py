"""A bit-exact numpy model of libjpeg's encoder (islow DCT, no smoothing).

Used by the snap step and by :func:`explorable_jpeg.check` to know, for an 8-bit image,
which quantized coefficients libjpeg would write with a given code's tables and sampling:

1. RGB → YCbCr with libjpeg's fixed-point arithmetic (:func:`color.rgb_to_ycbcr_libjpeg`);
2. edge replication to whole blocks and libjpeg's down-sampling, e.g. h2v2:
   ``out = (a + b + c + d + bias) >> 2`` with bias alternating 1, 2 along a row;
3. the integer forward DCT of ``jfdctint.c`` on ``sample − 128`` (outputs scaled by 8);
4. quantization ``q = sign(t) · ⌊(|t| + 4M) / 8M⌋``.

The tests compare it with real libjpeg files coefficient by coefficient.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from explorable_jpeg.jpeg.code import JpegCode
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
from explorable_jpeg.ops.color import CBCR_OFFSET, ONE_HALF, SCALEBITS, fix
from explorable_jpeg.ops.dct import ArrayT, blockify


def _fdct_1d(
    d: list[ArrayT], first_pass: bool, descale: Descale[ArrayT] = descale_shift
) -> list[ArrayT]:
    """One pass of jfdctint.c over 8 int64 arrays (the 8 samples of rows or columns).

    ``descale`` is the rounding shift; :func:`no_descale` gives the pass's exact integer
    linear part (see :func:`pass_matrices`)."""
    tmp0, tmp7 = d[0] + d[7], d[0] - d[7]
    tmp1, tmp6 = d[1] + d[6], d[1] - d[6]
    tmp2, tmp5 = d[2] + d[5], d[2] - d[5]
    tmp3, tmp4 = d[3] + d[4], d[3] - d[4]
    tmp10, tmp13 = tmp0 + tmp3, tmp0 - tmp3
    tmp11, tmp12 = tmp1 + tmp2, tmp1 - tmp2
    out: list[ArrayT] = [None] * 8  # type: ignore[list-item]
    if first_pass:
        out[0] = (tmp10 + tmp11) << PASS1_BITS
        out[4] = (tmp10 - tmp11) << PASS1_BITS
        shift = CONST_BITS - PASS1_BITS
    else:
        out[0] = descale(tmp10 + tmp11, PASS1_BITS)
        out[4] = descale(tmp10 - tmp11, PASS1_BITS)
        shift = CONST_BITS + PASS1_BITS
    z1 = (tmp12 + tmp13) * F0541
    out[2] = descale(z1 + tmp13 * F0765, shift)
    out[6] = descale(z1 - tmp12 * F1847, shift)
    z1 = tmp4 + tmp7
    z2 = tmp5 + tmp6
    z3 = tmp4 + tmp6
    z4 = tmp5 + tmp7
    z5 = (z3 + z4) * F1175
    tmp4 = tmp4 * F0298
    tmp5 = tmp5 * F2053
    tmp6 = tmp6 * F3072
    tmp7 = tmp7 * F1501
    z1 = z1 * -F0899
    z2 = z2 * -F2562
    z3 = z3 * -F1961 + z5
    z4 = z4 * -F0390 + z5
    out[7] = descale(tmp4 + z1 + z3, shift)
    out[5] = descale(tmp5 + z2 + z4, shift)
    out[3] = descale(tmp6 + z2 + z3, shift)
    out[1] = descale(tmp7 + z1 + z4, shift)
    return out


_FDCT_GEMM = pass_matrices(
    lambda d, first: _fdct_1d(d, first, descale=no_descale),
    [0 if k in (0, 4) else CONST_BITS - PASS1_BITS for k in range(8)],
    [PASS1_BITS if k in (0, 4) else CONST_BITS + PASS1_BITS for k in range(8)],
    first_axis=1,  # rows first: the pass runs along each row (the last axis)
)


def fdct_islow(blocks: ArrayT) -> ArrayT:
    """libjpeg's integer forward DCT of level-shifted int blocks ``(..., 8, 8)``; result ×8.

    numpy, or an integer torch tensor (the training codes: int64 on its own device).

    Level-shifted 8-bit samples (in [−128, 127]) run as two exact float64 GEMMs
    (:func:`pass_matrices`: pass-1 sums stay below 2²⁴, pass-2 sums below 2³¹); other
    inputs run jfdctint.c's arithmetic in int64 (:func:`fdct_islow_ints`). Returns int64.
    """
    if isinstance(blocks, torch.Tensor):  # any device, int64 throughout
        b = blocks.long()
        rows = _fdct_1d([b[..., :, k] for k in range(8)], first_pass=True)
        cols = _fdct_1d([torch.stack(rows, -1)[..., k, :] for k in range(8)], first_pass=False)
        return torch.stack(cols, -2)
    b = np.asarray(blocks)
    if b.size == 0:
        return np.zeros(b.shape, dtype=np.int64)
    if int(b.min()) >= -128 and int(b.max()) <= 127:
        return gemm_transform(b, _FDCT_GEMM).astype(np.int64)
    return fdct_islow_ints(b)


def fdct_islow_ints(blocks: np.ndarray) -> np.ndarray:
    """jfdctint.c operation by operation in int64 on numpy blocks ``(..., 8, 8)`` (any int
    range); the reference that the GEMM form of :func:`fdct_islow` equals."""
    b = np.asarray(blocks).astype(np.int64, copy=False)
    rows = _fdct_1d([b[..., :, k] for k in range(8)], first_pass=True)
    mid = np.empty(b.shape, dtype=np.int64)
    for k in range(8):
        mid[..., :, k] = rows[k]
    cols = _fdct_1d([mid[..., k, :] for k in range(8)], first_pass=False)
    out = np.empty(b.shape, dtype=np.int64)
    for k in range(8):
        out[..., k, :] = cols[k]
    return out


def quantize_islow(dct8: ArrayT, table: ArrayT | np.ndarray) -> ArrayT:
    """``sign(t) · ⌊(|t| + 4M) / 8M⌋`` — libjpeg's rounding of the ×8 integer DCT (numpy, or
    torch with a broadcastable integer ``table``)."""
    if isinstance(dct8, torch.Tensor):
        div = table.round().long() << 3
        q = (dct8.abs() + (div >> 1)) // div
        return torch.where(dct8 < 0, -q, q)
    div = np.asarray(table, dtype=np.int64) << 3
    a = np.abs(dct8)
    q = (a + (div >> 1)) // div
    return np.where(dct8 < 0, -q, q)


def bin_bounds(q: np.ndarray, table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inclusive bounds ``[lo, hi]`` of the ×8 integer DCT value ``t`` that quantizes to ``q``."""
    m8 = np.asarray(table, dtype=np.int64) << 3
    half = m8 >> 1
    q = q.astype(np.int64)
    centre = q * m8
    lo = np.where(q > 0, centre - half, np.where(q < 0, centre - half + 1, -(half - 1)))
    hi = np.where(q > 0, centre + half - 1, np.where(q < 0, centre + half, half - 1))
    return lo, hi


def bin_excess(t: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """How far ``t`` lies outside its bin ``[lo, hi]`` (:func:`bin_bounds`), elementwise in
    ``t``'s dtype: ``max(0, lo − t, t − hi)`` (0 inside the bin)."""
    return np.maximum(lo - t, 0) + np.maximum(t - hi, 0)


def downsample_libjpeg(plane: ArrayT, fy: int, fx: int) -> ArrayT:
    """libjpeg's integer down-sampling of an int plane whose size is a multiple of (fy, fx)
    (numpy, or an integer torch tensor)."""
    if fy == 1 and fx == 1:
        return plane
    h, w = plane.shape[-2:]
    shape = (*plane.shape[:-2], h // fy, fy, w // fx, fx)
    s: Any  # box sums and column indices: a tensor or an int array, like ``plane``
    cols: Any
    if isinstance(plane, torch.Tensor):
        s = plane.long().reshape(shape).sum((-3, -1))
        cols = torch.arange(w // fx, device=plane.device)
    elif fy * fx <= 4 and plane.dtype.kind in "iub" and plane.dtype.itemsize <= 4:
        # 8-bit samples: a strided sum of the fy·fx phases in int32 (exact, no reshape)
        p = plane.astype(np.int32, copy=False)
        s = sum(p[..., a::fy, b::fx] for a in range(fy) for b in range(fx))
        cols = np.arange(w // fx, dtype=np.int32)
    else:
        s = plane.astype(np.int64).reshape(shape).sum(axis=(-3, -1))
        cols = np.arange(w // fx)
    if fy == 1 and fx == 2:  # h2v1: bias 0, 1, 0, 1, ...
        return (s + (cols % 2)) >> 1
    if fy == 2 and fx == 2:  # h2v2: bias 1, 2, 1, 2, ...
        return (s + 1 + (cols % 2)) >> 2
    n = fy * fx
    return (s + n // 2) // n


def padded_rows(height: int, max_v: int, fy: int, n: int) -> np.ndarray:
    """The image row (``0 … height − 1``) that libjpeg uses for each of ``n`` full-resolution
    rows of a component with vertical box ``fy``.

    libjpeg pads the image to a multiple of ``max_v`` rows by repeating the last row,
    down-samples, then repeats the last *down-sampled* row. In full-resolution terms: repeat
    the last row up to the multiple of ``max_v``, then cycle the last ``fy`` rows (every
    padded box then averages like the last real box). :func:`sample_planes` pads integer
    planes in libjpeg's own order (faster there: fewer rows to down-sample); float canvases
    and tiles index with this."""
    hv = -(-height // max_v) * max_v
    r = np.arange(n)
    return np.minimum(np.where(r < hv, r, hv - fy + (r - hv) % fy), height - 1)


def sample_planes(
    full: list[np.ndarray], code: JpegCode, height: int, width: int, blocks: list[tuple[int, int]]
) -> list[np.ndarray]:
    """Pad and down-sample full-resolution int planes ``(..., height, width)`` as libjpeg does.

    ``blocks`` gives each component's ``(by, bx)``. With the image's own size and blocks this
    is the whole image; with an MCU-aligned window of it (its rows and columns starting at
    multiples of the MCU size, and the window's own size and block counts) it gives exactly
    the samples of the window's blocks, since libjpeg pads only at the image's edges.
    """
    hv = -(-height // code.max_v) * code.max_v
    out = []
    for i, p in enumerate(full):
        fy, fx = code.factors(i)
        by, bx = blocks[i]
        wfull = bx * 8 * fx
        lead = [(0, 0)] * (p.ndim - 2)
        ph, pw = max(hv - height, 0), max(wfull - width, 0)
        if ph or pw:
            p = np.pad(p, [*lead, (0, ph), (0, pw)], mode="edge")
        p = p[..., : (hv // fy) * fy, :wfull]
        d = downsample_libjpeg(p, fy, fx)
        if d.shape[-2] < by * 8:
            d = np.pad(d, [*lead, (0, by * 8 - d.shape[-2]), (0, 0)], mode="edge")
        out.append(d[..., : by * 8, :])
    return out


def ycc_planes(rgb: np.ndarray, luma_only: bool = False) -> list[np.ndarray]:
    """libjpeg's integer RGB→YCbCr of uint8 ``(..., 3)`` as separate int32 planes ``(...)``.

    The same numbers as :func:`color.rgb_to_ycbcr_libjpeg` (jccolor.c), in int32 (every sum is
    below 2²⁵ for 8-bit input) and without stacking the channels, which the encoder splits
    again anyway. ``luma_only``: Y alone.
    """
    r, g, b = (rgb[..., i].astype(np.int32) for i in range(3))
    y = (fix(0.299) * r + fix(0.587) * g + fix(0.114) * b + ONE_HALF) >> SCALEBITS
    if luma_only:
        return [y]
    bias = CBCR_OFFSET + ONE_HALF - 1
    cb = (-fix(0.16874) * r - fix(0.33126) * g + fix(0.5) * b + bias) >> SCALEBITS
    cr = (fix(0.5) * r - fix(0.41869) * g - fix(0.08131) * b + bias) >> SCALEBITS
    return [y, cb, cr]


def full_planes(image: np.ndarray, code: JpegCode) -> list[np.ndarray]:
    """The full-resolution int32 sample planes libjpeg would down-sample, one per component."""
    image = np.asarray(image)
    if code.is_color:
        if image.ndim != 3:
            raise ValueError("a colour code needs an (H, W, 3) RGB image")
        return ycc_planes(image)
    return [image.astype(np.int32) if image.ndim == 2 else ycc_planes(image, luma_only=True)[0]]


def component_planes(image: np.ndarray, code: JpegCode) -> list[np.ndarray]:
    """The int sample planes libjpeg would DCT, one per component, cropped to its blocks."""
    full = full_planes(image, code)
    blocks = [c.blocks for c in code.components]
    return sample_planes(full, code, code.height, code.width, blocks)


def encode_coefficients(image: np.ndarray, code: JpegCode) -> list[np.ndarray]:
    """Quantized coefficients libjpeg writes for a uint8 image with ``code``'s tables/sampling.

    Example: the model gives the very coefficients of a file libjpeg wrote.
        >>> import numpy as np
        >>> from explorable_jpeg import compress
        >>> image = np.random.default_rng(0).integers(0, 256, (16, 24, 3), dtype=np.uint8)
        >>> _, code = compress(image, quality=75)
        >>> [
        ...     np.array_equal(q, c.coefficients)
        ...     for q, c in zip(encode_coefficients(image, code), code.components)
        ... ]
        [True, True, True]
    """
    out = []
    for plane, comp in zip(component_planes(image, code), code.components, strict=True):
        t = fdct_islow(blockify(plane.astype(np.int32) - 128))
        out.append(quantize_islow(t, comp.table).astype(np.int16))
    return out


def unquantized_dct8(image: np.ndarray, code: JpegCode) -> list[np.ndarray]:
    """The ×8 integer DCT values ``t`` (before quantization) of every component's blocks."""
    return [
        fdct_islow(blockify(plane.astype(np.int32) - 128))
        for plane in component_planes(image, code)
    ]
