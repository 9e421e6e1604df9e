"""snap's integer stage: a randomised local search over the 8-bit pixels of each MCU that
still differs, accepting a change only where the MCU's total bin excess
``Σ max(0, lo − t, t − hi)`` decreases.

Two rounds in three step ±1 against the excess gradient on a random subset of the pixels
(:func:`tile_descent`, probability proportional to the gradient), the third tries random
±1 changes. Proposals come from per-MCU streams (:func:`.streams.mcu_uniform`) and the
step is scaled per MCU, so each MCU's search depends only on its own pixels and code.
"""

from __future__ import annotations

import logging

import numpy as np

from explorable_jpeg.jpeg.code import JpegCode
from explorable_jpeg.ops.color import RGB_TO_YCBCR
from explorable_jpeg.ops.dct import unblockify
from explorable_jpeg.ops.sampling import box_upsample, pad_replicate
from explorable_jpeg.snap.continuous import idct_gemm
from explorable_jpeg.snap.streams import mcu_uniform
from explorable_jpeg.snap.tiles import McuGroup, pixel_index, tile_bounds, tile_dct8, tile_excess

logger = logging.getLogger(__name__)


def tile_descent(
    tiles: np.ndarray, code: JpegCode, g: McuGroup, lo: list[np.ndarray], hi: list[np.ndarray]
) -> np.ndarray:
    """Gradient sign field of the bin excess w.r.t. the 8-bit pixels of MCU tiles.

    For component planes, ∂excess/∂x = Uᵀ IDCT(g) with g = +1 where t > hi, −1 where t < lo
    (the DCT is orthonormal and the box average's adjoint replicates); for RGB, chained
    through the YCbCr matrix. Same shape as ``tiles``, float.
    """
    grads = []
    for i, (t, comp) in enumerate(zip(tile_dct8(tiles, code, g), code.components, strict=True)):
        s = (t > hi[i]).astype(np.float64) - (t < lo[i]).astype(np.float64)
        plane = box_upsample(unblockify(idct_gemm(s / comp.table)), *code.factors(i))
        hp, wp = max(plane.shape[-2], g.height), max(plane.shape[-1], g.width)
        grads.append(pad_replicate(plane, hp, wp)[:, : g.height, : g.width])
    if not code.is_color:
        return grads[0] if tiles.ndim == 3 else grads[0][..., None] * RGB_TO_YCBCR[0]
    return np.stack(grads, axis=-1) @ RGB_TO_YCBCR


def group_uniform(seed: int, g: McuGroup, stream: int, shape: tuple[int, ...]) -> np.ndarray:
    """:func:`.streams.mcu_uniform` for the MCUs of group ``g``."""
    return mcu_uniform(seed, g.rows, g.cols, stream, shape)


def repair_groups(
    img: np.ndarray, code: JpegCode, groups: list[McuGroup], rounds: int, seed: int
) -> np.ndarray:
    """The integer stage on the MCUs of ``groups`` (in place on ``img``, which it returns)."""
    states = []
    for g in groups:
        lo, hi = tile_bounds(code, g)
        tiles = img[pixel_index(g, code)]
        score = tile_excess(tile_dct8(tiles, code, g), lo, hi)
        states.append([g, tiles, score, lo, hi])
    start = sum(int((s[2] > 0).sum()) for s in states)
    if start == 0:
        return img
    for r in range(rounds):
        # write back the MCUs that are done and drop them
        for s in states:
            g, tiles, score, lo, hi = s
            done = score <= 0
            if done.any():
                img[pixel_index(g.take(done), code)] = tiles[done]
                keep = ~done
                s[:] = [
                    g.take(keep),
                    tiles[keep],
                    score[keep],
                    [a[keep] for a in lo],
                    [a[keep] for a in hi],
                ]
        states = [s for s in states if s[0].rows.size]
        if not states:
            break
        for s in states:
            g, tiles, score, lo, hi = s
            cand = tiles.astype(np.int16)
            if r % 3 != 2:
                grad = tile_descent(tiles, code, g, lo, hi)
                mag = np.abs(grad)
                scale = mag.reshape(len(mag), -1).max(axis=1) + 1e-12
                scale = scale.reshape(-1, *([1] * (mag.ndim - 1)))
                p = (0.06 if r % 3 == 0 else 0.025) * mag / scale  # per-MCU scale: small steps
                u = group_uniform(seed, g, 4 * r, mag.shape)
                cand += np.where(u < p, -np.sign(grad), 0).astype(np.int16)
            else:
                shape = tiles.shape[:3]
                change = group_uniform(seed, g, 4 * r, shape) < 0.05
                sign = np.where(group_uniform(seed, g, 4 * r + 1, shape) < 0.5, -1, 1)
                sign = sign.astype(np.int16)
                if tiles.ndim == 4:
                    # 0..2: one channel, 3: all
                    which = (group_uniform(seed, g, 4 * r + 2, shape) * 4).astype(np.int64)
                    for ch in range(3):
                        sel = change & ((which == ch) | (which == 3))
                        cand[..., ch] += np.where(sel, sign, 0)
                else:
                    cand += np.where(change, sign, 0)
            cand = np.clip(cand, 0, 255).astype(np.uint8)
            new_score = tile_excess(tile_dct8(cand, code, g), lo, hi)
            better = new_score < score
            tiles[better] = cand[better]
            score[better] = new_score[better]
    end = 0
    for g, tiles, score, _, _ in states:
        img[pixel_index(g, code)] = tiles
        end += int((score > 0).sum())
    logger.debug("integer repair: %d → %d MCUs with differing coefficients", start, end)
    return img
