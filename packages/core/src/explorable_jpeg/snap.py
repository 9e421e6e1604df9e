"""Snap: turn a (nearly) consistent float decoding into an 8-bit image that re-encodes exactly.

Consistency in continuous YCbCr is not enough: rounding to 8-bit RGB, clipping to
[0, 255], libjpeg's fixed-point colour conversion and its biased chroma down-sampling can
push a coefficient over a bin edge. ``snap`` simulates libjpeg's encoder bit-exactly
(:mod:`explorable_jpeg.encoder`) and repairs what would change:

1. *continuous stage* — alternate projections between the RGB cube and the consistent
   set (POCS), growing a per-coefficient margin ``m`` only where a coefficient of the
   rounded image lands in the wrong bin (``clip(c − q, −(½ − m), ½ − m)``);
2. *integer stage* — for the MCUs that still differ (fine tables, steps of 1–3, where
   8-bit rounding noise is as wide as a bin), a randomised local search over the 8-bit
   pixels of each MCU that accepts a change only when the total bin excess
   ``Σ max(0, lo − t, t − hi)`` of its coefficients decreases.
"""

from __future__ import annotations

import logging

import numpy as np
import torch

from .code import JpegCode
from .color import RGB_TO_YCBCR, rgb_to_ycbcr, ycbcr_to_rgb
from .consistency import crop_canvas, project, to_canvas
from .dct import idct_blocks, unblockify
from .encoder import bin_bounds, encode_coefficients, unquantized_dct8
from .sampling import box_upsample, pad_replicate

logger = logging.getLogger(__name__)

MARGIN_START = 0.02
MARGIN_STEP = 0.12
MARGIN_MAX = 0.49


def planes_to_image(planes: np.ndarray, code: JpegCode) -> np.ndarray:
    """Float planes ``(C, H, W)`` (YCbCr or gray) → uint8 ``(H, W, 3)`` or ``(H, W)``."""
    if code.is_color:
        rgb = ycbcr_to_rgb(np.moveaxis(planes, 0, -1))
        return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)
    return np.clip(np.rint(planes[0]), 0, 255).astype(np.uint8)


def image_to_planes(image: np.ndarray, code: JpegCode) -> np.ndarray:
    """uint8/float image → float64 planes ``(C, H, W)`` in the code's colour space."""
    x = np.asarray(image, dtype=np.float64)
    if code.is_color:
        if x.ndim == 2:
            x = np.repeat(x[..., None], 3, axis=-1)
        return np.moveaxis(rgb_to_ycbcr(x), -1, 0)
    if x.ndim == 3:
        x = rgb_to_ycbcr(x)[..., 0]
    return x[None]


def _violations(image: np.ndarray, code: JpegCode) -> list[np.ndarray]:
    return [
        a != c.coefficients
        for a, c in zip(encode_coefficients(image, code), code.components, strict=True)
    ]


def _gamut_clip(planes: np.ndarray, code: JpegCode) -> np.ndarray:
    if not code.is_color:
        return np.clip(planes, 0, 255)
    rgb = np.clip(ycbcr_to_rgb(np.moveaxis(planes, 0, -1)), 0, 255)
    return np.moveaxis(rgb_to_ycbcr(rgb), -1, 0)


def snap(
    planes, code: JpegCode, iterations: int = 8, search_rounds: int = 60, seed: int = 0
) -> np.ndarray:
    """Return the uint8 image closest to ``planes`` that libjpeg re-encodes to ``code``.

    Args:
        planes: float ``(C, H, W)`` YCbCr (colour) or ``(1, H, W)`` gray, numpy or torch,
            on the [0, 255] scale, image-sized. Chroma planes are full resolution.
        code: the code to re-encode to.
        iterations: continuous-stage rounds.
        search_rounds: integer-stage rounds for what remains (fine tables).

    Returns:
        uint8 ``(H, W, 3)`` RGB or ``(H, W)`` gray. Where no 8-bit image of the
        neighbourhood re-encodes exactly (possible only with very fine tables), the image
        with the fewest differing coefficients found is returned; ``check`` reports it.
    """
    if isinstance(planes, torch.Tensor):
        planes = planes.detach().double().cpu().numpy()
    x = np.asarray(planes, dtype=np.float64)
    n = len(code.components)
    if x.shape != (n, code.height, code.width):
        raise ValueError(f"expected planes of shape {(n, code.height, code.width)}, got {x.shape}")
    margins = [
        torch.full(c.coefficients.shape, MARGIN_START, dtype=torch.float64) for c in code.components
    ]
    canvas = to_canvas(torch.as_tensor(x), code)
    best_img, best_bad = None, None
    for it in range(iterations):
        canvas = project(canvas, code, margins)
        planes_now = crop_canvas(canvas, code).numpy()
        img = planes_to_image(planes_now, code)
        viol = _violations(img, code)
        bad = int(sum(v.sum() for v in viol))
        if best_bad is None or bad < best_bad:
            best_img, best_bad = img, bad
        logger.debug("snap continuous round %d: %d differing coefficients", it, bad)
        if bad == 0:
            return img
        for m, v in zip(margins, viol, strict=True):
            m[torch.as_tensor(v)] = torch.clamp(m[torch.as_tensor(v)] + MARGIN_STEP, max=MARGIN_MAX)
        # re-enter from the gamut-clipped, re-padded current estimate (POCS)
        canvas = to_canvas(torch.as_tensor(_gamut_clip(planes_now, code)), code)
    assert best_img is not None
    return integer_repair(best_img, code, rounds=search_rounds, seed=seed)


