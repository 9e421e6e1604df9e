"""Blocks that no image of the file's size can reproduce: foreign edge padding, samples
out of range.

When an image's size is not a multiple of the MCU, libjpeg fills the rest of each edge
block by repeating the last real row and column (edge replication, before down-sampling),
so an edge block lies in a subspace of the 64 DCT coefficients of dimension at most the
number of real pixels it covers. Files written another way — a lossless crop
(``jpegtran -crop``), a lossless rotation without ``-trim``, an encoder that pads with
other content — keep real picture content in that padding. Their edge blocks are then
*unreachable*: no 8-bit image of the file's size re-encodes to them, whatever the decoder
does.

:func:`unreachable_blocks` proves it, block by block, with a separating hyperplane. For an
edge block with bin bounds ``lo ≤ t ≤ hi`` on libjpeg's ×8 integer DCT ``t``, let
``S = range(D·A)`` with ``D`` the ×8 orthonormal DCT and ``A`` the linear map from the real
pixels to the block's samples (replication, then the ``fy × fx`` box average). Any
reachable ``t`` is ``t = D(A p + ε) + δ`` with ``|ε| ≤ 1`` (libjpeg's rounding of the box
average; ``ε = 0`` for full-resolution components) and ``|δ| ≤ 2`` (integer DCT rounding,
measured ≤ 1.28). With ``w`` the unit normal ``P c / ‖P c‖``, ``P`` the projection onto
``S^⊥`` and ``c`` the point of the bin box nearest to ``S`` (alternating projections)::

    w·t = w·D ε + w·δ  ∈ [−B, B],   B = 8·‖ε‖ + ‖δ‖_∞·‖w‖₁ ≤ 8·8·1 + 2·‖w‖₁

(``D/8`` is orthonormal, so ``|w·D ε| ≤ 8‖ε‖``). The bin box
maps ``w·t`` into ``[Σ min(w lo, w hi), Σ max(w lo, w hi)]``; if that interval misses
``[−B, B]`` the block is unreachable. The test is sound (a block libjpeg wrote is never
flagged: ``tests/core/test_padding.py`` encodes 1 380 odd-sized images) but one-sided (an
unreachable block may go unflagged), and cheap (only partial edge blocks are examined).

The same plane test proves whole blocks unreachable whose coefficients need samples
outside [0, 255] (``S`` is then all of ℝ^64 and only the pixel range separates): files
from encoders whose DCT or rounding differs from libjpeg's, e.g. diagrams on pure white.
Only blocks whose bin-centre decoding leaves [0, 255] are examined for that.

Such blocks are excluded from what :func:`explorable_jpeg.snap.pipeline.snap` repairs (their
visible pixels keep the decoder's values instead of being bent towards an impossible
target) and reported apart by :func:`explorable_jpeg.check`.
"""

from __future__ import annotations

import functools
import weakref

import numpy as np

from explorable_jpeg.jpeg.code import Component, JpegCode
from explorable_jpeg.jpeg.libjpeg.forward import bin_bounds, padded_rows
from explorable_jpeg.ops.dct import dct_matrix

EPS_SAMPLE = 1.0
"""Largest difference between a padded sample and the replicated real sample (libjpeg's
biased integer down-sampling of identical inputs), in sample units."""
ROUNDS = 30
"""Alternating projections between the bin box and the subspace before the normal is taken
(any normal gives a valid test; the nearest box point gives the strongest one)."""
GAP_ROUNDS = 300
"""Projected-gradient steps of the pixel-bounded test (only for blocks the first misses)."""
EPS_DCT = 2.0
"""Largest error of libjpeg's integer DCT against ×8 orthonormal DCT, in its output units."""
PIXELS = (-128.0, 127.0)
"""The level-shifted sample range of an 8-bit image, ``[0, 255] − 128``."""


