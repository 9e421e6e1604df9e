"""MCU tiles: libjpeg encodes every MCU from its own pixels, so snap simulates and repairs
only the MCUs that differ, gathered into batches of equal-shape tiles.

A :class:`McuGroup` holds MCUs of one tile shape (interior, last column, last row or
corner); :func:`tile_dct8` is libjpeg's encoder (before quantization) of ``(N, h, w[, 3])``
uint8 tiles, equal to the whole-image encoder on those MCUs, edge MCUs included.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from explorable_jpeg.consistency.reachability import free_blocks, free_bounds
from explorable_jpeg.jpeg.code import JpegCode
from explorable_jpeg.jpeg.libjpeg.forward import (
    bin_bounds,
    fdct_islow,
    padded_rows,
    sample_planes,
    ycc_planes,
)
from explorable_jpeg.ops.dct import blockify
from explorable_jpeg.snap.bins import total_excess


@dataclasses.dataclass
class McuGroup:
    """MCUs that share one tile shape: interior, last column, last row or corner."""

    rows: np.ndarray  # (N,) MCU rows
    cols: np.ndarray  # (N,) MCU columns
    height: int  # pixels of the image inside each MCU
    width: int
    blocks: list[tuple[int, int]]  # blocks (by, bx) of each component inside each MCU

    def take(self, keep: np.ndarray) -> McuGroup:
        return dataclasses.replace(self, rows=self.rows[keep], cols=self.cols[keep])


def groups(code: JpegCode, active: np.ndarray) -> list[McuGroup]:
    """Split the active MCUs ``(my, mx)`` bool into groups of equal tile shape."""
    my, mx = code.mcu_grid
    mh, mw = code.mcu_size
    rows, cols = np.nonzero(active)
    out = []
    for last_r in (False, True):
        for last_c in (False, True):
            sel = ((rows == my - 1) == last_r) & ((cols == mx - 1) == last_c)
            if not sel.any():
                continue
            r0, c0 = (my - 1 if last_r else 0), (mx - 1 if last_c else 0)
            blocks = [
                (
                    min(c.v_samp, c.blocks[0] - r0 * c.v_samp),
                    min(c.h_samp, c.blocks[1] - c0 * c.h_samp),
                )
                for c in code.components
            ]
            out.append(
                McuGroup(
                    rows=rows[sel],
                    cols=cols[sel],
                    height=min(mh, code.height - r0 * mh),
                    width=min(mw, code.width - c0 * mw),
                    blocks=blocks,
                )
            )
    return out


def pixel_index(g: McuGroup, code: JpegCode) -> tuple[np.ndarray, np.ndarray]:
    """Index arrays taking ``(N, height, width, ...)`` tiles from an ``(H, W, ...)`` array."""
    mh, mw = code.mcu_size
    ir = g.rows[:, None] * mh + np.arange(g.height)
    ic = g.cols[:, None] * mw + np.arange(g.width)
    return ir[:, :, None], ic[:, None, :]


def block_index(g: McuGroup, code: JpegCode, i: int) -> tuple[np.ndarray, np.ndarray]:
    """Index arrays taking ``(N, by, bx, 8, 8)`` block tiles of component ``i``."""
    comp = code.components[i]
    by, bx = g.blocks[i]
    ir = g.rows[:, None] * comp.v_samp + np.arange(by)
    ic = g.cols[:, None] * comp.h_samp + np.arange(bx)
    return ir[:, :, None], ic[:, None, :]


def tile_dct8(tiles: np.ndarray, code: JpegCode, g: McuGroup) -> list[np.ndarray]:
    """libjpeg's ×8 integer DCT of uint8 tiles ``(N, h, w[, 3])``, per component."""
    if code.is_color:
        full = ycc_planes(tiles)
    elif tiles.ndim == 3:
        full = [tiles.astype(np.int32)]
    else:
        full = ycc_planes(tiles, luma_only=True)
    planes = sample_planes(full, code, g.height, g.width, g.blocks)
    return [fdct_islow(blockify(p.astype(np.int32) - 128)) for p in planes]


def tile_bounds(code: JpegCode, g: McuGroup) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Bin bounds ``(lo, hi)`` of the tiles' blocks, per component (unreachable blocks free)."""
    los, his = [], []
    for i, (comp, free) in enumerate(zip(code.components, free_blocks(code), strict=True)):
        idx = block_index(g, code, i)
        lo, hi = free_bounds(*bin_bounds(comp.coefficients[idx], comp.table), free[idx])
        los.append(lo)
        his.append(hi)
    return los, his


def tile_violations(
    t8: list[np.ndarray], lo: list[np.ndarray], hi: list[np.ndarray]
) -> list[np.ndarray]:
    """Coefficients out of their bins, per component, bool like ``t8``."""
    return [(t < a) | (t > b) for t, a, b in zip(t8, lo, hi, strict=True)]


def tile_excess(t8: list[np.ndarray], lo: list[np.ndarray], hi: list[np.ndarray]) -> np.ndarray:
    """Total bin excess per tile ``(N,)`` float (0 = the MCU re-encodes identically)."""
    total: np.ndarray = np.zeros(len(t8[0]), np.float64)
    for t, a, b in zip(t8, lo, hi, strict=True):
        total = total + total_excess(t, a, b, axis=(1, 2, 3, 4)).astype(np.float64)
    return total


def failing_mcus(img: np.ndarray, code: JpegCode, groups: list[McuGroup]) -> np.ndarray:
    """``np.argwhere(mcu_scores(img, code) > 0)`` restricted to the MCUs of ``groups``
    (simulated as tiles, not the whole image); ``(n, 2)`` rows/columns in row-major order."""
    found = []
    for g in groups:
        lo, hi = tile_bounds(code, g)
        score = tile_excess(tile_dct8(img[pixel_index(g, code)], code, g), lo, hi)
        bad = score > 0
        found.append(np.stack([g.rows[bad], g.cols[bad]], axis=1))
    if not found:
        return np.zeros((0, 2), dtype=np.int64)
    out = np.concatenate(found)
    return out[np.lexsort((out[:, 1], out[:, 0]))]


def pad_tiles(tiles: np.ndarray, code: JpegCode, g: McuGroup) -> np.ndarray:
    """Pad ``(N, h, w, C)`` tiles to whole MCUs as libjpeg does (:func:`padded_rows`)."""
    mh, mw = code.mcu_size
    cols = np.minimum(np.arange(mw), g.width - 1)
    out = []
    for i in range(tiles.shape[-1]):
        rows = padded_rows(g.height, code.max_v, code.factors(i)[0], mh)
        out.append(tiles[:, rows][:, :, cols, i])
    return np.stack(out, axis=-1)