def _excess(image: np.ndarray, code: JpegCode) -> list[np.ndarray]:
    """Per-coefficient excess outside the bin, in ×8 integer DCT units (0 = identical)."""
    out = []
    for t, comp in zip(unquantized_dct8(image, code), code.components, strict=True):
        lo, hi = bin_bounds(comp.coefficients, comp.table)
        out.append(np.maximum(np.maximum(lo - t, t - hi), 0))
    return out


def _mcu_scores(image: np.ndarray, code: JpegCode) -> np.ndarray:
    """Total excess per MCU ``(mcu_rows, mcu_cols)``."""
    my, mx = _mcu_grid(code)
    score = np.zeros((my, mx), dtype=np.float64)
    for ex, comp in zip(_excess(image, code), code.components, strict=True):
        per_block = ex.sum(axis=(-2, -1)).astype(np.float64)
        by, bx = per_block.shape
        v, h = comp.v_samp, comp.h_samp
        pad = np.zeros((my * v, mx * h))
        pad[:by, :bx] = per_block
        score += pad.reshape(my, v, mx, h).sum(axis=(1, 3))
    return score


def _mcu_grid(code: JpegCode) -> tuple[int, int]:
    return -(-code.height // (8 * code.max_v)), -(-code.width // (8 * code.max_h))


def _descent_direction(image: np.ndarray, code: JpegCode) -> np.ndarray:
    """Gradient sign field of the total bin excess w.r.t. the 8-bit pixels (float, image-sized).

    For component planes, ∂excess/∂x = Uᵀ IDCT(g) with g = +1 where t > hi, −1 where t < lo
    (the DCT is orthonormal and the box average's adjoint replicates); for RGB, chained
    through the YCbCr matrix.
    """
    grads = []
    for i, (t, comp) in enumerate(zip(unquantized_dct8(image, code), code.components, strict=True)):
        lo, hi = bin_bounds(comp.coefficients, comp.table)
        g = (t > hi).astype(np.float64) - (t < lo).astype(np.float64)
        plane = unblockify(idct_blocks(g / comp.table))
        fy, fx = code.factors(i)
        plane = box_upsample(plane, fy, fx)
        plane = pad_replicate(plane, *code.padded_size())[: code.height, : code.width]
        grads.append(plane)
    if not code.is_color:
        return grads[0]
    stack = np.stack(grads, axis=-1)  # (H, W, 3) gradient w.r.t. Y, Cb, Cr
    return stack @ RGB_TO_YCBCR  # chain rule: ∂/∂RGB = Σ_c ∂/∂c · ∂c/∂RGB


def integer_repair(
    image: np.ndarray, code: JpegCode, rounds: int = 60, seed: int = 0
) -> np.ndarray:
    """Randomised local search on 8-bit pixels, MCU by MCU, lowering the bin excess.

    Even rounds step ±1 against the excess gradient on a random subset of the pixels where
    the gradient is largest; odd rounds try random ±1 changes. A proposal is kept in the
    MCUs whose total excess ``Σ max(0, lo − t, t − hi)`` drops. MCUs are independent:
    libjpeg encodes each from its own pixels (edge padding replicates pixels of the same
    MCU).
    """
    rng = np.random.default_rng(seed)
    img = image.copy()
    mh, mw = 8 * code.max_v, 8 * code.max_h
    score = _mcu_scores(img, code)
    start = int((score > 0).sum())
    if start == 0:
        return img
    for r in range(rounds):
        active = score > 0
        if not active.any():
            break
        mask = np.repeat(np.repeat(active, mh, 0), mw, 1)[: code.height, : code.width]
        cand = img.astype(np.int16)
        if r % 3 != 2:
            grad = _descent_direction(img, code)
            mag = np.abs(grad)
            scale = mag.max() + 1e-12
            p = (0.6 if r % 3 == 0 else 0.25) * mag / scale
            step = np.where(rng.random(mag.shape) < p, -np.sign(grad), 0).astype(np.int16)
            cand += step * (mask[..., None] if img.ndim == 3 else mask)
        else:
            change = (rng.random(mask.shape) < 0.05) & mask
            sign = rng.choice(np.array([-1, 1], dtype=np.int16), size=mask.shape)
            if img.ndim == 3:
                which = rng.integers(0, 4, size=mask.shape)  # 0..2: one channel, 3: all
                for ch in range(3):
                    sel = change & ((which == ch) | (which == 3))
                    cand[..., ch] += np.where(sel, sign, 0)
            else:
                cand += np.where(change, sign, 0)
        cand = np.clip(cand, 0, 255).astype(np.uint8)
        new_score = _mcu_scores(cand, code)
        better = new_score < score
        keep = np.repeat(np.repeat(better, mh, 0), mw, 1)[: code.height, : code.width]
        img = np.where(keep[..., None] if img.ndim == 3 else keep, cand, img)
        score = np.where(better, new_score, score)
    logger.debug(
        "integer repair: %d → %d MCUs with differing coefficients", start, int((score > 0).sum())
    )
    return img
