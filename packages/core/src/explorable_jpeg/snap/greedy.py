"""Greedy integer repair for fine tables: one ±1 sample move at a time, exactly.

With steps of 1–2, 8-bit rounding noise is as wide as a bin and a block often misses by a
few coefficients. :func:`descend` is a steepest descent over a block's integer samples (its
64, or for an edge block its real pixels, which libjpeg replicates): every round it scores
all moves ``s_j ± 1`` with the linearised bin excess

    E(t + Δt) = Σ_k max(0, lo_k − t_k − Δt_k) + max(0, t_k + Δt_k − hi_k),
    Δt = ±8·(DCT basis of sample j, summed over its copies)   (libjpeg's DCT: ×8 orthonormal)

applies the best one if it lowers the exact excess of libjpeg's integer DCT, else a random
±1 kick unsticks the block; each block keeps its best state and is given up after
``PATIENCE`` rounds without improvement.

The moves are then made real in 8-bit RGB, exactly:

* luma (:func:`greedy_luma`): +1 on R, G and B of a pixel raises libjpeg's fixed-point Y by
  exactly 1 and leaves Cb and Cr unchanged (their weights sum to zero);
* chroma (:func:`greedy_chroma`): a changed chroma sample is the down-sampled sum of its
  ``fy × fx`` pixels; one or two of them get a small RGB change (searched in ``[−6, 6]³``)
  that keeps every pixel's Y and the other chroma sample, and brings the sum into the
  window that rounds to the new sample. Samples it cannot realise are left as they were.

Chroma is repaired in whole interior blocks only (its edge padding is down-sampled).
"""

from __future__ import annotations

import functools
import itertools
import logging

import numpy as np

from explorable_jpeg.consistency.reachability import free_blocks, free_bounds
from explorable_jpeg.jpeg.code import JpegCode
from explorable_jpeg.jpeg.libjpeg.forward import bin_bounds, component_planes, fdct_islow
from explorable_jpeg.ops.color import rgb_to_ycbcr_libjpeg
from explorable_jpeg.ops.dct import blockify, dct_matrix

logger = logging.getLogger(__name__)

ROUNDS = 120
"""Rounds of :func:`descend` (each: one move per block still differing)."""
PATIENCE = 25
"""A block that has not improved for this many rounds is given up."""
CHUNK = 256


@functools.lru_cache(maxsize=64)
def _moves_for(expand: tuple[int, ...]) -> np.ndarray:
    """``(2k, 64)``: change of libjpeg's ×8 DCT of a block when one of its ``k`` free samples
    (copied to the block samples ``s`` with ``expand[s]``) moves by +1, then by −1."""
    c = dct_matrix()
    per_sample = 8.0 * np.einsum("ui,vj->ijuv", c, c).reshape(64, 64)
    idx = np.asarray(expand)
    basis = np.zeros((int(idx.max()) + 1, 64))
    np.add.at(basis, idx, per_sample)
    return np.concatenate([basis, -basis]).astype(np.float32)


def _excess(t: np.ndarray, lo: np.ndarray, hi: np.ndarray, axis=-1) -> np.ndarray:
    """Bin excess ``Σ max(0, lo − t, t − hi)`` over ``axis``."""
    return (np.maximum(lo - t, 0) + np.maximum(t - hi, 0)).sum(axis=axis)