@functools.lru_cache(maxsize=256)
def _block_map(
    rows: tuple[int, ...], cols: tuple[int, ...], fy: int, fx: int
) -> tuple[np.ndarray, np.ndarray]:
    """``(a, n)``: the map ``a`` ``(64, k)`` from the ``k`` real pixels an edge block copies
    to its orthonormal DCT coefficients, and an orthonormal basis ``n`` ``(64, m)`` of the
    complement of its range.

    ``rows`` / ``cols``: for each full-resolution row / column of the block's footprint
    (``8·fy`` rows, ``8·fx`` columns), the index (relative to the footprint) of the real
    pixel libjpeg's padding copies there; the block's samples are the ``fy × fx`` box
    averages of that padded footprint.
    """
    c = dct_matrix()  # (8, 8) orthonormal DCT-II
    r_idx, c_idx = np.asarray(rows), np.asarray(cols)
    basis = []
    for i in sorted(set(rows)):
        for j in sorted(set(cols)):
            full = np.zeros((8 * fy, 8 * fx))
            full[np.ix_(r_idx == i, c_idx == j)] = 1.0
            patch = full.reshape(8, fy, 8, fx).mean(axis=(1, 3))
            basis.append((c @ patch @ c.T).ravel())
    a = np.stack(basis, axis=1)  # (64, k), columns span S (orthonormal DCT units)
    u, s, _ = np.linalg.svd(a, full_matrices=True)
    rank = int((s > 1e-9 * s[0]).sum())
    return a, u[:, rank:]


def _source_map(rows: bool, size: int, padded: int, f: int, fmax: int) -> np.ndarray:
    """Source index of each of ``padded`` full-resolution rows (or columns) under libjpeg's
    padding of an image ``size`` long: replication, and for rows beyond the last multiple
    of the maximum factor a cycle over the last ``f`` rows (:func:`padded_rows`)."""
    if not rows:  # columns: plain replication of the last column
        return np.minimum(np.arange(padded), size - 1)
    return padded_rows(size, fmax, f, padded)


def unreachable_blocks(code: JpegCode) -> list[np.ndarray]:
    """Per component, bool ``(by, bx)``: blocks that no image of the code's size reproduces.

    Two kinds of block are examined: partial blocks on the right and bottom edges (foreign
    padding) and blocks whose bin-centre decoding leaves ``[0, 255]`` (coefficients that may
    need samples out of range, e.g. from an encoder that rounds differently). The test is a
    proof (see the module docstring), so every flagged block is truly unreachable, and a
    block that libjpeg wrote from an image of this size is never flagged.
    """
    out = []
    for i, comp in enumerate(code.components):
        fy, fx = code.factors(i)
        by, bx = comp.blocks
        rmap = _source_map(True, code.height, 8 * fy * by, fy, code.max_v)
        cmap = _source_map(False, code.width, 8 * fx * bx, fx, code.max_h)
        rel_r = rmap.reshape(by, 8 * fy) - (8 * fy * np.arange(by))[:, None]
        rel_c = cmap.reshape(bx, 8 * fx) - (8 * fx * np.arange(bx))[:, None]
        ident_r = (rel_r == np.arange(8 * fy)).all(axis=1)
        ident_c = (rel_c == np.arange(8 * fx)).all(axis=1)
        real = (rel_r.min(axis=1) >= 0)[:, None] & (rel_c.min(axis=1) >= 0)[None]
        partial = ~(ident_r[:, None] & ident_c[None]) & real  # skip blocks wholly past the edge
        groups: dict[tuple, list[tuple[int, int]]] = {}
        for r, c in np.argwhere(partial):
            key = (tuple(rel_r[r].tolist()), tuple(rel_c[c].tolist()), fy, fx)
            groups.setdefault(key, []).append((r, c))
        full = np.argwhere(_out_of_range(comp) & ~partial & real)
        if len(full):  # whole blocks: the samples themselves are the free variables
            groups[(tuple(range(8)), tuple(range(8)), 1, 1)] = [tuple(rc) for rc in full]
        bound = 0.0 if fy * fx == 1 else 8.0 * 8.0 * EPS_SAMPLE  # 8·‖ε‖, ε on 64 samples
        flags = np.zeros((by, bx), dtype=bool)
        for (rows, cols, gy, gx), cells in groups.items():
            rr, cc = np.asarray(cells).T
            a, n = _block_map(rows, cols, gy, gx)
            flags[rr, cc] = _separated(comp.coefficients[rr, cc], comp.table, a, n, bound)
        out.append(flags)
    return out


