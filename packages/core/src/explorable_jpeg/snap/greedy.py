"""Greedy integer repair for fine tables: one ±1 sample move at a time, exactly.

With steps of 1–2, 8-bit rounding noise is as wide as a bin and a block often misses by a
few coefficients. The greedy stages run :func:`.block_descent.descend`, a steepest descent
over a block's integer samples, on every block that differs, then make the moves real in
8-bit RGB, exactly:

* luma (:func:`greedy_luma`, here): +1 on R, G and B of a pixel raises libjpeg's fixed-point
  Y by exactly 1 and leaves Cb and Cr unchanged (their weights sum to zero);
* chroma (:func:`greedy_chroma`, :mod:`.greedy_chroma`): a changed chroma sample gets small
  RGB changes of one or two of the pixels it averages that keep every pixel's Y.
"""

from __future__ import annotations

import logging

import numpy as np

from explorable_jpeg.jpeg.code import JpegCode
from explorable_jpeg.ops.color import rgb_to_ycbcr_libjpeg
from explorable_jpeg.snap.block_descent import PATIENCE, ROUNDS, block_excess, descend
from explorable_jpeg.snap.greedy_chroma import greedy_chroma, rgb_deltas

__all__ = ["descend", "greedy_chroma", "greedy_luma"]

logger = logging.getLogger(__name__)


def greedy_luma(img: np.ndarray, code: JpegCode, rounds: int = ROUNDS) -> np.ndarray:
    """:func:`descend` on the luma blocks that differ, realised by gray moves (±1 on R, G, B).

    Edge blocks take part too: their free samples are the real pixels, which libjpeg's
    padding copies into the rest of the block (full-resolution luma pads by replication).
    A pixel with a channel at 0 or 255 has no room for a gray move in that direction; it
    gets, per Y change in ``[−SAT_RANGE, SAT_RANGE]``, the smallest RGB change with exactly
    that Y change and the least Cb/Cr change (:func:`_saturated_moves`). Those may
    touch the chroma, so :func:`explorable_jpeg.snap.pipeline.snap` keeps, MCU by MCU, whichever of
    the images before and after the greedy stages differs less.
    """
    if code.factors(0) != (1, 1):
        return img
    _, lo, hi, ex = block_excess(code, img, 0)
    cells = np.argwhere(ex > 0)
    if len(cells) == 0:
        return img
    rh = np.minimum(code.height - 8 * cells[:, 0], 8)
    rw = np.minimum(code.width - 8 * cells[:, 1], 8)
    out = img.copy()
    start = end = 0
    for h, w in sorted(set(zip(rh.tolist(), rw.tolist(), strict=True))):
        sel = (rh == h) & (rw == w)
        c = cells[sel]
        b_lo = lo[c[:, 0], c[:, 1]].reshape(-1, 64)
        b_hi = hi[c[:, 0], c[:, 1]].reshape(-1, 64)
        start += len(c)
        end += _luma_pass(out, c, h, w, b_lo, b_hi, rounds)
    logger.debug("greedy luma: %d → %d differing blocks", start, end)
    return out


