"""snap's continuous stage: alternate projections (POCS) between the RGB cube and the
consistent set, with a per-coefficient margin ``m`` grown only where a coefficient of the
rounded image lands in the wrong bin (``clip(c − q, −(½ − m), ½ − m)``).

The closed form is :func:`explorable_jpeg.consistency.projection.project`, written here in
numpy for speed: whole-image (:func:`project_planes`, correcting only the blocks the clip
changes) and per MCU tile (:func:`project_tiles`); the DCTs are single GEMMs
(:func:`dct_gemm`). Also the conversions between float planes and 8-bit images.
"""

from __future__ import annotations

import logging

import numpy as np

from explorable_jpeg.consistency.projection import to_canvas
from explorable_jpeg.jpeg.code import JpegCode
from explorable_jpeg.ops.color import CHROMA_OFFSET, YCBCR_TO_RGB, rgb_to_ycbcr, ycbcr_to_rgb
from explorable_jpeg.ops.dct import DCT_MATRIX, blockify, unblockify
from explorable_jpeg.ops.sampling import box_downsample, box_upsample
from explorable_jpeg.snap.tiles import (
    McuGroup,
    block_index,
    pad_tiles,
    pixel_index,
    tile_bounds,
    tile_dct8,
    tile_violations,
)

logger = logging.getLogger(__name__)

MARGIN_START = 0.02
MARGIN_STEP = 0.12
MARGIN_MAX = 0.49
FREE_MARGIN = 1e9


def planes_to_image(planes: np.ndarray, code: JpegCode) -> np.ndarray:
    """Float planes ``(C, H, W)`` (YCbCr or gray) → uint8 ``(H, W, 3)`` or ``(H, W)``.

    :func:`color.ycbcr_to_rgb` written out per channel (the matrix's zeros skipped) and
    rounded into the output in place: one pass per channel instead of a channel-last copy
    and a ``(…, 3) @ (3, 3)`` product."""
    if not code.is_color:
        return _round_u8(np.asarray(planes[0], dtype=np.float64))
    y = np.asarray(planes[0], dtype=np.float64)
    cb = planes[1] - CHROMA_OFFSET
    cr = planes[2] - CHROMA_OFFSET
    (_, _, r_cr), (_, g_cb, g_cr), (_, b_cb, _) = YCBCR_TO_RGB
    out = np.empty((*y.shape, 3), dtype=np.uint8)
    out[..., 0] = _round_u8(y + r_cr * cr)
    out[..., 1] = _round_u8(y + g_cb * cb + g_cr * cr)
    out[..., 2] = _round_u8(y + b_cb * cb)
    return out


def _round_u8(x: np.ndarray) -> np.ndarray:
    """``clip(rint(x), 0, 255)`` as uint8 (``x`` is overwritten when it is a temporary)."""
    x = np.rint(x)
    np.clip(x, 0, 255, out=x)
    return x.astype(np.uint8)


def image_to_planes(image: np.ndarray, code: JpegCode) -> np.ndarray:
    """uint8/float image → float64 planes ``(C, H, W)`` in the code's colour space."""
    x = np.asarray(image, dtype=np.float64)
    if code.is_color:
        if x.ndim == 2:
            x = np.repeat(x[..., None], 3, axis=-1)
        return np.moveaxis(rgb_to_ycbcr(x), -1, 0)
    if x.ndim == 3:
        x = rgb_to_ycbcr(x)[..., 0]
    return x[None]


_KRON_DCT = np.kron(DCT_MATRIX, DCT_MATRIX)
"""``C X Cᵀ`` of row-major flattened 8×8 blocks is ``kron(C, C) · vec(X)``: one GEMM."""


def dct_gemm(blocks: np.ndarray) -> np.ndarray:
    """:func:`dct.dct_blocks` of numpy blocks ``(..., 8, 8)`` as one ``(N, 64) @ (64, 64)``
    GEMM (7× faster than the batched 8×8 products; equal to ~1e-14)."""
    flat = np.ascontiguousarray(blocks, dtype=np.float64).reshape(-1, 64)
    return (flat @ _KRON_DCT.T).reshape(blocks.shape)


def idct_gemm(coefficients: np.ndarray) -> np.ndarray:
    """:func:`dct.idct_blocks` of numpy blocks ``(..., 8, 8)`` as one GEMM."""
    flat = np.ascontiguousarray(coefficients, dtype=np.float64).reshape(-1, 64)
    return (flat @ _KRON_DCT).reshape(coefficients.shape)


def _box_mean(plane: np.ndarray, fy: int, fx: int) -> np.ndarray:
    """:func:`sampling.box_downsample` of a numpy plane by strided sums of the box phases."""
    if fy == 1 and fx == 1:
        return plane
    total = plane[..., 0::fy, 0::fx]
    for a, b in [(a, b) for a in range(fy) for b in range(fx)][1:]:
        total = total + plane[..., a::fy, b::fx]
    return total * (1.0 / (fy * fx))


