"""Snap: turn a (nearly) consistent float decoding into an 8-bit image that re-encodes exactly.

Consistency in continuous YCbCr is not enough: rounding to 8-bit RGB, clipping to
[0, 255], libjpeg's fixed-point colour conversion and its biased chroma down-sampling can
push a coefficient over a bin edge. ``snap`` simulates libjpeg's encoder bit-exactly
(:mod:`explorable_jpeg.jpeg.libjpeg.forward`) and repairs what would change:

1. *continuous stage* — alternate projections between the RGB cube and the consistent
   set (POCS), growing a per-coefficient margin ``m`` only where a coefficient of the
   rounded image lands in the wrong bin (``clip(c − q, −(½ − m), ½ − m)``);
2. *integer stage* — for the MCUs that still differ (fine tables, steps of 1–3, where
   8-bit rounding noise is as wide as a bin), a randomised local search over the 8-bit
   pixels of each MCU that accepts a change only when the total bin excess
   ``Σ max(0, lo − t, t − hi)`` of its coefficients decreases.
"""

from __future__ import annotations

import dataclasses
import logging
import math

import numpy as np
import torch

from explorable_jpeg.consistency.projection import component_coefficients, to_canvas
from explorable_jpeg.consistency.reachability import free_blocks, free_bounds
from explorable_jpeg.jpeg.code import JpegCode
from explorable_jpeg.jpeg.libjpeg.forward import (
    bin_bounds,
    fdct_islow,
    sample_planes,
    unquantized_dct8,
    ycc_planes,
)
from explorable_jpeg.ops.color import (
    CHROMA_OFFSET,
    RGB_TO_YCBCR,
    YCBCR_TO_RGB,
    rgb_to_ycbcr,
    ycbcr_to_rgb,
)
from explorable_jpeg.ops.dct import DCT_MATRIX, blockify, unblockify
from explorable_jpeg.ops.sampling import box_downsample, box_upsample, pad_replicate
from explorable_jpeg.snap.descent import descend_mcus
from explorable_jpeg.snap.greedy import greedy_chroma, greedy_luma

logger = logging.getLogger(__name__)

MARGIN_START = 0.02
MARGIN_STEP = 0.12
MARGIN_MAX = 0.49
FREE_MARGIN = 1e9


def planes_to_image(planes: np.ndarray, code: JpegCode) -> np.ndarray:
    """Float planes ``(C, H, W)`` (YCbCr or gray) → uint8 ``(H, W, 3)`` or ``(H, W)``.

    :func:`color.ycbcr_to_rgb` written out per channel (the matrix's zeros skipped) and
    rounded into the output in place: one pass per channel instead of a channel-last copy
    and a ``(…, 3) @ (3, 3)`` product."""
    if not code.is_color:
        return _round_u8(np.asarray(planes[0], dtype=np.float64))
    y = np.asarray(planes[0], dtype=np.float64)
    cb = planes[1] - CHROMA_OFFSET
    cr = planes[2] - CHROMA_OFFSET
    (_, _, r_cr), (_, g_cb, g_cr), (_, b_cb, _) = YCBCR_TO_RGB
    out = np.empty((*y.shape, 3), dtype=np.uint8)
    out[..., 0] = _round_u8(y + r_cr * cr)
    out[..., 1] = _round_u8(y + g_cb * cb + g_cr * cr)
    out[..., 2] = _round_u8(y + b_cb * cb)
    return out


def _round_u8(x: np.ndarray) -> np.ndarray:
    """``clip(rint(x), 0, 255)`` as uint8 (``x`` is overwritten when it is a temporary)."""
    x = np.rint(x)
    np.clip(x, 0, 255, out=x)
    return x.astype(np.uint8)


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


BAND_PIXELS = 2_000_000
"""Images above this many pixels are snapped in bands of whole MCU rows (bounded memory)."""


def _snap_bands(x, code, iterations, search_rounds, seed, fallback, retry_mcus) -> np.ndarray:
    """Snap band by band: libjpeg encodes every MCU from its own pixels, so bands of whole
    MCU rows (with their own crop of the code) are independent problems."""
    mh, _ = code.mcu_size
    rows, cols = _mcu_grid(code)
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
    return out


