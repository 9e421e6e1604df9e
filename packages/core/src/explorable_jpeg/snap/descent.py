"""Exact MCU-wise descent over 8-bit RGB moves, proposed by the linearised encoder.

The last integer stage of :func:`explorable_jpeg.snap.pipeline.snap`, for the few MCUs the others
leave — typically edge MCUs (libjpeg's padding replicates their last pixels) and chroma
blocks there. The encoder of one MCU tile, without its roundings, is linear in the pixels:
``t ≈ J·x`` (colour conversion, edge replication, box down-sampling, ×8 DCT), so the change
of every coefficient under a move ``m`` of pixel ``p`` is ``J_p·m``. Each round, for every
MCU, all moves (±1 on R, G or B, ±1 on all three) of all its pixels are scored with the
linearised bin excess ``Σ max(0, lo − t − Δt, t + Δt − hi)``; the ``TOP`` best are
simulated exactly (libjpeg's integer pipeline) and the best that lowers the exact excess
without putting more coefficients out of their bins is kept. An MCU stops when it
re-encodes exactly or no proposal helps.
"""

from __future__ import annotations

import logging

import numpy as np

from explorable_jpeg.jpeg.code import JpegCode
from explorable_jpeg.ops.color import RGB_TO_YCBCR
from explorable_jpeg.ops.dct import blockify, dct_blocks
from explorable_jpeg.ops.sampling import box_downsample
from explorable_jpeg.snap.bins import out_of_bin_count, total_excess
from explorable_jpeg.snap.tiles import McuGroup, pad_tiles, pixel_index, tile_bounds, tile_dct8

logger = logging.getLogger(__name__)

TOP = 8
"""Proposals simulated exactly per MCU and round."""
ROUNDS = 60
CHUNK = 16
COLOUR_MOVES = np.array(
    [[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 1], [-1, 0, 0], [0, -1, 0], [0, 0, -1], [-1, -1, -1]]
)


def jacobian(code: JpegCode, g: McuGroup) -> np.ndarray:
    """``(P·C, K)``: ×8 DCT coefficients (all components' blocks of a tile of group ``g``,
    flattened) per unit of each pixel channel (``C`` = 3 for RGB, 1 for gray)."""
    h, w = g.height, g.width
    chans = 3 if code.is_color else 1
    n = h * w * chans
    basis = np.eye(n).reshape(n, h, w, chans)
    ycc = basis @ RGB_TO_YCBCR.T if code.is_color else basis
    canvas = pad_tiles(ycc, code, g)
    cols = []
    for i in range(len(code.components)):
        fy, fx = code.factors(i)
        by, bx = g.blocks[i]
        down = box_downsample(canvas[:, : by * 8 * fy, : bx * 8 * fx, i], fy, fx)
        cols.append(8.0 * dct_blocks(blockify(down)).reshape(n, -1))
    return np.concatenate(cols, axis=1)


def descend_mcus(img: np.ndarray, code: JpegCode, g: McuGroup, rounds: int = ROUNDS) -> int:
    """Run the descent on the MCUs of group ``g`` (in place on ``img``); returns how many
    still differ. Tiles are simulated exactly by :func:`.tiles.tile_dct8` against the bin
    bounds :func:`.tiles.tile_bounds`."""
    jac = _cached_jacobian(code, g)  # (P·C, K)
    colour = code.is_color
    moves = COLOUR_MOVES if colour else np.array([[1], [-1]])
    effect = np.einsum("pcK,mc->pmK", jac.reshape(-1, moves.shape[1], jac.shape[1]), moves)
    effect = effect.reshape(-1, jac.shape[1]).astype(np.float32)  # (P·M, K)
    lo_c, hi_c = tile_bounds(code, g)
    lo = np.concatenate([a.reshape(len(a), -1) for a in lo_c], axis=1).astype(np.float32)
    hi = np.concatenate([a.reshape(len(a), -1) for a in hi_c], axis=1).astype(np.float32)
    pix = pixel_index(g, code)
    tiles = img[pix].astype(np.int64)
    n_pix = g.height * g.width
    nm = len(moves)

    def exact(t_tiles: np.ndarray) -> np.ndarray:
        t = tile_dct8(np.clip(t_tiles, 0, 255).astype(np.uint8), code, g)
        return np.concatenate([a.reshape(len(a), -1) for a in t], axis=1).astype(np.float32)

    t = exact(tiles)
    cur = total_excess(t, lo, hi)
    wrong = out_of_bin_count(t, lo, hi)
    active = np.nonzero(cur > 0)[0]
    n_top = min(TOP, len(effect))  # a one-pixel edge tile has few moves
    for _ in range(rounds):
        if active.size == 0:
            break
        top = np.empty((len(active), n_top), dtype=np.int64)
        for s0 in range(0, len(active), CHUNK):
            a = active[s0 : s0 + CHUNK]
            scores = total_excess(t[a, None, :] + effect[None], lo[a, None], hi[a, None])
            new = tiles[a].reshape(len(a), n_pix, 1, -1) + moves[None, None]
            scores[((new < 0) | (new > 255)).any(axis=-1).reshape(len(a), -1)] = np.inf
            top[s0 : s0 + CHUNK] = np.argsort(scores, axis=1, kind="stable")[:, :n_top]
        cand = np.repeat(tiles[active], n_top, axis=0).reshape(len(active), n_top, *tiles.shape[1:])
        p, m = top // nm, top % nm
        cflat = cand.reshape(len(active), n_top, n_pix, -1)
        ai, ti = np.meshgrid(np.arange(len(active)), np.arange(n_top), indexing="ij")
        cflat[ai, ti, p] += moves[m]
        ct = exact(cand.reshape(-1, *tiles.shape[1:])).reshape(len(active), n_top, -1)
        ce = total_excess(ct, lo[active, None], hi[active, None])
        cw = out_of_bin_count(ct, lo[active, None], hi[active, None])
        ce = np.where(cw <= wrong[active, None], ce, np.inf)  # never more coefficients off
        best = ce.argmin(axis=1)
        gain = ce[np.arange(len(active)), best] < cur[active]
        win = active[gain]
        tiles[win] = cand[gain, best[gain]]
        t[win] = ct[gain, best[gain]]
        cur[win] = ce[gain, best[gain]]
        wrong[win] = cw[gain, best[gain]]
        active = win[cur[win] > 0]
    img[pix] = tiles.astype(np.uint8)
    return int((cur > 0).sum())


_JAC: dict[tuple, np.ndarray] = {}


def _cached_jacobian(code: JpegCode, g: McuGroup) -> np.ndarray:
    key = (
        code.is_color,
        tuple((c.h_samp, c.v_samp) for c in code.components),
        g.height,
        g.width,
        tuple(g.blocks),
        code.height % code.mcu_size[0],
        code.width % code.mcu_size[1],
    )
    if key not in _JAC:
        if len(_JAC) > 64:
            _JAC.clear()
        _JAC[key] = jacobian(code, g)
    return _JAC[key]
