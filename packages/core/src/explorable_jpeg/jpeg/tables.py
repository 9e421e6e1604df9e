"""Standard quantization tables: JPEG Annex K and libjpeg's quality scaling.

libjpeg (jcparam.c) scales the Annex K tables T by ``S = 5000 / Q`` for Q < 50 and
``S = 200 − 2Q`` otherwise (integer arithmetic), and with ``force_baseline`` clamps:

    M = clamp(⌊(T · S + 50) / 100⌋, 1, 255)
"""

from __future__ import annotations

import numpy as np

ANNEX_K_LUMA: np.ndarray = np.array(  # (8, 8) natural order
    [
        [16, 11, 10, 16, 24, 40, 51, 61],
        [12, 12, 14, 19, 26, 58, 60, 55],
        [14, 13, 16, 24, 40, 57, 69, 56],
        [14, 17, 22, 29, 51, 87, 80, 62],
        [18, 22, 37, 56, 68, 109, 103, 77],
        [24, 35, 55, 64, 81, 104, 113, 92],
        [49, 64, 78, 87, 103, 121, 120, 101],
        [72, 92, 95, 98, 112, 100, 103, 99],
    ],
    dtype=np.int32,
)
ANNEX_K_CHROMA: np.ndarray = np.array(  # (8, 8) natural order
    [
        [17, 18, 24, 47, 99, 99, 99, 99],
        [18, 21, 26, 66, 99, 99, 99, 99],
        [24, 26, 56, 99, 99, 99, 99, 99],
        [47, 66, 99, 99, 99, 99, 99, 99],
        [99, 99, 99, 99, 99, 99, 99, 99],
        [99, 99, 99, 99, 99, 99, 99, 99],
        [99, 99, 99, 99, 99, 99, 99, 99],
        [99, 99, 99, 99, 99, 99, 99, 99],
    ],
    dtype=np.int32,
)


def quality_scale(quality: int) -> int:
    """libjpeg's ``jpeg_quality_scaling``: 5000 // Q below 50, 200 − 2Q from 50 on."""
    q = min(max(int(quality), 1), 100)
    return 5000 // q if q < 50 else 200 - 2 * q


def scale_table(table: np.ndarray, quality: int, force_baseline: bool = True) -> np.ndarray:
    """``clamp(⌊(T·S + 50)/100⌋, 1, 255 if force_baseline else 32767)``."""
    s = quality_scale(quality)
    t = (np.asarray(table, dtype=np.int64) * s + 50) // 100
    return np.clip(t, 1, 255 if force_baseline else 32767).astype(np.int32)


def ijg_tables(quality: int) -> tuple[np.ndarray, np.ndarray]:
    """(luma, chroma) tables libjpeg/Pillow/cjpeg write for IJG ``quality`` (baseline)."""
    return scale_table(ANNEX_K_LUMA, quality), scale_table(ANNEX_K_CHROMA, quality)