def _luma_pass(
    img: np.ndarray,
    cells: np.ndarray,
    h: int,
    w: int,
    lo: np.ndarray,
    hi: np.ndarray,
    rounds: int,
) -> int:
    """Greedy luma on blocks ``cells`` with ``h × w`` real pixels each (in place); returns
    how many still differ."""
    n = len(cells)
    ir = (cells[:, 0, None] * 8 + np.arange(h))[:, :, None]
    ic = (cells[:, 1, None] * 8 + np.arange(w))[:, None, :]
    tiles = img[ir, ic].astype(np.int64)  # (n, h, w[, 3])
    colour = tiles.ndim == 4
    if colour:
        y = rgb_to_ycbcr_libjpeg(tiles.astype(np.uint8))[..., 0].astype(np.int64)
        low, high = -tiles.min(axis=-1), 255 - tiles.max(axis=-1)
        sat = (low == 0) | (high == 0)
        table, t_low, t_high = _saturated_moves(tiles[sat])
        low[sat], high[sat] = t_low, t_high
    else:
        y, low, high = tiles, -tiles, 255 - tiles
    expand = None
    if (h, w) != (8, 8):  # libjpeg replicates the last real row and column
        u = np.minimum(np.arange(8), h - 1)
        v = np.minimum(np.arange(8), w - 1)
        expand = (u[:, None] * w + v[None, :]).reshape(64)
    keys = cells[:, 0] * 1_000_003 + cells[:, 1]
    k = h * w
    edge = expand is not None  # few, and harder (each move shifts several copies): more time
    delta, ex = descend(
        y.reshape(n, k), lo, hi, low.reshape(n, k), high.reshape(n, k), keys,
        rounds * (4 if edge else 1), expand, PATIENCE * (4 if edge else 1),
    )  # fmt: skip
    add = delta.reshape(n, h, w)
    if colour:
        rgb = tiles + add[..., None]
        rgb[sat] = tiles[sat] + table[np.arange(int(sat.sum())), add[sat] + SAT_RANGE]
        img[ir, ic] = rgb.astype(np.uint8)
    else:
        img[ir, ic] = (tiles + add).astype(np.uint8)
    return int((ex > 0).sum())


SAT_RANGE = 3
SAT_RADIUS = 4


def _saturated_moves(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For pixels ``(m, 3)``: RGB changes ``(m, 2·SAT_RANGE + 1, 3)`` realising Y changes
    −SAT_RANGE…SAT_RANGE exactly (least Cb/Cr change, then least size; searched in
    ``[−SAT_RADIUS, SAT_RADIUS]³``), and the contiguous range ``[low, high]`` of Y changes
    that have one."""
    if len(rgb):  # saturated pixels repeat (clipped highlights): solve each colour once
        uniq, inverse = np.unique(rgb.reshape(-1, 3), axis=0, return_inverse=True)
        if len(uniq) < len(rgb):
            table, low, high = _saturated_moves(uniq)
            inverse = inverse.reshape(-1)
            return table[inverse], low[inverse], high[inverse]
    m = len(rgb)
    k = 2 * SAT_RANGE + 1
    table = np.zeros((m, k, 3), dtype=np.int64)
    have = np.zeros((m, k), dtype=bool)
    have[:, SAT_RANGE] = True  # no change
    cand = rgb_deltas(SAT_RADIUS)
    size = np.abs(cand).sum(axis=1)
    for s0 in range(0, m, 1024):
        px = rgb[s0 : s0 + 1024].astype(np.int64)
        base = rgb_to_ycbcr_libjpeg(px.astype(np.uint8)).astype(np.int64)
        new = px[:, None, :] + cand[None]
        valid = ((new >= 0) & (new <= 255)).all(axis=2)
        ycc = rgb_to_ycbcr_libjpeg(np.clip(new, 0, 255).astype(np.uint8)).astype(np.int64)
        dy = ycc[..., 0] - base[:, None, 0]
        cost = np.abs(ycc[..., 1:] - base[:, None, 1:]).sum(axis=2) * 100 + size[None]
        for j, want in enumerate(range(-SAT_RANGE, SAT_RANGE + 1)):
            if want == 0:
                continue
            c = np.where(valid & (dy == want), cost, np.iinfo(np.int64).max)
            best = c.argmin(axis=1)
            ok = c[np.arange(len(px)), best] < np.iinfo(np.int64).max
            table[s0 : s0 + 1024, j] = np.where(ok[:, None], cand[best], 0)
            have[s0 : s0 + 1024, j] = ok
    # contiguous range around 0
    up = np.cumprod(have[:, SAT_RANGE + 1 :], axis=1).sum(axis=1)
    down = np.cumprod(have[:, :SAT_RANGE][:, ::-1], axis=1).sum(axis=1)
    return table, -down, up