def impossible_blocks(code: JpegCode, margin: float) -> list[np.ndarray]:
    """Per component, bool ``(by, bx)``: blocks no image reproduces even when its samples may
    lie ``margin`` beyond the 8-bit range, i.e. in ``[−margin, 255 + margin]``.

    The plane test of :func:`unreachable_blocks` for whole blocks (64 free samples, every
    block of the component, edge blocks included: their padded samples only restrict them
    further), with the pixel set widened to ``[−128 − margin, 127 + margin]``. A flagged
    block needs some sample outside that range whatever the image, so for a margin above
    any encoder's overshoot (mozjpeg's deringing reaches 255 + 31) it proves damaged data,
    not a foreign encoder. Only blocks whose bin-centre decoding leaves the widened range
    are examined, so a sound file costs one matrix product per component.
    """
    pixels = (PIXELS[0] - margin, PIXELS[1] + margin)
    a, n = _block_map(tuple(range(8)), tuple(range(8)), 1, 1)
    out = []
    for comp in code.components:
        flags = _out_of_range(comp, margin)
        cells = np.argwhere(flags)
        if len(cells):
            rr, cc = cells.T
            flags[rr, cc] = _separated(comp.coefficients[rr, cc], comp.table, a, n, 0.0, pixels)
        out.append(flags)
    return out


def _out_of_range(comp: Component, margin: float = 0.0) -> np.ndarray:
    """Blocks ``(by, bx)`` whose bin-centre samples ``IDCT(M·q) + 128`` leave
    ``[−margin, 255 + margin]``: only they can be unreachable for want of samples in range."""
    c = dct_matrix()
    inverse = np.kron(c, c).astype(np.float32)  # row-major 8×8 blocks: x = Cᵀ X C
    by, bx = comp.blocks
    coef = (comp.coefficients * comp.table).reshape(-1, 64).astype(np.float32)
    out = np.empty(by * bx, dtype=bool)
    for k in range(0, len(coef), 65536):  # one GEMM per chunk, bounded memory
        pix = coef[k : k + 65536] @ inverse + 128.0
        low, high = -0.5 - margin, 255.5 + margin
        out[k : k + 65536] = (pix.min(axis=1) < low) | (pix.max(axis=1) > high)
    return out.reshape(by, bx)


def _separated(
    q: np.ndarray,
    table: np.ndarray,
    a: np.ndarray,
    n: np.ndarray,
    bound: float,
    pixels: tuple[float, float] = PIXELS,
) -> np.ndarray:
    """Whether no block of real pixels in ``[0, 255]`` (level-shifted: ``pixels``) reaches
    the bin boxes of ``q`` ``(N, 8, 8)``, proven by a separating plane per block.

    Two planes are tried: the normal ``w`` of the bin box's nearest point to the subspace
    ``range(a)`` (basis ``n`` of its complement; ignores the pixel range), then the normal
    of the gap between the box and the *pixel-bounded* set ``{8·a p : p ∈ pixels^k}``
    found by projected gradient on ``‖8ap − clip(8ap, lo, hi)‖²``. Either is a proof when
    the support intervals of ``w·t`` over the box and over the reachable set (widened by
    ``bound``) do not meet.
    """
    lo, hi = bin_bounds(q, table)
    lo = lo.reshape(len(q), 64).astype(np.float64)
    hi = hi.reshape(len(q), 64).astype(np.float64)
    x = (lo + hi) / 2
    for _ in range(ROUNDS):  # alternating projections: the box point nearest to S
        x = np.clip(x - (x @ n) @ n.T, lo, hi)
    w = (x @ n) @ n.T  # its component in S^⊥: the normal of the best separating plane
    out = _apart(w, lo, hi, 8.0 * a, bound, pixels)
    # blocks whose nearest box point comes from pixels in range are reachable in the
    # relaxation (every block libjpeg wrote): the costlier pixel-bounded plane cannot help
    pix = x @ np.linalg.pinv(8.0 * a).T
    near = np.linalg.norm(w, axis=1) <= bound + 8.0 * EPS_DCT
    in_range = ((pix >= pixels[0] - 1) & (pix <= pixels[1] + 1)).all(axis=1)
    rest = np.nonzero(~out & ~(near & in_range))[0]
    if rest.size:
        d = 8.0 * a
        cand, w = _gap_normal(lo[rest], hi[rest], d, bound + 8.0 * EPS_DCT, pixels)
        keep = rest[cand]
        out[keep] = _apart(w, lo[keep], hi[keep], d, bound, pixels)
    return out


