"""JFIF full-range YCbCr ↔ RGB, float (numpy/torch) and libjpeg's exact integer forward path.

JFIF (ITU-T T.871) full range, all channels on [0, 255]:

    Y  =  0.299 R + 0.587 G + 0.114 B
    Cb = −0.168736 R − 0.331264 G + 0.5 B + 128
    Cr =  0.5 R − 0.418688 G − 0.081312 B + 128

    R = Y + 1.402 (Cr − 128)
    G = Y − 0.344136 (Cb − 128) − 0.714136 (Cr − 128)
    B = Y + 1.772 (Cb − 128)

Channels are the last axis for numpy (``(..., 3)``) and the third-from-last for torch
(``(..., 3, H, W)``), matching the usual conventions of each library.
"""

from __future__ import annotations

import numpy as np
import torch

from explorable_jpeg.ops.dct import ArrayT

RGB_TO_YCBCR: np.ndarray = np.array(  # (3, 3): rows Y, Cb, Cr
    [
        [0.299, 0.587, 0.114],
        [-0.168736, -0.331264, 0.5],
        [0.5, -0.418688, -0.081312],
    ]
)
YCBCR_TO_RGB: np.ndarray = np.array(  # (3, 3): rows R, G, B; applied to (Y, Cb−128, Cr−128)
    [
        [1.0, 0.0, 1.402],
        [1.0, -0.344136, -0.714136],
        [1.0, 1.772, 0.0],
    ]
)
CHROMA_OFFSET = 128.0

# libjpeg jccolor.c fixed-point constants (SCALEBITS = 16)
SCALEBITS = 16
ONE_HALF = 1 << (SCALEBITS - 1)
CBCR_OFFSET = 128 << SCALEBITS


def fix(x: float) -> int:
    """libjpeg's ``FIX(x)``: ``x`` in 16-bit fixed point, ``⌊x · 2¹⁶ + ½⌋``."""
    return int(x * (1 << SCALEBITS) + 0.5)


def rgb_to_ycbcr(rgb: ArrayT) -> ArrayT:
    """Float RGB → YCbCr. numpy: ``(..., 3)``; torch: ``(..., 3, H, W)``. Range [0, 255]."""
    if isinstance(rgb, torch.Tensor):
        m = torch.as_tensor(RGB_TO_YCBCR, dtype=rgb.dtype, device=rgb.device)
        out = torch.einsum("ij,...jhw->...ihw", m, rgb)
        off = torch.tensor([0.0, CHROMA_OFFSET, CHROMA_OFFSET], dtype=rgb.dtype, device=rgb.device)
        return out + off[:, None, None]
    out = rgb @ RGB_TO_YCBCR.T
    out[..., 1:] += CHROMA_OFFSET
    return out


def ycbcr_to_rgb(ycc: ArrayT) -> ArrayT:
    """Float YCbCr → RGB (not clipped). numpy: ``(..., 3)``; torch: ``(..., 3, H, W)``."""
    if isinstance(ycc, torch.Tensor):
        m = torch.as_tensor(YCBCR_TO_RGB, dtype=ycc.dtype, device=ycc.device)
        off = torch.tensor([0.0, CHROMA_OFFSET, CHROMA_OFFSET], dtype=ycc.dtype, device=ycc.device)
        return torch.einsum("ij,...jhw->...ihw", m, ycc - off[:, None, None])
    shifted = np.asarray(ycc, dtype=np.float64).copy()
    shifted[..., 1:] -= CHROMA_OFFSET
    return shifted @ YCBCR_TO_RGB.T


def _jccolor(r: ArrayT, g: ArrayT, b: ArrayT) -> tuple[ArrayT, ArrayT, ArrayT]:
    """jccolor.c's fixed-point formulas on integer arrays (numpy int64 or torch long)."""
    y = (fix(0.299) * r + fix(0.587) * g + fix(0.114) * b + ONE_HALF) >> SCALEBITS
    cb = (
        -fix(0.16874) * r - fix(0.33126) * g + fix(0.5) * b + CBCR_OFFSET + ONE_HALF - 1
    ) >> SCALEBITS
    cr = (
        fix(0.5) * r - fix(0.41869) * g - fix(0.08131) * b + CBCR_OFFSET + ONE_HALF - 1
    ) >> SCALEBITS
    return y, cb, cr


def rgb_to_ycbcr_libjpeg(rgb: ArrayT) -> ArrayT:
    """libjpeg's exact integer RGB→YCbCr (jccolor.c).

    numpy: uint8 ``(..., 3)`` → int32 ``(..., 3)``; torch (the training codes, any device):
    integer-valued ``(..., 3, H, W)`` → int64 ``(..., 3, H, W)``.

    ``Y = (FIX(.299)R + FIX(.587)G + FIX(.114)B + ½) >> 16`` and
    ``Cb = (−FIX(.16874)R − FIX(.33126)G + FIX(.5)B + 128·2¹⁶ + ½ − 1) >> 16`` (Cr alike),
    with ``FIX(x) = ⌊x·2¹⁶ + ½⌋``.
    """
    if isinstance(rgb, torch.Tensor):
        return torch.stack(_jccolor(*rgb.round().long().unbind(-3)), -3)
    r, g, b = (rgb[..., i].astype(np.int64) for i in range(3))
    return np.stack(_jccolor(r, g, b), axis=-1).astype(np.int32)


def ycbcr_to_rgb_libjpeg(ycc: np.ndarray) -> np.ndarray:
    """libjpeg's exact integer YCbCr→RGB (jdcolor.c) for int samples ``(..., 3)``; uint8.

    ``R = Y + ((FIX(1.402)·Cr' + ½) >> 16)``, ``B = Y + ((FIX(1.772)·Cb' + ½) >> 16)``,
    ``G = Y + ((−FIX(0.34414)·Cb' − FIX(0.71414)·Cr' + ½) >> 16)``, with Cb' = Cb − 128,
    results clamped to [0, 255].
    """
    y = ycc[..., 0].astype(np.int64)
    cb = ycc[..., 1].astype(np.int64) - 128
    cr = ycc[..., 2].astype(np.int64) - 128
    r = y + ((fix(1.40200) * cr + ONE_HALF) >> SCALEBITS)
    b = y + ((fix(1.77200) * cb + ONE_HALF) >> SCALEBITS)
    g = y + ((-fix(0.34414) * cb - fix(0.71414) * cr + ONE_HALF) >> SCALEBITS)
    return np.clip(np.stack([r, g, b], axis=-1), 0, 255).astype(np.uint8)
