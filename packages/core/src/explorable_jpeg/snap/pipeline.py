"""Snap: turn a (nearly) consistent float decoding into an 8-bit image that re-encodes exactly.

Consistency in continuous YCbCr is not enough: rounding to 8-bit RGB, clipping to
[0, 255], libjpeg's fixed-point colour conversion and its biased chroma down-sampling can
push a coefficient over a bin edge. ``snap`` simulates libjpeg's encoder bit-exactly
(:mod:`explorable_jpeg.jpeg.libjpeg.forward`, per MCU: :mod:`.tiles`) and repairs what
would change, in stages:

1. *continuous* (:mod:`.continuous`) — alternate projections between the RGB cube and the
   consistent set, growing a per-coefficient margin only where a coefficient of the
   rounded image lands in the wrong bin;
2. *greedy* (:mod:`.greedy`, :mod:`.greedy_chroma`) — for fine tables, exact ±1 sample
   moves block by block;
3. *search* (:mod:`.search`) — a randomised local search over the 8-bit pixels of each MCU
   that still differs, accepting a change only when its total bin excess decreases;
4. *retry* (:mod:`.refine`) — the MCUs left are snapped again from the fallback planes,
   refined by gradient descent;
5. *descent* (:mod:`.descent`) — exact moves proposed by the linearised encoder, on the
   edge MCUs;
6. *interior* (:mod:`.interior`) — last, the MCUs that still differ (at most 16) are snapped
   again from the pixels nearest a shrunk copy of their bin box (damaged tables or data
   whose coefficients no stage before gets near).

Large images are snapped in bands of whole MCU rows (:data:`BAND_PIXELS`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
import torch

from explorable_jpeg.consistency.reachability import free_blocks
from explorable_jpeg.jpeg.code import JpegCode
from explorable_jpeg.snap.bins import image_violations, mcu_scores, mcu_totals
from explorable_jpeg.snap.continuous import (
    FREE_MARGIN,
    MARGIN_MAX,
    MARGIN_START,
    MARGIN_STEP,
    continuous_tiles,
    planes_to_image,
    project_planes,
)
from explorable_jpeg.snap.descent import descend_mcus
from explorable_jpeg.snap.greedy import greedy_chroma, greedy_luma
from explorable_jpeg.snap.interior import interior_stage
from explorable_jpeg.snap.refine import refine, retry_order
from explorable_jpeg.snap.search import repair_groups
from explorable_jpeg.snap.tiles import failing_mcus
from explorable_jpeg.snap.tiles import groups as mcu_groups

Planes = np.ndarray | torch.Tensor
"""Float planes ``(C, H, W)`` on the [0, 255] scale, numpy or torch."""

Fallback = Planes | Callable[[JpegCode], Planes]
"""Fallback planes of :func:`snap`, or a function of the (band's) code that makes them."""

logger = logging.getLogger(__name__)

BAND_PIXELS = 2_000_000
"""Images above this many pixels are snapped in bands of whole MCU rows (bounded memory)."""


def _snap_bands(
    x: np.ndarray,
    code: JpegCode,
    iterations: int,
    search_rounds: int,
    seed: int,
    fallback: Fallback | None,
    retry_mcus: int | None,
) -> np.ndarray:
    """Snap band by band: libjpeg encodes every MCU from its own pixels, so bands of whole
    MCU rows (with their own crop of the code) are independent problems."""
    mh, _ = code.mcu_size
    rows, cols = code.mcu_grid
    per_band = max(1, BAND_PIXELS // (mh * code.width))
    out = None
    for r0 in range(0, rows, per_band):
        r1 = min(r0 + per_band, rows)
        sub = code.crop_mcus(r0, 0, r1, cols)
        ys = slice(r0 * mh, r0 * mh + sub.height)
        fb = fallback
        if fb is not None and not callable(fb):
            fb = np.asarray(fb)[:, ys]
        band = snap(
            x[:, ys], sub, iterations, search_rounds, seed + r0, fb, retry_mcus, _bands=False
        )
        if out is None:
            out = np.empty((code.height, *band.shape[1:]), dtype=np.uint8)
        out[ys] = band
    assert out is not None  # rows >= 1: at least one band
    return out


def snap(
    planes: Planes,
    code: JpegCode,
    iterations: int = 8,
    search_rounds: int = 60,
    seed: int = 0,
    fallback: Fallback | None = None,
    retry_mcus: int | None = None,
    _retry: bool = True,
    _bands: bool = True,
) -> np.ndarray:
    """Return the uint8 image closest to ``planes`` that libjpeg re-encodes to ``code``.

    Args:
        planes: float ``(C, H, W)`` YCbCr (colour) or ``(1, H, W)`` gray, numpy or torch,
            on the [0, 255] scale, image-sized. Chroma planes are full resolution.
        code: the code to re-encode to.
        iterations: continuous-stage rounds.
        search_rounds: integer-stage rounds for what remains (fine tables).
        fallback: optional planes like ``planes`` (e.g. the bin-centre decoding), or a
            callable ``fallback(code) -> planes`` (called only when needed, with the code of
            the band being snapped), used as
            the target of the MCUs that still differ after both stages — typically MCUs
            where the target leaves the RGB cube near a bin edge. Those MCUs are snapped
            again from the fallback and replaced; every other MCU is kept.
        retry_mcus: at most this many MCUs are retried (default: 64 plus 1% of the MCUs,
            a deterministic bound on the time spent; see :func:`.refine.retry_order`); the
            others keep their best image.

    Returns:
        uint8 ``(H, W, 3)`` RGB or ``(H, W)`` gray. Where no 8-bit image of the
        neighbourhood re-encodes exactly (possible only with very fine tables), the image
        with the fewest differing coefficients found is returned; ``check`` reports it.

    The first round projects and simulates the whole image; later rounds (and the integer
    stage) work only on the MCUs that still differ, gathered into batches of tiles: libjpeg
    encodes every MCU from its own pixels, so an MCU that re-encodes exactly stays so.
    """
    if isinstance(planes, torch.Tensor):
        planes = planes.detach().cpu().numpy()
    x = np.asarray(planes)
    if x.dtype not in (np.float32, np.float64):
        x = x.astype(np.float64)
    n = len(code.components)
    if x.shape != (n, code.height, code.width):
        raise ValueError(f"expected planes of shape {(n, code.height, code.width)}, got {x.shape}")
    if _bands and _retry and code.width * code.height > BAND_PIXELS:
        # float32 planes stay float32 here: each band is widened on its own (exactly the
        # same values), so a 12 MP image never holds a float64 copy of all its planes
        return _snap_bands(x, code, iterations, search_rounds, seed, fallback, retry_mcus)
    x = np.asarray(x, dtype=np.float64)
    margins = [np.full(c.coefficients.shape, MARGIN_START) for c in code.components]
    for m, free in zip(margins, free_blocks(code), strict=True):
        m[free] = -FREE_MARGIN  # unreachable blocks: bins so wide that nothing is projected
    planes_now = project_planes(x, code, margins)
    img = planes_to_image(planes_now, code)
    viol = image_violations(img, code)
    bad = int(sum(int(v.sum()) for v in viol))
    logger.debug("snap continuous round 0: %d differing coefficients", bad)
    if bad == 0:
        return img
    active = mcu_totals([v.sum(axis=(-2, -1)) for v in viol], code) > 0
    groups = mcu_groups(code, active)
    if iterations > 1:
        for m, v in zip(margins, viol, strict=True):
            m[v] = np.minimum(m[v] + MARGIN_STEP, MARGIN_MAX)
        planes_hw = np.moveaxis(planes_now, 0, -1)
        for g in groups:
            continuous_tiles(img, planes_hw, margins, code, g, iterations - 1)
    if worth_greedy(int(active.sum()), code):
        img = greedy_stages(img, code)
    img = repair_groups(img, code, groups, search_rounds, seed)
    if not _retry:
        return img
    if fallback is None:
        fallback = x
    # only MCUs that differed after round 0 can still differ: every stage changes only
    # those (the greedy stages keep an MCU's better image), and each MCU encodes alone
    failing = failing_mcus(img, code, groups)
    if len(failing) == 0:
        return img
    img = _retry_from_fallback(
        img, code, failing, fallback, iterations, search_rounds, seed, retry_mcus
    )
    img = descent_stage(img, code)  # it never puts more coefficients off, per MCU
    return interior_stage(img, code, failing, seed)  # last: kept only where exact


def _retry_from_fallback(
    img: np.ndarray,
    code: JpegCode,
    failing: np.ndarray,
    fallback: Fallback,
    iterations: int,
    search_rounds: int,
    seed: int,
    retry_mcus: int | None,
) -> np.ndarray:
    """Snap the ``failing`` MCUs (most promising first, at most ``retry_mcus``) again, one
    by one, from the :func:`.refine.refine`-d fallback planes; an MCU keeps the retry only
    where its excess is not higher. Then the greedy stages on what is left (in place)."""
    logger.debug("snap: %d MCUs retried from the fallback planes", len(failing))
    fb = fallback(code) if callable(fallback) else fallback
    fb = fb.detach().cpu().numpy() if isinstance(fb, torch.Tensor) else fb
    fb = np.asarray(fb, dtype=np.float64)
    mh, mw = code.mcu_size
    rows, cols = code.mcu_grid
    failing = retry_order(failing, img, code)
    if retry_mcus is None:
        retry_mcus = 64 + rows * cols // 100
    if len(failing) > retry_mcus:
        logger.debug("snap: retrying %d of %d MCUs", retry_mcus, len(failing))
    by_shape: dict[tuple[int, int], list[tuple[int, int, JpegCode]]] = {}
    for r, c in failing[:retry_mcus]:
        sub = code.crop_mcus(r, c, r + 1, c + 1)
        by_shape.setdefault((sub.height, sub.width), []).append((r, c, sub))
    for (h, w), items in by_shape.items():
        slices = [(slice(r * mh, r * mh + h), slice(c * mw, c * mw + w)) for r, c, _ in items]
        targets = refine(
            np.stack([fb[:, ys, xs] for ys, xs in slices]), [sub for _, _, sub in items]
        )
        for target, (ys, xs), (_, _, sub) in zip(targets, slices, items, strict=True):
            tile = snap(target, sub, iterations, search_rounds, seed + 1, _retry=False)
            if mcu_scores(tile, sub).sum() <= mcu_scores(img[ys, xs], sub).sum():
                img[ys, xs] = tile
    if worth_greedy(len(failing), code):
        img = greedy_stages(img, code)  # what the retries left or broke
    return img


GREEDY_MAX_STEP = 2
"""The greedy stages simulate the whole image, so they run only for fine tables (some step
≤ this, IJG quality ≳ 90, where rounding noise fills the bins and many blocks differ) or
small images; otherwise the few MCUs left go to the tile-wise local search alone. Deciding
by the file, not by the count of failing MCUs, keeps snap local (an edit elsewhere cannot
switch the stage on or off)."""


def worth_greedy(n_failing: int, code: JpegCode) -> bool:
    """Whether the greedy stages run on an image with ``n_failing`` MCUs that differ."""
    rows, cols = code.mcu_grid
    fine = min(int(c.table.min()) for c in code.components) <= GREEDY_MAX_STEP
    return n_failing > 0 and (fine or rows * cols <= 64)


def descent_stage(img: np.ndarray, code: JpegCode) -> np.ndarray:
    """:mod:`.descent` on the edge MCUs that still differ (all of them in small images),
    in place; returns ``img``. Interior MCUs are left to the greedy stages: there the
    descent's gain did not pay for its time (1280×800 Q98: +0.001% for +4 s)."""
    rows, cols = code.mcu_grid
    mh, mw = code.mcu_size
    small = rows * cols <= 64
    if not small and code.height % mh == 0 and code.width % mw == 0:
        return img  # no partial MCUs: nothing for this stage
    active = mcu_scores(img, code) > 0
    if not small:
        active[: rows - 1, : cols - 1] = False
    if not active.any():
        return img
    start, end = int(active.sum()), 0
    for g in mcu_groups(code, active):
        end += descend_mcus(img, code, g)
    logger.debug("mcu descent: %d → %d MCUs with differing coefficients", start, end)
    return img


def greedy_stages(img: np.ndarray, code: JpegCode) -> np.ndarray:
    """:mod:`.greedy` on luma then chroma; each MCU keeps the image (before or after) whose
    total bin excess is lower (moves of saturated pixels may touch the chroma)."""
    before = mcu_scores(img, code)
    if not (before > 0).any():
        return img
    out = greedy_chroma(greedy_luma(img, code), code)
    worse = mcu_scores(out, code) > before
    if worse.any():
        mh, mw = code.mcu_size
        mask = np.repeat(np.repeat(worse, mh, axis=0), mw, axis=1)[: code.height, : code.width]
        out[mask] = img[mask]
    return out