def _retry_order(failing: np.ndarray, img: np.ndarray, code: JpegCode) -> np.ndarray:
    """Failing MCUs worth a retry, most promising first.

    MCUs on the right/bottom edge come first (edge replication is where the fast stages are
    weakest), then the others by decreasing worst excess in quantization steps.
    """
    rows, cols = _mcu_grid(code)
    worst = np.zeros((rows, cols))
    for ex, comp in zip(_excess(img, code), code.components, strict=True):
        steps = (ex / (8.0 * comp.table)).max(axis=(-2, -1))
        by, bx = steps.shape
        v, h = comp.v_samp, comp.h_samp
        pad = np.zeros((rows * v, cols * h))
        pad[:by, :bx] = steps
        worst = np.maximum(worst, pad.reshape(rows, v, cols, h).max(axis=(1, 3)))
    r, c = failing[:, 0], failing[:, 1]
    edge = (r == rows - 1) | (c == cols - 1)
    return failing[np.lexsort((-worst[r, c], ~edge))]


def refine(
    planes: np.ndarray,
    codes: list[JpegCode],
    steps: int = 150,
    margin: float = 0.15,
    lr: float = 0.3,
) -> np.ndarray:
    """Gradient descent on float planes towards the consistent set ∩ the RGB cube.

    Minimises ``Σ relu(|c − q| − (½ − m))² + Σ relu(x_rgb − 254.5)² + relu(0.5 − x_rgb)²``
    where ``c`` are the coefficients of the *edge-replicated* planes, as the encoder sees
    them. Unlike the closed-form projection this handles the MCUs at the right and bottom
    edges, where padding ties the padded samples to the image's last row/column. Used on
    single MCUs (crops of the code) that the fast stages could not make exact.

    Args:
        planes: ``(N, C, h, w)`` targets, one per code of ``codes`` (codes of the same size
            and sampling, e.g. MCUs of one shape), optimised together in one batch.
    """
    with torch.inference_mode(False), torch.enable_grad():
        return _refine(planes, codes, steps, margin, lr)


def _refine(planes: np.ndarray, codes: list[JpegCode], steps: int, margin: float, lr: float):
    code = codes[0]
    x = torch.tensor(np.asarray(planes, dtype=np.float64), requires_grad=True)
    qs = [
        torch.as_tensor(
            np.stack([c.components[i].coefficients for c in codes]), dtype=torch.float64
        )
        for i in range(len(code.components))
    ]
    adam = _Adam(x, lr)
    keep = [
        torch.as_tensor(~np.stack([free_blocks(c)[i] for c in codes]), dtype=torch.float64)[
            ..., None, None
        ]
        for i in range(len(code.components))
    ]
    for _ in range(steps):
        canvas = to_canvas(x, code)
        loss = x.new_zeros(())
        for i, q in enumerate(qs):
            c = component_coefficients(canvas[:, i], code, i)
            excess = torch.relu((c - q).abs() - (0.5 - margin)).pow(2)
            loss = loss + (excess * keep[i]).sum()
        rgb = ycbcr_to_rgb(x) if code.is_color else x
        loss = loss + (torch.relu(rgb - 254.5).pow(2) + torch.relu(0.5 - rgb).pow(2)).sum()
        if loss.item() < 1e-10:
            break
        x.grad = None
        loss.backward()
        adam.step()
    return x.detach().numpy()


class _Adam:
    """Adam (Kingma & Ba; β = (0.9, 0.999), ε = 1e-8) on one tensor, the same arithmetic as
    ``torch.optim.Adam``'s single-tensor path (same results to the bit):

        m ← β₁m + (1 − β₁)g,  v ← β₂v + (1 − β₂)g²,
        x ← x − lr/(1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε).

    ``torch.optim`` is not used because constructing its first optimizer imports
    ``torch._dynamo`` (1.9 s on 2 CPU cores), a third of a small decode's time."""

    def __init__(self, x: torch.Tensor, lr: float, betas=(0.9, 0.999), eps: float = 1e-8):
        self.x, self.lr, self.betas, self.eps = x, lr, betas, eps
        self.m = torch.zeros_like(x)
        self.v = torch.zeros_like(x)
        self.t = 0

    @torch.no_grad()
    def step(self) -> None:
        b1, b2 = self.betas
        self.t += 1
        g = self.x.grad
        self.m.lerp_(g, 1 - b1)
        self.v.mul_(b2).addcmul_(g, g, value=1 - b2)
        denom = (self.v.sqrt() / math.sqrt(1 - b2**self.t)).add_(self.eps)
        self.x.addcdiv_(self.m, denom, value=-self.lr / (1 - b1**self.t))


