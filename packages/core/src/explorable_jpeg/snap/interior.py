"""snap's last stage: MCUs that still differ are snapped again from a point deep inside
their consistent set, found over the MCU's own pixels.

The stages before work from the decoder's planes and move pixels locally; an MCU whose
coefficients are far from anything the decoder proposes (a damaged table or damaged
entropy-coded data that libjpeg decoded silently, e.g. a DC step a hundred times too large)
can stay out of reach of all of them although plenty of 8-bit tiles re-encode to it.

libjpeg's encoder of one MCU tile is, up to its roundings, linear in the level-shifted
pixels ``p = x − 128`` (``x`` the 8-bit R, G, B or gray values of the tile): ``t ≈ Jᵀp``
with ``J`` the map of :func:`.descent.jacobian` (colour conversion, edge replication, box
down-sampling, ×8 DCT). This stage minimises, over the pixel cube, the squared distance of
``Jᵀp`` to the bin box shrunk by a margin ``s`` on each side::

    min_{p ∈ [−128, 127]^n}  ½ ‖Jᵀp − clip(Jᵀp, lo + s, hi − s)‖²,
    s = min(MARGIN, SHRINK · (hi − lo))

by accelerated projected gradient (FISTA, step ``1/‖J‖₂²``) from the MCU's current pixels;
a point it reaches inside the shrunk box keeps every coefficient ``s`` away from its bin
edges, more than libjpeg's roundings move it, so the rounded tile nearly always re-encodes
exactly. The rounded tile then gets the integer stages (:func:`.search.repair_groups`,
:func:`.descent.descend_mcus`), and an MCU keeps the result only where it re-encodes
exactly: every other MCU keeps its pixels, bit for bit.
"""

from __future__ import annotations

import logging

import numpy as np

from explorable_jpeg.jpeg.code import JpegCode
from explorable_jpeg.snap.descent import _cached_jacobian, descend_mcus
from explorable_jpeg.snap.search import repair_groups
from explorable_jpeg.snap.tiles import McuGroup, pixel_index, tile_bounds, tile_dct8, tile_excess
from explorable_jpeg.snap.tiles import groups as mcu_groups

logger = logging.getLogger(__name__)

MARGIN = 16.0
"""Largest margin kept inside each bin, in ×8 DCT units (2 quantization steps of 1)."""
SHRINK = 0.45
"""Largest margin as a fraction of the bin's width (the box never collapses)."""
ROUNDS = 300
"""FISTA steps (one GEMM pair per step for a batch of tiles)."""
MAX_MCUS = 16
"""At most this many MCUs per call (row-major order): a deterministic bound on the time."""
SEARCH_ROUNDS = 60
PIXELS = (-128.0, 127.0)


def interior_stage(img: np.ndarray, code: JpegCode, failing: np.ndarray, seed: int) -> np.ndarray:
    """The stage on the MCUs ``failing`` ``(n, 2)`` (rows, columns; those that still differ
    are taken, at most :data:`MAX_MCUS`), in place on ``img``; returns ``img``."""
    if len(failing) == 0:
        return img
    order = np.lexsort((failing[:, 1], failing[:, 0]))
    active = np.zeros(code.mcu_grid, dtype=bool)
    active[failing[order, 0], failing[order, 1]] = True
    still = []
    for g in mcu_groups(code, active):
        lo, hi = tile_bounds(code, g)
        score = tile_excess(tile_dct8(img[pixel_index(g, code)], code, g), lo, hi)
        still.append(np.stack([g.rows[score > 0], g.cols[score > 0]], axis=1))
    todo = np.concatenate(still)
    todo = todo[np.lexsort((todo[:, 1], todo[:, 0]))][:MAX_MCUS]
    if len(todo) == 0:
        return img
    active[:] = False
    active[todo[:, 0], todo[:, 1]] = True
    fixed = 0
    for g in mcu_groups(code, active):
        fixed += _interior_group(img, code, g, seed)
    logger.debug("interior stage: %d of %d MCUs re-encode now", fixed, len(todo))
    return img


def _interior_group(img: np.ndarray, code: JpegCode, g: McuGroup, seed: int) -> int:
    """The stage on the MCUs of one group, kept where they re-encode exactly (how many)."""
    pix = pixel_index(g, code)
    tiles = img[pix]
    lo_c, hi_c = tile_bounds(code, g)
    before = tile_excess(tile_dct8(tiles, code, g), lo_c, hi_c)
    jac = _cached_jacobian(code, g)
    lo = np.concatenate([a.reshape(len(a), -1) for a in lo_c], axis=1).astype(np.float64)
    hi = np.concatenate([a.reshape(len(a), -1) for a in hi_c], axis=1).astype(np.float64)
    s = np.minimum(MARGIN, SHRINK * (hi - lo))
    p = nearest_pixels(
        tiles.reshape(len(tiles), -1).astype(np.float64) - 128.0, jac, lo + s, hi - s
    )
    img[pix] = np.clip(np.rint(p + 128.0), 0, 255).astype(np.uint8).reshape(tiles.shape)
    repair_groups(img, code, [g], SEARCH_ROUNDS, seed)  # both in place, on these MCUs only
    descend_mcus(img, code, g)
    new = img[pix]
    after = tile_excess(tile_dct8(new, code, g), lo_c, hi_c)
    exact = (after == 0) & (before > 0)
    new[~exact] = tiles[~exact]  # the others get their pixels back
    img[pix] = new
    return int(exact.sum())


def nearest_pixels(
    p: np.ndarray, jac: np.ndarray, lo: np.ndarray, hi: np.ndarray, rounds: int = ROUNDS
) -> np.ndarray:
    """FISTA on ``½‖Jᵀp − clip(Jᵀp, lo, hi)‖²`` over ``p ∈ [−128, 127]^n`` from ``p``
    ``(N, n)``; ``jac`` ``(n, K)``, boxes ``(N, K)``. Returns the last iterate ``(N, n)``."""
    step = 1.0 / np.linalg.norm(jac, 2) ** 2
    y, prev, k = p.copy(), p.copy(), 1.0
    for _ in range(rounds):
        t = y @ jac
        cur = np.clip(y - step * ((t - np.clip(t, lo, hi)) @ jac.T), *PIXELS)
        k_next = (1.0 + np.sqrt(1.0 + 4.0 * k * k)) / 2.0
        y = cur + ((k - 1.0) / k_next) * (cur - prev)
        prev, k = cur, k_next
    return prev