def _apart(
    w: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    d: np.ndarray,
    bound: float,
    pixels: tuple[float, float] = PIXELS,
) -> np.ndarray:
    """Whether the planes ``w`` ``(N, 64)`` separate the boxes from ``{d p : p ∈ pixels}``,
    widened by ``bound`` (down-sampling rounding) and ``EPS_DCT·‖w‖₁`` (integer DCT
    rounding)."""
    p_lo, p_hi = pixels
    norm = np.linalg.norm(w, axis=1, keepdims=True)
    w = w / np.maximum(norm, 1e-12)
    box_lo = np.minimum(w * lo, w * hi).sum(axis=1)
    box_hi = np.maximum(w * lo, w * hi).sum(axis=1)
    v = w @ d  # (N, k): w·(d p) = v·p
    slack = bound + EPS_DCT * np.abs(w).sum(axis=1)  # |w·δ| ≤ ‖δ‖_∞ ‖w‖₁
    set_lo = np.minimum(p_lo * v, p_hi * v).sum(axis=1) - slack
    set_hi = np.maximum(p_lo * v, p_hi * v).sum(axis=1) + slack
    return ((box_lo > set_hi) | (box_hi < set_lo)) & (norm[:, 0] > 0)


def _gap_normal(
    lo: np.ndarray,
    hi: np.ndarray,
    d: np.ndarray,
    tol: float,
    pixels: tuple[float, float] = PIXELS,
) -> tuple[np.ndarray, np.ndarray]:
    """Normals ``clip(dp, lo, hi) − dp`` at the pixels ``p ∈ pixels^k`` nearest the
    boxes, by projected gradient. Blocks whose gap shrinks to ``tol`` are dropped early (no
    plane can then prove them apart); returns ``(kept, normals of the kept)``."""
    step = 1.0 / np.linalg.norm(d, 2) ** 2
    n = len(lo)
    p = np.zeros((n, d.shape[1]))
    idx = np.arange(n)
    for it in range(GAP_ROUNDS):
        t = p @ d.T
        gap = t - np.clip(t, lo, hi)
        if it % 25 == 24:
            alive = np.linalg.norm(gap, axis=1) > tol
            p, lo, hi, idx, gap, t = (
                p[alive],
                lo[alive],
                hi[alive],
                idx[alive],
                gap[alive],
                t[alive],
            )
        p = np.clip(p - step * gap @ d, pixels[0], pixels[1])
    t = p @ d.T
    kept = np.zeros(n, dtype=bool)
    kept[idx] = True
    return kept, np.clip(t, lo, hi) - t


_CACHE: weakref.WeakKeyDictionary[JpegCode, list[np.ndarray]] = weakref.WeakKeyDictionary()


def free_blocks(code: JpegCode) -> list[np.ndarray]:
    """:func:`unreachable_blocks`, computed once per code object (snap asks many times)."""
    try:
        return _CACHE[code]
    except KeyError:
        flags = unreachable_blocks(code)
        _CACHE[code] = flags
        return flags


FREE = 1 << 40
"""Bin bound used for unreachable blocks: no coefficient of theirs is constrained."""


def free_bounds(lo: np.ndarray, hi: np.ndarray, free: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Widen bin bounds ``(…, 8, 8)`` to ``±FREE`` on the blocks where ``free`` ``(…)`` is set."""
    if not free.any():
        return lo, hi
    f = free[..., None, None]
    return np.where(f, -FREE, lo), np.where(f, FREE, hi)