def _violations(image: np.ndarray, code: JpegCode) -> list[np.ndarray]:
    """Differing coefficients per component, unreachable blocks (:mod:`.padding`) excluded."""
    return [
        _outside_bin(t, c.coefficients, c.table) & ~f[..., None, None]
        for t, c, f in zip(
            unquantized_dct8(image, code), code.components, free_blocks(code), strict=True
        )
    ]


def _outside_bin(t: np.ndarray, q: np.ndarray, table: np.ndarray) -> np.ndarray:
    """``quantize_islow(t) != q`` without a division: with ``e = t − 8Mq`` the value ``t``
    quantizes to ``q`` iff ``−4M + [q ≤ 0] ≤ e ≤ 4M − 1 + [q < 0]`` (:func:`bin_bounds`)."""
    m8 = np.asarray(table, dtype=np.int64) << 3
    q = q.astype(np.int64)
    e = t - q * m8
    half = m8 >> 1
    return (e < (q <= 0) - half) | (e > half - 1 + (q < 0))


_KRON_DCT = np.kron(DCT_MATRIX, DCT_MATRIX)
"""``C X Cᵀ`` of row-major flattened 8×8 blocks is ``kron(C, C) · vec(X)``: one GEMM."""


def _dct(blocks: np.ndarray) -> np.ndarray:
    """:func:`dct.dct_blocks` of numpy blocks ``(..., 8, 8)`` as one ``(N, 64) @ (64, 64)``
    GEMM (7× faster than the batched 8×8 products; equal to ~1e-14)."""
    flat = np.ascontiguousarray(blocks, dtype=np.float64).reshape(-1, 64)
    return (flat @ _KRON_DCT.T).reshape(blocks.shape)


def _idct(coefficients: np.ndarray) -> np.ndarray:
    """:func:`dct.idct_blocks` of numpy blocks ``(..., 8, 8)`` as one GEMM."""
    flat = np.ascontiguousarray(coefficients, dtype=np.float64).reshape(-1, 64)
    return (flat @ _KRON_DCT).reshape(coefficients.shape)


def _box_mean(plane: np.ndarray, fy: int, fx: int) -> np.ndarray:
    """:func:`sampling.box_downsample` of a numpy plane by strided sums of the box phases."""
    if fy == 1 and fx == 1:
        return plane
    total = sum(plane[..., a::fy, b::fx] for a in range(fy) for b in range(fx))
    return total * (1.0 / (fy * fx))


def _project_image(x: np.ndarray, code: JpegCode, margins: list[np.ndarray]) -> np.ndarray:
    """:func:`consistency.project` of image planes ``x`` ``(C, H, W)`` with per-coefficient
    margins, in numpy; returns the projected planes ``(C, H, W)``.

    The same closed form on the canvas (edge-replicated like libjpeg), but the inverse DCT
    and the correction run only on the blocks that the clip changes — for a bin-centre or
    network decoding, a small share of them."""
    hp, wp = code.padded_size()
    if (hp, wp) == (code.height, code.width):
        canvas = np.array(x, dtype=np.float64)  # the canvas is the image: a private copy
    else:
        canvas = to_canvas(np.asarray(x, dtype=np.float64), code)
    for i, comp in enumerate(code.components):
        fy, fx = code.factors(i)
        by, bx = comp.blocks
        region = canvas[i, : by * 8 * fy, : bx * 8 * fx]
        c = _dct(blockify(_box_mean(region, fy, fx) - 128.0)) / comp.table
        diff = c - comp.coefficients
        half = 0.5 - margins[i]
        d = np.clip(diff, -half, half) - diff  # target − c
        iy, ix = np.nonzero((d != 0).any(axis=(-2, -1)))
        if iy.size == 0:
            continue
        delta = _idct(d[iy, ix] * comp.table)
        if (fy, fx) != (1, 1):
            delta = np.repeat(np.repeat(delta, fy, axis=-2), fx, axis=-1)
        tiles = region.reshape(by, 8 * fy, bx, 8 * fx).transpose(0, 2, 1, 3)  # a view
        tiles[iy, ix] += delta
    return canvas[:, : code.height, : code.width]


