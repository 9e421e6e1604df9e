"""What libjpeg's integer DCTs (``jfdctint.c``, ``jidctint.c``) share: the fixed-point
constants ``FIX(x) = round(x · 2¹³)``, the rounding shift ``DESCALE`` and the exact
float64-GEMM form of a two-pass separable integer 8×8 transform (:func:`pass_matrices`,
:func:`gemm_transform`), used by :mod:`.forward` and :mod:`.inverse`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from explorable_jpeg.ops.dct import ArrayT

CONST_BITS = 13
PASS1_BITS = 2
F0298 = 2446
F0390 = 3196
F0541 = 4433
F0765 = 6270
F0899 = 7373
F1175 = 9633
F1501 = 12299
F1847 = 15137
F1961 = 16069
F2053 = 16819
F2562 = 20995
F3072 = 25172


def descale_shift(x: ArrayT, n: int) -> ArrayT:
    """libjpeg's ``DESCALE``: ``⌊(x + 2ⁿ⁻¹) / 2ⁿ⌋`` (an arithmetic shift)."""
    return (x + (1 << (n - 1))) >> n


def no_descale(x: ArrayT, n: int) -> ArrayT:
    """No rounding shift: the pass's exact integer linear part."""
    return x


Descale = Callable[[ArrayT, int], ArrayT]
"""The rounding shift of a pass: :func:`descale_shift` or :func:`no_descale`."""

OneD = Callable[[list[np.ndarray], bool], list[np.ndarray]]
"""One pass of a separable 8-point transform: ``(8 inputs, first pass?) → 8 outputs``."""

Gemm = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]
"""``(A1ᵀ, add1, mul1, A2ᵀ, add2, mul2)`` of :func:`pass_matrices`."""


def pass_matrices(one_d: OneD, shifts_1: list[int], shifts_2: list[int], first_axis: int) -> Gemm:
    """Both passes of a separable integer 8×8 transform as exact float64 GEMMs.

    Before its rounding shift, every output of a jfdctint/jidctint pass is an integer linear
    combination of the pass's 8 inputs (``one_d(inputs, first)`` with no descaling gives the
    8×8 integer matrix ``L``). On row-major flattened blocks ``(N, 64)`` a pass along the
    last axis is ``kron(I, L)``, along the second-to-last ``kron(L, I)``: one BLAS GEMM per
    pass instead of 8×8 strided array operations. Every product and partial sum is an integer
    below 2⁵³ for the inputs this is used on, so the float64 GEMM is exact whatever its
    summation order, and ``⌊(p + 2ⁿ⁻¹)·2⁻ⁿ⌋`` is exactly libjpeg's ``DESCALE`` (an arithmetic
    shift rounds towards −∞ too).

    Returns ``(A1ᵀ, add1, mul1, A2ᵀ, add2, mul2)``: pass ``k`` is
    ``⌊(x @ Akᵀ + addk) · mulk⌋`` (a shift of 0 means no rounding: add 0, mul 1).
    """
    eye = np.eye(8, dtype=np.int64)
    mats, adds, muls = [], [], []
    for first, shifts, axis in ((True, shifts_1, first_axis), (False, shifts_2, 1 - first_axis)):
        lin = np.stack(one_d([eye[k] for k in range(8)], first)).astype(np.float64)
        full = np.kron(np.eye(8), lin) if axis == 1 else np.kron(lin, np.eye(8))
        sh = np.asarray(shifts, dtype=np.float64)
        vec = np.tile(sh, 8) if axis == 1 else np.repeat(sh, 8)
        mats.append(np.ascontiguousarray(full.T))
        adds.append(np.where(vec > 0, 2.0 ** (vec - 1), 0.0))
        muls.append(2.0**-vec)
    return mats[0], adds[0], muls[0], mats[1], adds[1], muls[1]


def gemm_transform(blocks: np.ndarray, gemm: Gemm) -> np.ndarray:
    """Apply a two-pass integer transform given by :func:`pass_matrices`; float64 result
    ``(..., 8, 8)`` holding exact integers."""
    a1, add1, mul1, a2, add2, mul2 = gemm
    flat = blocks.astype(np.float64).reshape(-1, 64)
    p = flat @ a1
    p += add1
    p *= mul1
    np.floor(p, out=p)
    q = p @ a2
    q += add2
    q *= mul2
    np.floor(q, out=q)
    return q.reshape(blocks.shape)
