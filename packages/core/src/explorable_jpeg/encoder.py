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

import numpy as np
import torch

from .code import JpegCode
from .color import rgb_to_ycbcr_libjpeg
from .dct import blockify

_CONST_BITS = 13
_PASS1_BITS = 2
_F0298 = 2446
_F0390 = 3196
_F0541 = 4433
_F0765 = 6270
_F0899 = 7373
_F1175 = 9633
_F1501 = 12299
_F1847 = 15137
_F1961 = 16069
_F2053 = 16819
_F2562 = 20995
_F3072 = 25172


def _descale(x: np.ndarray, n: int) -> np.ndarray:
    return (x + (1 << (n - 1))) >> n


def _fdct_1d(d: list[np.ndarray], first_pass: bool) -> list[np.ndarray]:
    """One pass of jfdctint.c over 8 int64 arrays (the 8 samples of rows or columns)."""
    tmp0, tmp7 = d[0] + d[7], d[0] - d[7]
    tmp1, tmp6 = d[1] + d[6], d[1] - d[6]
    tmp2, tmp5 = d[2] + d[5], d[2] - d[5]
    tmp3, tmp4 = d[3] + d[4], d[3] - d[4]
    tmp10, tmp13 = tmp0 + tmp3, tmp0 - tmp3
    tmp11, tmp12 = tmp1 + tmp2, tmp1 - tmp2
    out: list[np.ndarray] = [None] * 8  # type: ignore[list-item]
    if first_pass:
        out[0] = (tmp10 + tmp11) << _PASS1_BITS
        out[4] = (tmp10 - tmp11) << _PASS1_BITS
        shift = _CONST_BITS - _PASS1_BITS
    else:
        out[0] = _descale(tmp10 + tmp11, _PASS1_BITS)
        out[4] = _descale(tmp10 - tmp11, _PASS1_BITS)
        shift = _CONST_BITS + _PASS1_BITS
    z1 = (tmp12 + tmp13) * _F0541
    out[2] = _descale(z1 + tmp13 * _F0765, shift)
    out[6] = _descale(z1 - tmp12 * _F1847, shift)
    z1 = tmp4 + tmp7
    z2 = tmp5 + tmp6
    z3 = tmp4 + tmp6
    z4 = tmp5 + tmp7
    z5 = (z3 + z4) * _F1175
    tmp4 = tmp4 * _F0298
    tmp5 = tmp5 * _F2053
    tmp6 = tmp6 * _F3072
    tmp7 = tmp7 * _F1501
    z1 = z1 * -_F0899
    z2 = z2 * -_F2562
    z3 = z3 * -_F1961 + z5
    z4 = z4 * -_F0390 + z5
    out[7] = _descale(tmp4 + z1 + z3, shift)
    out[5] = _descale(tmp5 + z2 + z4, shift)
    out[3] = _descale(tmp6 + z2 + z3, shift)
    out[1] = _descale(tmp7 + z1 + z4, shift)
    return out


def fdct_islow(blocks: np.ndarray) -> np.ndarray:
    """libjpeg's integer forward DCT of level-shifted int blocks ``(..., 8, 8)``; result ×8.

    numpy, or an integer torch tensor (the training codes: int64 on its own device).

    Level-shifted 8-bit samples (in [−128, 127]) run in int32 like libjpeg's own ``INT32``
    arithmetic: bounding every intermediate by the triangle inequality gives at most
    ≈1.6·10⁹ < 2³¹ in the second pass. Other inputs run in int64. Returns int64.
    """
    if isinstance(blocks, torch.Tensor):  # any device, int64 throughout
        b = blocks.long()
        rows = _fdct_1d([b[..., :, k] for k in range(8)], first_pass=True)
        cols = _fdct_1d([torch.stack(rows, -1)[..., k, :] for k in range(8)], first_pass=False)
        return torch.stack(cols, -2)
    b = np.asarray(blocks)
    small = b.size == 0 or (int(b.min()) >= -128 and int(b.max()) <= 127)
    dtype = np.int32 if small else np.int64
    b = b.astype(dtype, copy=False)
    rows = _fdct_1d([b[..., :, k] for k in range(8)], first_pass=True)
    mid = np.empty(b.shape, dtype=dtype)
    for k in range(8):
        mid[..., :, k] = rows[k]
    cols = _fdct_1d([mid[..., k, :] for k in range(8)], first_pass=False)
    out = np.empty(b.shape, dtype=np.int64)
    for k in range(8):
        out[..., k, :] = cols[k]
    return out


def quantize_islow(dct8, table):
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


def downsample_libjpeg(plane, fy: int, fx: int):
    """libjpeg's integer down-sampling of an int plane whose size is a multiple of (fy, fx)
    (numpy, or an integer torch tensor)."""
    if fy == 1 and fx == 1:
        return plane
    h, w = plane.shape[-2:]
    shape = (*plane.shape[:-2], h // fy, fy, w // fx, fx)
    if isinstance(plane, torch.Tensor):
        s = plane.long().reshape(shape).sum((-3, -1))
        cols = torch.arange(w // fx, device=plane.device)
    else:
        s = plane.astype(np.int64).reshape(shape).sum(axis=(-3, -1))
        cols = np.arange(w // fx)
    if fy == 1 and fx == 2:  # h2v1: bias 0, 1, 0, 1, ...
        return (s + (cols % 2)) >> 1
    if fy == 2 and fx == 2:  # h2v2: bias 1, 2, 1, 2, ...
        return (s + 1 + (cols % 2)) >> 2
    n = fy * fx
    return (s + n // 2) // n


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


def component_planes(image: np.ndarray, code: JpegCode) -> list[np.ndarray]:
    """The int sample planes libjpeg would DCT, one per component, cropped to its blocks."""
    image = np.asarray(image)
    if code.is_color:
        if image.ndim != 3:
            raise ValueError("a colour code needs an (H, W, 3) RGB image")
        ycc = rgb_to_ycbcr_libjpeg(image)
        full = [ycc[..., i] for i in range(3)]
    else:
        full = [image.astype(np.int32) if image.ndim == 2 else rgb_to_ycbcr_libjpeg(image)[..., 0]]
    blocks = [c.blocks for c in code.components]
    return sample_planes(full, code, code.height, code.width, blocks)


def encode_coefficients(image: np.ndarray, code: JpegCode) -> list[np.ndarray]:
    """Quantized coefficients libjpeg writes for a uint8 image with ``code``'s tables/sampling."""
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