def snap(
    planes,
    code: JpegCode,
    iterations: int = 8,
    search_rounds: int = 60,
    seed: int = 0,
    fallback=None,
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
            a deterministic bound on the time spent; see ``_retry_order``); the others keep
            their best image.

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
    planes_now = _project_image(x, code, margins)
    img = planes_to_image(planes_now, code)
    viol = _violations(img, code)
    bad = int(sum(int(v.sum()) for v in viol))
    logger.debug("snap continuous round 0: %d differing coefficients", bad)
    if bad == 0:
        return img
    active = _mcu_totals([v.sum(axis=(-2, -1)) for v in viol], code) > 0
    groups = _groups(code, active)
    if iterations > 1:
        for m, v in zip(margins, viol, strict=True):
            m[v] = np.minimum(m[v] + MARGIN_STEP, MARGIN_MAX)
        planes_hw = np.moveaxis(planes_now, 0, -1)
        for g in groups:
            _continuous_tiles(img, planes_hw, margins, code, g, iterations - 1)
    if _worth_greedy(int(active.sum()), code):
        img = _greedy_stages(img, code)
    img = _repair_groups(img, code, groups, search_rounds, seed)
    if not _retry:
        return img
    if fallback is None:
        fallback = x
    # only MCUs that differed after round 0 can still differ: every stage changes only
    # those (the greedy stages keep an MCU's better image), and each MCU encodes alone
    failing = _failing_mcus(img, code, groups)
    if len(failing) == 0:
        return img
    logger.debug("snap: %d MCUs retried from the fallback planes", len(failing))
    fb = fallback(code) if callable(fallback) else fallback
    fb = fb.detach().cpu().numpy() if isinstance(fb, torch.Tensor) else fb
    fb = np.asarray(fb, dtype=np.float64)
    mh, mw = code.mcu_size
    rows, cols = _mcu_grid(code)
    failing = _retry_order(failing, img, code)
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
            if _mcu_scores(tile, sub).sum() <= _mcu_scores(img[ys, xs], sub).sum():
                img[ys, xs] = tile
    if _worth_greedy(len(failing), code):
        img = _greedy_stages(img, code)  # what the retries left or broke
    return _mcu_descent(img, code)  # last: it never puts more coefficients off, per MCU


GREEDY_MAX_STEP = 2
"""The greedy stages simulate the whole image, so they run only for fine tables (some step
≤ this, IJG quality ≳ 90, where rounding noise fills the bins and many blocks differ) or
small images; otherwise the few MCUs left go to the tile-wise local search alone. Deciding
by the file, not by the count of failing MCUs, keeps snap local (an edit elsewhere cannot
switch the stage on or off)."""


def _worth_greedy(failing_mcus: int, code: JpegCode) -> bool:
    rows, cols = _mcu_grid(code)
    fine = min(int(c.table.min()) for c in code.components) <= GREEDY_MAX_STEP
    return failing_mcus > 0 and (fine or rows * cols <= 64)


def _mcu_descent(img: np.ndarray, code: JpegCode) -> np.ndarray:
    """:mod:`.mcu_descent` on the edge MCUs that still differ (all of them in small images),
    in place; returns ``img``. Interior MCUs are left to the greedy stages: there the
    descent's gain did not pay for its time (1280×800 Q98: +0.001% for +4 s)."""
    rows, cols = _mcu_grid(code)
    mh, mw = code.mcu_size
    small = rows * cols <= 64
    if not small and code.height % mh == 0 and code.width % mw == 0:
        return img  # no partial MCUs: nothing for this stage
    active = _mcu_scores(img, code) > 0
    if not small:
        active[: rows - 1, : cols - 1] = False
    if not active.any():
        return img
    start, end = int(active.sum()), 0
    for g in _groups(code, active):
        end += descend_mcus(
            img,
            code,
            g,
            lambda tiles, g=g: _tile_dct8(tiles, code, g),
            lambda g=g: _tile_bounds(code, g),
            _pad_tiles,
            _pixel_index,
        )
    logger.debug("mcu descent: %d → %d MCUs with differing coefficients", start, end)
    return img


def _greedy_stages(img: np.ndarray, code: JpegCode) -> np.ndarray:
    """:mod:`.greedy` on luma then chroma; each MCU keeps the image (before or after) whose
    total bin excess is lower (moves of saturated pixels may touch the chroma)."""
    before = _mcu_scores(img, code)
    if not (before > 0).any():
        return img
    out = greedy_chroma(greedy_luma(img, code), code)
    worse = _mcu_scores(out, code) > before
    if worse.any():
        mh, mw = code.mcu_size
        mask = np.repeat(np.repeat(worse, mh, axis=0), mw, axis=1)[: code.height, : code.width]
        out[mask] = img[mask]
    return out