def _wrong(t: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Coefficients out of their bins, counted over the last axis."""
    return ((t < lo) | (t > hi)).sum(axis=-1)


def _move_scores(t: np.ndarray, lo: np.ndarray, hi: np.ndarray, moves: np.ndarray) -> np.ndarray:
    """Linearised excess ``(n, len(moves))`` after each move (float32, in chunks)."""
    moves = moves[None]
    out = np.empty((len(t), moves.shape[1]), dtype=np.float32)
    for k in range(0, len(t), CHUNK):
        tn = t[k : k + CHUNK, None, :].astype(np.float32) + moves
        out[k : k + CHUNK] = _excess(tn, lo[k : k + CHUNK, None], hi[k : k + CHUNK, None])
    return out


def _stream(keys: np.ndarray, counter: int) -> np.ndarray:
    """SplitMix64 of (key, counter): uint64 per key, independent of the other keys."""
    with np.errstate(over="ignore"):
        x = keys.astype(np.uint64) * np.uint64(0xD1B54A32D192ED03) + np.uint64(
            counter + 1
        ) * np.uint64(0x9E3779B97F4A7C15)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


def descend(
    values: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    keys: np.ndarray,
    rounds: int = ROUNDS,
    expand: np.ndarray | None = None,
    patience: int = PATIENCE,
) -> tuple[np.ndarray, np.ndarray]:
    """Steepest descent on integer blocks (module docstring).

    Args:
        values: int ``(n, k)`` free samples of ``n`` blocks (``k = 64``: row-major 8×8).
        lo, hi: ``(n, 64)`` inclusive bounds on libjpeg's ×8 DCT of the block − 128.
        low, high: ``(n, k)`` bounds on each free sample's change.
        expand: for edge blocks, the free sample ``(64,)`` that each of the 64 block
            samples copies (libjpeg's edge replication); a move then changes all copies.
        keys: ``(n,)`` one integer per block (its position): the random kicks come from a
            per-block stream, so a block's result does not depend on the other blocks.

    Returns:
        ``(delta, excess)``: the best change found per block and its exact excess.
    """
    n, k = values.shape
    if expand is None:
        expand = np.arange(64)
    moves = _moves_for(tuple(expand.tolist()))
    lo, hi = lo.astype(np.float32), hi.astype(np.float32)
    delta = np.zeros((n, k), dtype=np.int64)
    best_delta = delta.copy()
    best_ex = np.full(n, np.inf, dtype=np.float32)
    since = np.zeros(n, dtype=np.int64)  # rounds since the block last improved
    for it in range(rounds + 1):
        act = np.nonzero((best_ex > 0) & (since < patience))[0]
        if act.size == 0:
            break
        block = (values[act] + delta[act])[:, expand] - 128
        t = fdct_islow(block.reshape(-1, 8, 8)).reshape(-1, 64)
        t = t.astype(np.float32)
        cur = _excess(t, lo[act], hi[act])
        better = cur < best_ex[act]
        since[act] = np.where(better, 0, since[act] + 1)
        best_ex[act[better]] = cur[better]
        best_delta[act[better]] = delta[act[better]]
        left = cur > 0
        go = act[left]
        if go.size == 0:
            break
        e = _move_scores(t[left], lo[go], hi[go], moves)
        room = np.concatenate([delta[go] < high[go], delta[go] > low[go]], axis=1)
        e[~room] = np.inf
        pick = e.argmin(axis=1)
        ok = e[np.arange(go.size), pick] < cur[left]
        u = _stream(keys[go], it)
        j = np.where(ok, pick % k, (u % np.uint64(k)).astype(np.int64))
        step = np.where(ok, np.where(pick < k, 1, -1), np.where((u >> 6) & 1, 1, -1))
        allowed = np.where(step > 0, delta[go, j] < high[go, j], delta[go, j] > low[go, j])
        delta[go, j] += step * allowed
    return best_delta, best_ex


def _block_excess(code: JpegCode, image: np.ndarray, index: int):
    """Component ``index``'s samples plane, its bin bounds (unreachable blocks free) and the
    excess of every block ``(by, bx)``."""
    comp = code.components[index]
    plane = component_planes(image, code)[index]
    t8 = fdct_islow(blockify(plane.astype(np.int32) - 128))
    lo, hi = free_bounds(*bin_bounds(comp.coefficients, comp.table), free_blocks(code)[index])
    return plane, lo, hi, _excess(t8, lo, hi, axis=(-2, -1))


def _failing_interior(code: JpegCode, image: np.ndarray, index: int):
    """Blocks ``(r, c)`` of component ``index`` that differ and lie wholly inside the image,
    with their samples ``(n, 64)`` and bounds; None when there are none."""
    fy, fx = code.factors(index)
    plane, lo, hi, ex = _block_excess(code, image, index)
    inside = np.zeros_like(ex, dtype=bool)
    inside[: code.height // (8 * fy), : code.width // (8 * fx)] = True
    cells = np.argwhere((ex > 0) & inside)
    if len(cells) == 0:
        return None
    r, c = cells[:, 0], cells[:, 1]
    n = len(cells)
    samples = blockify(plane)[r, c].reshape(n, 64).astype(np.int64)
    return cells, samples, lo[r, c].reshape(n, 64), hi[r, c].reshape(n, 64)


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
    _, lo, hi, ex = _block_excess(code, img, 0)
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
    cand = _deltas(SAT_RADIUS)
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


# --- chroma --------------------------------------------------------------------------------

RADIUS = 6


@functools.lru_cache(maxsize=2)
def _deltas(radius: int = RADIUS) -> np.ndarray:
    """Candidate RGB changes ``(m, 3)`` in ``[−radius, radius]³``, smallest first."""
    r = np.arange(-radius, radius + 1)
    d = np.stack(np.meshgrid(r, r, r, indexing="ij"), -1).reshape(-1, 3)
    return d[np.argsort(np.abs(d).sum(1), kind="stable")]


def _bias(cols: np.ndarray, fy: int, fx: int) -> np.ndarray:
    """libjpeg's rounding bias of the down-sampled sum at output columns ``cols``
    (:func:`.encoder.downsample_libjpeg`): ``sample = (sum + bias) // (fy·fx)``."""
    if (fy, fx) == (1, 2):
        return cols % 2
    if (fy, fx) == (2, 2):
        return 1 + cols % 2
    return np.full_like(cols, (fy * fx) // 2)


def greedy_chroma(img: np.ndarray, code: JpegCode, rounds: int = ROUNDS) -> np.ndarray:
    """:func:`descend` on the chroma blocks that differ, realised in RGB (module docstring)."""
    if not code.is_color or code.factors(1) != code.factors(2):
        return img
    out = img.copy()
    for index in (1, 2):
        found = _failing_interior(code, out, index)
        if found is None:
            continue
        cells, samples, lo, hi = found
        low, high = -samples, 255 - samples
        keys = (cells[:, 0] * 1_000_003 + cells[:, 1]) * 4 + index
        delta, ex = descend(samples, lo, hi, low, high, keys, rounds)
        solved = np.nonzero(ex == 0)[0]
        done = _realise(out, code, index, cells[solved], samples[solved], delta[solved])
        # Solved as samples but not realisable in RGB (typically saturated pixels, where Y
        # pins the colour): solve again with each sample's moves limited to the ±1 that
        # one pixel of its group can realise alone (:func:`_realisable_steps`).
        again = solved[~done]
        redone = 0
        if again.size:
            c2, s2 = cells[again], samples[again]
            low2, high2 = _realisable_steps(out, code, index, c2, s2)
            d2, ex2 = descend(s2, lo[again], hi[again], low2, high2, keys[again] + 2, rounds)
            ok = np.nonzero(ex2 == 0)[0]
            redone = int(_realise(out, code, index, c2[ok], s2[ok], d2[ok]).sum())
        logger.debug(
            "greedy chroma %d: %d differing blocks, %d solved as samples, %d + %d realised",
            index,
            len(cells),
            solved.size,
            int(done.sum()),
            redone,
        )
    return out


def _realisable_steps(
    img: np.ndarray, code: JpegCode, index: int, cells: np.ndarray, samples: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per sample of the blocks ``cells``, the moves ``low ∈ {−1, 0}``, ``high ∈ {0, 1}``
    that one pixel of its group realises alone with one of the ``FIRST_TIER`` smallest RGB
    changes (Y of every pixel and the other chroma sample unchanged, as in
    :func:`_single_pixel`). Groups do not overlap, so any combination of these moves is
    realisable at once. Only groups with a channel at 0 or 255 are tested (the others get
    ±1: away from the cube's faces a small change always exists)."""
    bi, j = np.divmod(np.arange(len(cells) * 64), 64)
    group = img[_group_pixels(code, index, cells[bi], j)]  # (n·64, fy·fx, 3)
    test = ((group == 0) | (group == 255)).any(axis=(-1, -2)).reshape(len(cells), 64)
    out = []
    for step in (-1, 1):
        delta = np.where(test, step, 0)
        bi, j, pick, *_ = _single_pixel_picks(img, code, index, cells, samples, delta, False)
        ok = ~test
        ok[bi, j] = pick >= 0
        out.append(np.where(ok, step, 0))
    return out[0], out[1]


def _realise(
    img: np.ndarray,
    code: JpegCode,
    index: int,
    cells: np.ndarray,
    samples: np.ndarray,
    delta: np.ndarray,
) -> np.ndarray:
    """Give the chroma samples of ``cells`` their new values ``samples + delta`` in ``img``
    (in place), block by block and all or nothing; returns which blocks were realised."""
    fy, fx = code.factors(index)
    other = 3 - index
    cand = _deltas()
    done = _single_pixel(img, code, index, cells, samples, delta)
    for b in np.nonzero(~done)[0]:
        (r, c), s, d = cells[b], samples[b], delta[b]
        ys0, xs0 = r * 8 * fy, c * 8 * fx
        backup = img[ys0 : ys0 + 8 * fy, xs0 : xs0 + 8 * fx].copy()
        ok = True
        for j in np.nonzero(d)[0]:
            u, v = divmod(int(j), 8)
            py, px = ys0 + u * fy, xs0 + v * fx
            col = np.array([c * 8 + v])
            if not _realise_sample(img, py, px, fy, fx, index, other, int(s[j] + d[j]), col, cand):
                ok = False
                break
        if ok:
            done[b] = True
        else:
            img[ys0 : ys0 + 8 * fy, xs0 : xs0 + 8 * fx] = backup
    return done


def _single_pixel(
    img: np.ndarray,
    code: JpegCode,
    index: int,
    cells: np.ndarray,
    samples: np.ndarray,
    delta: np.ndarray,
) -> np.ndarray:
    """The vectorised common case of :func:`_realise`: every changed sample of a block is
    realised by changing one pixel of its group. Applies the blocks where that works (in
    place) and returns them as a bool ``(n,)``; the others are left to the full search."""
    bi, j, pick, rows, cols, group = _single_pixel_picks(img, code, index, cells, samples, delta)
    ok_block = np.ones(len(cells), dtype=bool)
    if bi.size == 0:
        return ok_block
    n = group.shape[1]
    np.logical_and.at(ok_block, bi, pick >= 0)
    sel = np.nonzero(ok_block[bi])[0]
    ci, pi = pick[sel] // n, pick[sel] % n
    img[rows[sel, pi], cols[sel, pi]] = (group[sel, pi] + _deltas()[ci]).astype(np.uint8)
    return ok_block


def _single_pixel_picks(
    img: np.ndarray,
    code: JpegCode,
    index: int,
    cells: np.ndarray,
    samples: np.ndarray,
    delta: np.ndarray,
    full_search: bool = True,
):
    """For every changed sample ``(bi, j)`` (``delta[bi, j] ≠ 0``): the first realising
    ``(candidate, pixel)`` as a flat index (−1: none), and the pixel rows, columns and
    RGB ``(S, fy·fx[, 3])`` of its group. Nothing is changed. ``full_search=False``: only
    the ``FIRST_TIER`` smallest changes are tried."""
    fy, fx = code.factors(index)
    other, n = 3 - index, fy * fx
    bi, j = np.nonzero(delta)
    if bi.size == 0:
        empty = np.zeros((0, n), dtype=np.int64)
        return bi, j, bi, empty, empty, np.zeros((0, n, 3), dtype=np.int64)
    bias = _bias(cells[bi, 1] * 8 + j % 8, fy, fx)
    target = samples[bi, j] + delta[bi, j]
    rows, cols = _group_pixels(code, index, cells[bi], j)
    group = img[rows, cols].astype(np.int64)  # (S, P, 3)
    ycc = rgb_to_ycbcr_libjpeg(group.astype(np.uint8)).astype(np.int64)
    want = n * target - bias  # the new sample's window of sums: [want, want + n − 1]
    now = ycc[..., index].sum(axis=1)
    other_now = ycc[..., other].sum(axis=1)
    keep = n * ((other_now + bias) // n) - bias  # the other sample's current window
    args = (now, other_now, want, keep)
    full = _deltas()
    pick = np.full(len(bi), -1, dtype=np.int64)  # flat (candidate, pixel) index
    tiers = ((full[:FIRST_TIER], 128), (full, 16))[: 2 if full_search else 1]
    for tier, step in tiers:  # small changes first
        todo = np.nonzero(pick < 0)[0]
        for s0 in range(0, len(todo), step):
            t = todo[s0 : s0 + step]
            pick[t] = _first_hit(group[t], *(a[t] for a in args), tier, index, other, n)
    return bi, j, pick, rows, cols, group


def _group_pixels(
    code: JpegCode, index: int, cells: np.ndarray, j: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns ``(S, fy·fx)`` of the pixels that component ``index``'s sample ``j``
    (row-major in its 8×8 block) of block ``cells[s]`` averages."""
    fy, fx = code.factors(index)
    oy, ox = np.divmod(np.arange(fy * fx), fx)
    rows = (cells[:, 0] * 8 + j // 8)[:, None] * fy + oy
    cols = (cells[:, 1] * 8 + j % 8)[:, None] * fx + ox
    return rows, cols


FIRST_TIER = 400
"""Candidate RGB changes tried for every sample before the full ``[−RADIUS, RADIUS]³``."""


def _first_hit(
    group: np.ndarray,
    now: np.ndarray,
    other_now: np.ndarray,
    want: np.ndarray,
    keep: np.ndarray,
    cand: np.ndarray,
    index: int,
    other: int,
    n: int,
) -> np.ndarray:
    """Per sample, the first (smallest) ``(candidate, pixel)`` that realises it, as a flat
    index into ``(len(cand), P)``, or −1: Y of the pixel unchanged, the sum of component
    ``index`` in its new window, the ``other`` component's sum in its current one.
    The colour conversions are done once per distinct pixel colour (saturated regions
    repeat a few colours)."""
    s_, p_ = group.shape[:2]
    uniq, inv = np.unique(group.reshape(-1, 3), axis=0, return_inverse=True)
    new = uniq[:, None, :] + cand[None]  # (U, m, 3)
    valid = ((new >= 0) & (new <= 255)).all(axis=-1)
    y2 = rgb_to_ycbcr_libjpeg(np.clip(new, 0, 255).astype(np.uint8)).astype(np.int64)
    base = rgb_to_ycbcr_libjpeg(uniq.astype(np.uint8)).astype(np.int64)[:, None]
    same = valid & (y2[..., 0] == base[..., 0])  # (U, m)
    inv = inv.reshape(s_, p_)
    d_index = (y2[..., index] - base[..., index])[inv].transpose(0, 2, 1)  # (s, m, P)
    d_other = (y2[..., other] - base[..., other])[inv].transpose(0, 2, 1)
    si = now[:, None, None] + d_index
    so = other_now[:, None, None] + d_other
    w0, k0 = want[:, None, None], keep[:, None, None]
    hit = (
        same[inv].transpose(0, 2, 1)
        & (si >= w0) & (si <= w0 + n - 1) & (so >= k0) & (so <= k0 + n - 1)
    )  # fmt: skip
    flat = hit.reshape(len(group), -1)
    first = flat.argmax(axis=1)
    return np.where(flat[np.arange(len(group)), first], first, -1)


def _realise_sample(
    img: np.ndarray,
    py: int,
    px: int,
    fy: int,
    fx: int,
    index: int,
    other: int,
    target: int,
    col: np.ndarray,
    cand: np.ndarray,
) -> bool:
    """Change the ``fy × fx`` pixels at ``(py, px)`` so that component ``index``'s sample
    becomes ``target``, every pixel's Y and the ``other`` chroma sample unchanged."""
    group = img[py : py + fy, px : px + fx].reshape(-1, 3).astype(np.int64)
    ycc = rgb_to_ycbcr_libjpeg(group.astype(np.uint8)).astype(np.int64)  # (p, 3)
    n = fy * fx
    bias = int(_bias(col, fy, fx)[0])
    want = (n * target - bias, n * target - bias + n - 1)  # sum window of the new sample
    keep_v = (int(ycc[:, other].sum()) + bias) // n
    keep = (n * keep_v - bias, n * keep_v - bias + n - 1)
    now = ycc[:, index].sum()
    options = []  # per pixel: (delta rows, dC_index, dC_other) with Y unchanged
    for p in range(len(group)):
        new = group[p] + cand
        valid = ((new >= 0) & (new <= 255)).all(axis=1)
        new, d = new[valid], cand[valid]
        y2 = rgb_to_ycbcr_libjpeg(new.astype(np.uint8)).astype(np.int64)
        same_y = y2[:, 0] == ycc[p, 0]
        options.append((d[same_y], y2[same_y, index] - ycc[p, index],
                        y2[same_y, other] - ycc[p, other]))  # fmt: skip
    other_now = ycc[:, other].sum()
    for k in (1, 2):
        for pix in itertools.combinations(range(len(group)), k):
            di = [options[p][1] for p in pix]
            do = [options[p][2] for p in pix]
            si = sum(np.ix_(*di)) if k > 1 else di[0]
            so = sum(np.ix_(*do)) if k > 1 else do[0]
            hit = (
                (now + si >= want[0]) & (now + si <= want[1])
                & (other_now + so >= keep[0]) & (other_now + so <= keep[1])
            )  # fmt: skip
            if not hit.any():
                continue
            at = np.unravel_index(int(np.argmax(hit)), hit.shape)
            for p, a in zip(pix, at, strict=True):
                group[p] = group[p] + options[p][0][a]
            img[py : py + fy, px : px + fx] = group.reshape(fy, fx, 3).astype(np.uint8)
            return True
    return False
