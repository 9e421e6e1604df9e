"""Counter-based random streams (SplitMix64) for snap's integer searches.

A draw is a hash of a key (where: a block or an MCU) and a counter (when: a round, an
element), not the next value of a shared generator, so what one block or MCU draws does not
depend on which others are being repaired: the searches stay local (an edit in one region of
the target leaves the others' results unchanged).
"""

from __future__ import annotations

import numpy as np

GAMMA = np.uint64(0x9E3779B97F4A7C15)
"""SplitMix64's increment (the golden ratio in 64 bits)."""


def splitmix64(keys: np.ndarray, counter: int | np.ndarray) -> np.ndarray:
    """SplitMix64 output number ``counter`` (int or uint64 array, broadcast with ``keys``)
    of the streams started at uint64 ``keys``: the finaliser of ``keys + (counter + 1)·γ``."""
    with np.errstate(over="ignore"):
        x = keys + (np.asarray(counter, dtype=np.uint64) + np.uint64(1)) * GAMMA
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


def block_stream(keys: np.ndarray, counter: int) -> np.ndarray:
    """One uint64 per integer key (a block's position) for round ``counter``."""
    with np.errstate(over="ignore"):
        start = keys.astype(np.uint64) * np.uint64(0xD1B54A32D192ED03)
    return splitmix64(start, counter)


def mcu_uniform(
    seed: int, rows: np.ndarray, cols: np.ndarray, stream: int, shape: tuple[int, ...]
) -> np.ndarray:
    """Uniforms in [0, 1) of ``shape = (N, …)``, one stream per MCU ``(rows[k], cols[k])``:
    SplitMix64 of (seed, MCU row, MCU column, ``stream``), counted over the elements."""
    n = int(np.prod(shape[1:], dtype=np.int64))
    with np.errstate(over="ignore"):
        key = (
            np.uint64(seed & 0xFFFFFFFF) * np.uint64(0xD1B54A32D192ED03)
            ^ rows.astype(np.uint64) * np.uint64(0xABC98388FB8FAC03)
            ^ cols.astype(np.uint64) * np.uint64(0x8CB92BA72F3D8DD7)
            ^ np.uint64(stream) * np.uint64(0xC2B2AE3D27D4EB4F)
        )
    x = splitmix64(key[:, None], np.arange(n, dtype=np.uint64)[None])
    return ((x >> np.uint64(11)).astype(np.float64) * 2.0**-53).reshape(shape)