# --- MCU tiles -------------------------------------------------------------------------


@dataclasses.dataclass
class _Group:
    """MCUs that share one tile shape: interior, last column, last row or corner."""

    rows: np.ndarray  # (N,) MCU rows
    cols: np.ndarray  # (N,) MCU columns
    height: int  # pixels of the image inside each MCU
    width: int
    blocks: list[tuple[int, int]]  # blocks (by, bx) of each component inside each MCU

    def take(self, keep: np.ndarray) -> _Group:
        return dataclasses.replace(self, rows=self.rows[keep], cols=self.cols[keep])


def _mcu_size(code: JpegCode) -> tuple[int, int]:
    return 8 * code.max_v, 8 * code.max_h


def _mcu_totals(per_block: list[np.ndarray], code: JpegCode) -> np.ndarray:
    """Sum per-block values ``(by, bx)`` of every component over MCUs: ``(my, mx)`` float."""
    my, mx = _mcu_grid(code)
    score = np.zeros((my, mx), dtype=np.float64)
    for pb, comp in zip(per_block, code.components, strict=True):
        by, bx = pb.shape
        v, h = comp.v_samp, comp.h_samp
        pad = np.zeros((my * v, mx * h))
        pad[:by, :bx] = pb
        score += pad.reshape(my, v, mx, h).sum(axis=(1, 3))
    return score


def _groups(code: JpegCode, active: np.ndarray) -> list[_Group]:
    """Split the active MCUs ``(my, mx)`` bool into groups of equal tile shape."""
    my, mx = _mcu_grid(code)
    mh, mw = _mcu_size(code)
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
                _Group(
                    rows=rows[sel],
                    cols=cols[sel],
                    height=min(mh, code.height - r0 * mh),
                    width=min(mw, code.width - c0 * mw),
                    blocks=blocks,
                )
            )
    return out


def _pixel_index(g: _Group, code: JpegCode) -> tuple[np.ndarray, np.ndarray]:
    """Index arrays taking ``(N, height, width, ...)`` tiles from an ``(H, W, ...)`` array."""
    mh, mw = _mcu_size(code)
    ir = g.rows[:, None] * mh + np.arange(g.height)
    ic = g.cols[:, None] * mw + np.arange(g.width)
    return ir[:, :, None], ic[:, None, :]


def _block_index(g: _Group, code: JpegCode, i: int) -> tuple[np.ndarray, np.ndarray]:
    """Index arrays taking ``(N, by, bx, 8, 8)`` block tiles of component ``i``."""
    comp = code.components[i]
    by, bx = g.blocks[i]
    ir = g.rows[:, None] * comp.v_samp + np.arange(by)
    ic = g.cols[:, None] * comp.h_samp + np.arange(bx)
    return ir[:, :, None], ic[:, None, :]


def _tile_dct8(tiles: np.ndarray, code: JpegCode, g: _Group) -> list[np.ndarray]:
    """libjpeg's ×8 integer DCT of uint8 tiles ``(N, h, w[, 3])``, per component."""
    if code.is_color:
        full = ycc_planes(tiles)
    elif tiles.ndim == 3:
        full = [tiles.astype(np.int32)]
    else:
        full = ycc_planes(tiles, luma_only=True)
    planes = sample_planes(full, code, g.height, g.width, g.blocks)
    return [fdct_islow(blockify(p.astype(np.int32) - 128)) for p in planes]


def _failing_mcus(img: np.ndarray, code: JpegCode, groups: list[_Group]) -> np.ndarray:
    """``np.argwhere(_mcu_scores(img, code) > 0)`` restricted to the MCUs of ``groups``
    (simulated as tiles, not the whole image); ``(n, 2)`` rows/columns in row-major order."""
    found = []
    for g in groups:
        lo, hi = _tile_bounds(code, g)
        score = _tile_excess(_tile_dct8(img[_pixel_index(g, code)], code, g), lo, hi)
        bad = score > 0
        found.append(np.stack([g.rows[bad], g.cols[bad]], axis=1))
    if not found:
        return np.zeros((0, 2), dtype=np.int64)
    out = np.concatenate(found)
    return out[np.lexsort((out[:, 1], out[:, 0]))]


