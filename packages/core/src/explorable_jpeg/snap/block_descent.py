"""Steepest descent on integer 8×8 blocks against their bins: the primitive of the greedy
stages (:mod:`.greedy`, :mod:`.greedy_chroma`).

:func:`descend` works on a block's integer samples (its 64, or for an edge block its real
pixels, which libjpeg replicates): every round it scores all moves ``s_j ± 1`` with the
linearised bin excess

    E(t + Δt) = Σ_k max(0, lo_k − t_k − Δt_k) + max(0, t_k + Δt_k − hi_k),
    Δt = ±8·(DCT basis of sample j, summed over its copies)   (libjpeg's DCT: ×8 orthonormal)

applies the best one if it lowers the exact excess of libjpeg's integer DCT, else a random
±1 kick (:func:`.streams.block_stream`) unsticks the block; each block keeps its best state
and is given up after ``PATIENCE`` rounds without improvement.
"""

from __future__ import annotations

import functools

import numpy as np

from explorable_jpeg.consistency.reachability import free_blocks, free_bounds
from explorable_jpeg.jpeg.code import JpegCode
from explorable_jpeg.jpeg.libjpeg.forward import bin_bounds, component_planes, fdct_islow
from explorable_jpeg.ops.dct import blockify, dct_matrix
from explorable_jpeg.snap.bins import total_excess
from explorable_jpeg.snap.streams import block_stream

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


def _move_scores(t: np.ndarray, lo: np.ndarray, hi: np.ndarray, moves: np.ndarray) -> np.ndarray:
    """Linearised excess ``(n, len(moves))`` after each move (float32, in chunks)."""
    moves = moves[None]
    out = np.empty((len(t), moves.shape[1]), dtype=np.float32)
    for k in range(0, len(t), CHUNK):
        tn = t[k : k + CHUNK, None, :].astype(np.float32) + moves
        out[k : k + CHUNK] = total_excess(tn, lo[k : k + CHUNK, None], hi[k : k + CHUNK, None])
    return out


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
        cur = total_excess(t, lo[act], hi[act])
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
        u = block_stream(keys[go], it)
        j = np.where(ok, pick % k, (u % np.uint64(k)).astype(np.int64))
        step = np.where(ok, np.where(pick < k, 1, -1), np.where((u >> 6) & 1, 1, -1))
        allowed = np.where(step > 0, delta[go, j] < high[go, j], delta[go, j] > low[go, j])
        delta[go, j] += step * allowed
    return best_delta, best_ex


def block_excess(
    code: JpegCode, image: np.ndarray, index: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Component ``index``'s samples plane, its bin bounds (unreachable blocks free) and the
    excess of every block ``(by, bx)``."""
    comp = code.components[index]
    plane = component_planes(image, code)[index]
    t8 = fdct_islow(blockify(plane.astype(np.int32) - 128))
    lo, hi = free_bounds(*bin_bounds(comp.coefficients, comp.table), free_blocks(code)[index])
    return plane, lo, hi, total_excess(t8, lo, hi, axis=(-2, -1))