def project_planes(x: np.ndarray, code: JpegCode, margins: list[np.ndarray]) -> np.ndarray:
    """:func:`consistency.project` of image planes ``x`` ``(C, H, W)`` with per-coefficient
    margins, in numpy; returns the projected planes ``(C, H, W)``.

    The same closed form on the canvas (edge-replicated like libjpeg), but the inverse DCT
    and the correction run only on the blocks that the clip changes — for a bin-centre or
    network decoding, a small share of them.

    Why not the torch :func:`~explorable_jpeg.consistency.projection.project` itself: the
    two agree to ~1e-13 but not to the bit (one 64×64 GEMM here, batched 8×8 products
    there; on a 771×517 photo at QF 10/50/90 both still round to the same uint8 image),
    so snap's results could move; and this is 2.5× faster (0.049 s vs
    0.121 s, QF 50, one thread), is float64 numpy like the rest of snap and needs no
    autograd. The torch one is differentiable and batched: exploration and training use it."""
    hp, wp = code.padded_size()
    if (hp, wp) == (code.height, code.width):
        canvas = np.array(x, dtype=np.float64)  # the canvas is the image: a private copy
    else:
        canvas = to_canvas(np.asarray(x, dtype=np.float64), code)
    for i, comp in enumerate(code.components):
        fy, fx = code.factors(i)
        by, bx = comp.blocks
        region = canvas[i, : by * 8 * fy, : bx * 8 * fx]
        c = dct_gemm(blockify(_box_mean(region, fy, fx) - 128.0)) / comp.table
        diff = c - comp.coefficients
        half = 0.5 - margins[i]
        d = np.clip(diff, -half, half) - diff  # target − c
        iy, ix = np.nonzero((d != 0).any(axis=(-2, -1)))
        if iy.size == 0:
            continue
        delta = idct_gemm(d[iy, ix] * comp.table)
        if (fy, fx) != (1, 1):
            delta = np.repeat(np.repeat(delta, fy, axis=-2), fx, axis=-1)
        tiles = region.reshape(by, 8 * fy, bx, 8 * fx).transpose(0, 2, 1, 3)  # a view
        tiles[iy, ix] += delta
    return canvas[:, : code.height, : code.width]


def tiles_to_image(tiles: np.ndarray, code: JpegCode) -> np.ndarray:
    """Float channel-last tiles ``(N, h, w, C)`` → uint8 ``(N, h, w, 3)`` or ``(N, h, w)``."""
    if code.is_color:
        return np.clip(np.rint(ycbcr_to_rgb(tiles)), 0, 255).astype(np.uint8)
    return np.clip(np.rint(tiles[..., 0]), 0, 255).astype(np.uint8)


def _gamut_clip_tiles(tiles: np.ndarray, code: JpegCode) -> np.ndarray:
    if not code.is_color:
        return np.clip(tiles, 0, 255)
    return rgb_to_ycbcr(np.clip(ycbcr_to_rgb(tiles), 0, 255))


def project_tiles(
    canvas: np.ndarray, code: JpegCode, g: McuGroup, q: list[np.ndarray], m: list[np.ndarray]
) -> np.ndarray:
    """:func:`consistency.project` of MCU canvases ``(N, mh, mw, C)`` (channel last)."""
    out = canvas.copy()
    for i, comp in enumerate(code.components):
        fy, fx = code.factors(i)
        by, bx = g.blocks[i]
        hh, ww = by * 8 * fy, bx * 8 * fx
        down = box_downsample(canvas[:, :hh, :ww, i], fy, fx)
        c = dct_gemm(blockify(down - 128.0)) / comp.table
        half = 0.5 - m[i]
        target = q[i] + np.maximum(np.minimum(c - q[i], half), -half)
        delta = unblockify(idct_gemm((target - c) * comp.table))
        out[:, :hh, :ww, i] += box_upsample(delta, fy, fx)
    return out


def continuous_tiles(
    img: np.ndarray,
    planes_hw: np.ndarray,
    margins: list[np.ndarray],
    code: JpegCode,
    g: McuGroup,
    rounds: int,
) -> None:
    """Continuous-stage rounds on group ``g``'s MCUs only; writes the best tiles into ``img``."""
    n = len(code.components)
    pix = pixel_index(g, code)
    bidx = [block_index(g, code, i) for i in range(n)]
    q = [code.components[i].coefficients[bidx[i]].astype(np.float64) for i in range(n)]
    m = [margins[i][bidx[i]] for i in range(n)]
    lo, hi = tile_bounds(code, g)
    cur = planes_hw[pix]
    best = img[pix]
    best_bad = sum(
        v.sum(axis=(1, 2, 3, 4)) for v in tile_violations(tile_dct8(best, code, g), lo, hi)
    )
    for it in range(1, rounds + 1):
        idx = np.nonzero(best_bad > 0)[0]
        if idx.size == 0:
            break
        sub = g.take(idx)
        canvas = pad_tiles(_gamut_clip_tiles(cur[idx], code), code, g)
        canvas = project_tiles(canvas, code, sub, [a[idx] for a in q], [a[idx] for a in m])
        now = canvas[:, : g.height, : g.width]
        tiles = tiles_to_image(now, code)
        viol = tile_violations(
            tile_dct8(tiles, code, sub), [a[idx] for a in lo], [a[idx] for a in hi]
        )
        bad = sum(v.sum(axis=(1, 2, 3, 4)) for v in viol)
        logger.debug("snap continuous round %d: %d differing coefficients", it, int(bad.sum()))
        # like the whole-image loop, keep the latest round (its margins are the widest,
        # the best start for the integer stage); an MCU leaves once it re-encodes exactly
        best[idx] = tiles
        best_bad[idx] = bad
        for mi, v in zip(m, viol, strict=True):
            mi[idx] = np.where(v, np.minimum(mi[idx] + MARGIN_STEP, MARGIN_MAX), mi[idx])
        cur[idx] = now
    img[pix] = best
