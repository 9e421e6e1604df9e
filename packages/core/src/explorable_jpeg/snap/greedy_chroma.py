"""The greedy stage on chroma: :func:`.block_descent.descend` on the chroma blocks that
differ, realised in 8-bit RGB exactly.

A changed chroma sample is the down-sampled sum of its ``fy × fx`` pixels; one or two of
them get a small RGB change (searched in ``[−RADIUS, RADIUS]³``) that keeps every pixel's Y
and the other chroma sample, and brings the sum into the window that rounds to the new
sample. Samples it cannot realise are left as they were. Chroma is repaired in whole
interior blocks only (its edge padding is down-sampled).
"""

from __future__ import annotations

import functools
import itertools
import logging

import numpy as np

from explorable_jpeg.jpeg.code import JpegCode
from explorable_jpeg.ops.color import rgb_to_ycbcr_libjpeg
from explorable_jpeg.ops.dct import blockify
from explorable_jpeg.snap.block_descent import ROUNDS, block_excess, descend

logger = logging.getLogger(__name__)

RADIUS = 6


@functools.lru_cache(maxsize=2)
def rgb_deltas(radius: int = RADIUS) -> np.ndarray:
    """Candidate RGB changes ``(m, 3)`` in ``[−radius, radius]³``, smallest first."""
    r = np.arange(-radius, radius + 1)
    d = np.stack(np.meshgrid(r, r, r, indexing="ij"), -1).reshape(-1, 3)
    return d[np.argsort(np.abs(d).sum(1), kind="stable")]


def _failing_interior(
    code: JpegCode, image: np.ndarray, index: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """Blocks ``(r, c)`` of component ``index`` that differ and lie wholly inside the image,
    with their samples ``(n, 64)`` and bounds; None when there are none."""
    fy, fx = code.factors(index)
    plane, lo, hi, ex = block_excess(code, image, index)
    inside = np.zeros_like(ex, dtype=bool)
    inside[: code.height // (8 * fy), : code.width // (8 * fx)] = True
    cells = np.argwhere((ex > 0) & inside)
    if len(cells) == 0:
        return None
    r, c = cells[:, 0], cells[:, 1]
    n = len(cells)
    samples = blockify(plane)[r, c].reshape(n, 64).astype(np.int64)
    return cells, samples, lo[r, c].reshape(n, 64), hi[r, c].reshape(n, 64)


def _bias(cols: np.ndarray, fy: int, fx: int) -> np.ndarray:
    """libjpeg's rounding bias of the down-sampled sum at output columns ``cols``
    (:func:`explorable_jpeg.jpeg.libjpeg.forward.downsample_libjpeg`):
    ``sample = (sum + bias) // (fy·fx)``."""
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
    cand = rgb_deltas()
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
    img[rows[sel, pi], cols[sel, pi]] = (group[sel, pi] + rgb_deltas()[ci]).astype(np.uint8)
    return ok_block


def _single_pixel_picks(
    img: np.ndarray,
    code: JpegCode,
    index: int,
    cells: np.ndarray,
    samples: np.ndarray,
    delta: np.ndarray,
    full_search: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
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
    full = rgb_deltas()
    pick = np.full(len(bi), -1, dtype=np.int64)  # flat (candidate, pixel) index
    tiers = ((full[:FIRST_TIER], 128), (full, 16))[: 2 if full_search else 1]
    for tier, step in tiers:  # small changes first
        todo = np.nonzero(pick < 0)[0]
        for s0 in range(0, len(todo), step):
            t = todo[s0 : s0 + step]
            now_t, other_t, want_t, keep_t = (a[t] for a in args)
            pick[t] = _first_hit(group[t], now_t, other_t, want_t, keep_t, tier, index, other, n)
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