def _tile_bounds(code: JpegCode, g: _Group) -> tuple[list[np.ndarray], list[np.ndarray]]:
    los, his = [], []
    for i, (comp, free) in enumerate(zip(code.components, free_blocks(code), strict=True)):
        idx = _block_index(g, code, i)
        lo, hi = free_bounds(*bin_bounds(comp.coefficients[idx], comp.table), free[idx])
        los.append(lo)
        his.append(hi)
    return los, his


def _tile_violations(t8: list[np.ndarray], lo: list[np.ndarray], hi: list[np.ndarray]):
    return [(t < a) | (t > b) for t, a, b in zip(t8, lo, hi, strict=True)]


def _tile_excess(t8: list[np.ndarray], lo: list[np.ndarray], hi: list[np.ndarray]):
    """Total bin excess per tile ``(N,)`` float (0 = the MCU re-encodes identically)."""
    total = 0.0
    for t, a, b in zip(t8, lo, hi, strict=True):
        ex = np.maximum(np.maximum(a - t, t - b), 0)
        total = total + ex.sum(axis=(1, 2, 3, 4)).astype(np.float64)
    return total


def _tiles_to_image(tiles: np.ndarray, code: JpegCode) -> np.ndarray:
    """Float channel-last tiles ``(N, h, w, C)`` → uint8 ``(N, h, w, 3)`` or ``(N, h, w)``."""
    if code.is_color:
        return np.clip(np.rint(ycbcr_to_rgb(tiles)), 0, 255).astype(np.uint8)
    return np.clip(np.rint(tiles[..., 0]), 0, 255).astype(np.uint8)


def _gamut_clip_tiles(tiles: np.ndarray, code: JpegCode) -> np.ndarray:
    if not code.is_color:
        return np.clip(tiles, 0, 255)
    return rgb_to_ycbcr(np.clip(ycbcr_to_rgb(tiles), 0, 255))


def _project_tiles(
    canvas: np.ndarray, code: JpegCode, g: _Group, q: list[np.ndarray], m: list[np.ndarray]
) -> np.ndarray:
    """:func:`consistency.project` of MCU canvases ``(N, mh, mw, C)`` (channel last)."""
    out = canvas.copy()
    for i, comp in enumerate(code.components):
        fy, fx = code.factors(i)
        by, bx = g.blocks[i]
        hh, ww = by * 8 * fy, bx * 8 * fx
        down = box_downsample(canvas[:, :hh, :ww, i], fy, fx)
        c = _dct(blockify(down - 128.0)) / comp.table
        half = 0.5 - m[i]
        target = q[i] + np.maximum(np.minimum(c - q[i], half), -half)
        delta = unblockify(_idct((target - c) * comp.table))
        out[:, :hh, :ww, i] += box_upsample(delta, fy, fx)
    return out


