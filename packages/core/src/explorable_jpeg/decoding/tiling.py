"""Running the block-grid networks over large images: overlapping tiles, heap trimming.

A network whose receptive field is ``halo`` blocks gives, on a tile grown by ``halo``
blocks of context on each side, the same values inside the tile as on the whole image, so
large images are decoded in tiles of :data:`TILE_BLOCKS` blocks without seams (up to
floating-point summation order) and with bounded memory.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Callable, Sequence

import torch

TILE_BLOCKS = 256
"""Largest tile side in blocks for large images (2048 px of luma). The halo is the
receptive field (22 blocks for the bundled 160×10 luma net), so small tiles recompute a lot:
a 12 MP luma grid (375×500 blocks) costs 1.95× the untiled work in 96-block tiles and 1.22×
in :func:`tile_spans` of at most 256 (the largest tile's 160-channel activation: 37 MB)."""

TRIM_PIXELS = 4_000_000
"""Above this many pixels ``Decoder.decode_planes`` hands freed heap memory back to the system."""


def trim_heap() -> None:
    """``malloc_trim(0)`` where the C library is glibc (a no-op elsewhere).

    The tiles' activations (a few MB each) are freed into glibc's heap, which keeps them
    mapped: after a 12 MP decode about 300 MB of freed memory stayed resident and added to
    the snap's peak. Trimming returns it to the system and takes milliseconds."""
    name = ctypes.util.find_library("c")
    if not name:
        return
    try:
        trim = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):  # not glibc
        return
    trim(0)


def tile_spans(n: int, tile: int) -> list[tuple[int, int]]:
    """``[start, end)`` spans covering ``range(n)`` with the fewest tiles of at most ``tile``,
    all of (nearly) equal size, so the last tile is not a thin strip with a full halo.

    >>> tile_spans(10, 4)
    [(0, 4), (4, 8), (8, 10)]
    >>> tile_spans(375, 256)
    [(0, 188), (188, 375)]
    """
    step = -(-n // -(-n // tile))  # ceil(n / ceil(n / tile))
    return [(a, min(a + step, n)) for a in range(0, n, step)]


def tiled(
    fn: Callable[..., torch.Tensor],
    inputs: Sequence[torch.Tensor | None],
    scales: Sequence[int],
    out_scale: int,
    halo: int,
    tile: int | None,
) -> torch.Tensor:
    """Apply a block-grid network in overlapping tiles.

    ``inputs[i]`` has spatial size ``scales[i] × (gh, gw)`` for a block grid ``(gh, gw)``;
    the output has ``out_scale × (gh, gw)``. Tiles of ``tile`` blocks get ``halo`` extra
    blocks of context on each side (the receptive field), so the result equals the untiled
    one up to floating-point summation order (with oneDNN's convolutions on CPU, bit for
    bit: a 1400×1000 decode in 96-, 160-block and no tiles gave identical planes).

    >>> x = torch.arange(30.0).reshape(1, 1, 5, 6)
    >>> torch.equal(tiled(lambda a: 2 * a, [x], [1], 1, halo=1, tile=2), 2 * x)
    True
    """
    ref, ref_scale = next((x, s) for x, s in zip(inputs, scales, strict=True) if x is not None)
    gh, gw = ref.shape[-2] // ref_scale, ref.shape[-1] // ref_scale
    if tile is None or (gh <= tile and gw <= tile):
        return fn(*inputs)
    o = out_scale
    result: torch.Tensor | None = None  # written tile by tile: no list of tiles + cat copy
    for y0, y1 in tile_spans(gh, tile):
        for x0, x1 in tile_spans(gw, tile):
            a0, b0 = max(y0 - halo, 0), max(x0 - halo, 0)
            a1, b1 = min(y1 + halo, gh), min(x1 + halo, gw)
            part = [
                None if x is None else x[..., a0 * s : a1 * s, b0 * s : b1 * s]
                for x, s in zip(inputs, scales, strict=True)
            ]
            out = fn(*part)
            if result is None:
                result = out.new_empty((*out.shape[:-2], gh * o, gw * o))
            result[..., y0 * o : y1 * o, x0 * o : x1 * o] = out[
                ..., (y0 - a0) * o : (y1 - a0) * o, (x0 - b0) * o : (x1 - b0) * o
            ]
            del out, part
    assert result is not None  # gh, gw >= 1: at least one tile
    return result