def _pad_tiles(tiles: np.ndarray, code: JpegCode, g: _Group) -> np.ndarray:
    """Pad ``(N, h, w, C)`` tiles to whole MCUs as libjpeg does (see ``canvas_rows``)."""
    mh, mw = _mcu_size(code)
    cols = np.minimum(np.arange(mw), g.width - 1)
    hv = -(-g.height // code.max_v) * code.max_v
    r = np.arange(mh)
    out = []
    for i in range(tiles.shape[-1]):
        fy, _ = code.factors(i)
        rows = np.minimum(np.where(r < hv, r, hv - fy + (r - hv) % fy), g.height - 1)
        out.append(tiles[:, rows][:, :, cols, i])
    return np.stack(out, axis=-1)


def _continuous_tiles(
    img: np.ndarray,
    planes_hw: np.ndarray,
    margins: list[np.ndarray],
    code: JpegCode,
    g: _Group,
    rounds: int,
) -> None:
    """Continuous-stage rounds on group ``g``'s MCUs only; writes the best tiles into ``img``."""
    mh, mw = _mcu_size(code)
    n = len(code.components)
    pix = _pixel_index(g, code)
    bidx = [_block_index(g, code, i) for i in range(n)]
    q = [code.components[i].coefficients[bidx[i]].astype(np.float64) for i in range(n)]
    m = [margins[i][bidx[i]] for i in range(n)]
    lo, hi = _tile_bounds(code, g)
    cur = planes_hw[pix]
    best = img[pix]
    best_bad = sum(
        v.sum(axis=(1, 2, 3, 4)) for v in _tile_violations(_tile_dct8(best, code, g), lo, hi)
    )
    for it in range(1, rounds + 1):
        idx = np.nonzero(best_bad > 0)[0]
        if idx.size == 0:
            break
        sub = g.take(idx)
        canvas = _pad_tiles(_gamut_clip_tiles(cur[idx], code), code, g)
        canvas = _project_tiles(canvas, code, sub, [a[idx] for a in q], [a[idx] for a in m])
        now = canvas[:, : g.height, : g.width]
        tiles = _tiles_to_image(now, code)
        viol = _tile_violations(
            _tile_dct8(tiles, code, sub), [a[idx] for a in lo], [a[idx] for a in hi]
        )
        bad = sum(v.sum(axis=(1, 2, 3, 4)) for v in viol)
        logger.debug("snap continuous round %d: %d differing coefficients", it, int(bad.sum()))
        # like the whole-image loop, keep the latest round (its margins are the widest,
        # the best start for the integer stage); an MCU leaves once it re-encodes exactly
        best[idx] = tiles
        best_bad[idx] = bad
        for mi, v in zip(m, viol, strict=True):
            mi[idx] = np.where(v, np.minimum(mi[idx] + MARGIN_STEP, MARGIN_MAX), mi[idx])
        cur[idx] = now
    img[pix] = best


def _tile_descent(
    tiles: np.ndarray, code: JpegCode, g: _Group, lo: list[np.ndarray], hi: list[np.ndarray]
) -> np.ndarray:
    """Gradient sign field of the bin excess w.r.t. the 8-bit pixels of MCU tiles.

    For component planes, ∂excess/∂x = Uᵀ IDCT(g) with g = +1 where t > hi, −1 where t < lo
    (the DCT is orthonormal and the box average's adjoint replicates); for RGB, chained
    through the YCbCr matrix. Same shape as ``tiles``, float.
    """
    grads = []
    for i, (t, comp) in enumerate(zip(_tile_dct8(tiles, code, g), code.components, strict=True)):
        s = (t > hi[i]).astype(np.float64) - (t < lo[i]).astype(np.float64)
        plane = box_upsample(unblockify(_idct(s / comp.table)), *code.factors(i))
        hp, wp = max(plane.shape[-2], g.height), max(plane.shape[-1], g.width)
        grads.append(pad_replicate(plane, hp, wp)[:, : g.height, : g.width])
    if not code.is_color:
        return grads[0] if tiles.ndim == 3 else grads[0][..., None] * RGB_TO_YCBCR[0]
    return np.stack(grads, axis=-1) @ RGB_TO_YCBCR


_GAMMA = np.uint64(0x9E3779B97F4A7C15)


def _mcu_uniform(seed: int, g: _Group, stream: int, shape: tuple[int, ...]) -> np.ndarray:
    """Uniforms in [0, 1) of ``shape = (N, …)``, one counter-based stream per MCU of ``g``:
    SplitMix64 of (seed, MCU row, MCU column, ``stream``, element index). Unlike a shared
    generator, an MCU's draws do not depend on which other MCUs are being repaired, so the
    integer stage is local: editing one region of the target leaves the others' result
    unchanged."""
    n = int(np.prod(shape[1:], dtype=np.int64))
    with np.errstate(over="ignore"):
        key = (
            np.uint64(seed & 0xFFFFFFFF) * np.uint64(0xD1B54A32D192ED03)
            ^ g.rows.astype(np.uint64) * np.uint64(0xABC98388FB8FAC03)
            ^ g.cols.astype(np.uint64) * np.uint64(0x8CB92BA72F3D8DD7)
            ^ np.uint64(stream) * np.uint64(0xC2B2AE3D27D4EB4F)
        )
        x = key[:, None] + (np.arange(n, dtype=np.uint64)[None] + np.uint64(1)) * _GAMMA
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        x = x ^ (x >> np.uint64(31))
    return ((x >> np.uint64(11)).astype(np.float64) * 2.0**-53).reshape(shape)


def _repair_groups(
    img: np.ndarray, code: JpegCode, groups: list[_Group], rounds: int, seed: int
) -> np.ndarray:
    """The integer stage on the MCUs of ``groups`` (in place on ``img``, which it returns).

    Random proposals come from per-MCU streams (:func:`_mcu_uniform`) and the descent step
    is scaled per MCU, so each MCU's search depends only on its own pixels and code."""
    states = []
    for g in groups:
        lo, hi = _tile_bounds(code, g)
        tiles = img[_pixel_index(g, code)]
        score = _tile_excess(_tile_dct8(tiles, code, g), lo, hi)
        states.append([g, tiles, score, lo, hi])
    start = sum(int((s[2] > 0).sum()) for s in states)
    if start == 0:
        return img
    for r in range(rounds):
        # write back the MCUs that are done and drop them
        for s in states:
            g, tiles, score, lo, hi = s
            done = score <= 0
            if done.any():
                img[_pixel_index(g.take(done), code)] = tiles[done]
                keep = ~done
                s[:] = [
                    g.take(keep),
                    tiles[keep],
                    score[keep],
                    [a[keep] for a in lo],
                    [a[keep] for a in hi],
                ]
        states = [s for s in states if s[0].rows.size]
        if not states:
            break
        for s in states:
            g, tiles, score, lo, hi = s
            cand = tiles.astype(np.int16)
            if r % 3 != 2:
                grad = _tile_descent(tiles, code, g, lo, hi)
                mag = np.abs(grad)
                scale = mag.reshape(len(mag), -1).max(axis=1) + 1e-12
                scale = scale.reshape(-1, *([1] * (mag.ndim - 1)))
                p = (0.06 if r % 3 == 0 else 0.025) * mag / scale  # per-MCU scale: small steps
                u = _mcu_uniform(seed, g, 4 * r, mag.shape)
                cand += np.where(u < p, -np.sign(grad), 0).astype(np.int16)
            else:
                shape = tiles.shape[:3]
                change = _mcu_uniform(seed, g, 4 * r, shape) < 0.05
                sign = np.where(_mcu_uniform(seed, g, 4 * r + 1, shape) < 0.5, -1, 1)
                sign = sign.astype(np.int16)
                if tiles.ndim == 4:
                    # 0..2: one channel, 3: all
                    which = (_mcu_uniform(seed, g, 4 * r + 2, shape) * 4).astype(np.int64)
                    for ch in range(3):
                        sel = change & ((which == ch) | (which == 3))
                        cand[..., ch] += np.where(sel, sign, 0)
                else:
                    cand += np.where(change, sign, 0)
            cand = np.clip(cand, 0, 255).astype(np.uint8)
            new_score = _tile_excess(_tile_dct8(cand, code, g), lo, hi)
            better = new_score < score
            tiles[better] = cand[better]
            score[better] = new_score[better]
    end = 0
    for g, tiles, score, _, _ in states:
        img[_pixel_index(g, code)] = tiles
        end += int((score > 0).sum())
    logger.debug("integer repair: %d → %d MCUs with differing coefficients", start, end)
    return img


# --- full-image helpers ----------------------------------------------------------------


def _excess(image: np.ndarray, code: JpegCode) -> list[np.ndarray]:
    """Per-coefficient excess outside the bin, in ×8 integer DCT units (0 = identical)."""
    out = []
    for t, comp, free in zip(
        unquantized_dct8(image, code), code.components, free_blocks(code), strict=True
    ):
        lo, hi = free_bounds(*bin_bounds(comp.coefficients, comp.table), free)
        out.append(np.maximum(np.maximum(lo - t, t - hi), 0))
    return out


def _mcu_scores(image: np.ndarray, code: JpegCode) -> np.ndarray:
    """Total excess per MCU ``(mcu_rows, mcu_cols)``."""
    return _mcu_totals([ex.sum(axis=(-2, -1)) for ex in _excess(image, code)], code)


def _mcu_grid(code: JpegCode) -> tuple[int, int]:
    return -(-code.height // (8 * code.max_v)), -(-code.width // (8 * code.max_h))


def integer_repair(
    image: np.ndarray, code: JpegCode, rounds: int = 60, seed: int = 0
) -> np.ndarray:
    """Randomised local search on 8-bit pixels, MCU by MCU, lowering the bin excess.

    Even rounds step ±1 against the excess gradient on a random subset of the pixels where
    the gradient is largest; odd rounds try random ±1 changes. A proposal is kept in the
    MCUs whose total excess ``Σ max(0, lo − t, t − hi)`` drops. MCUs are independent:
    libjpeg encodes each from its own pixels (edge padding replicates pixels of the same
    MCU), so only the MCUs that differ are simulated, as batches of tiles.
    """
    img = image.copy()
    active = _mcu_scores(img, code) > 0
    if not active.any():
        return img
    return _repair_groups(img, code, _groups(code, active), rounds, seed)
