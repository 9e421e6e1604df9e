"""``Explorer``: edit a decoding by optimising its control signal z, always consistent.

The explorer holds the current z, the decoded image (``decoder.decode(code, z)``, which
re-encodes to the code exactly), an undo/redo history of z and named alternatives.
:meth:`Explorer.optimize` minimises an objective's loss over z inside a selection:

- z = tanh(w), Adam (lr 0.1) on w; only the z of the selection's blocks dilated by
  ``z_halo_blocks`` may change;
- the code, z and masks are cropped to the selection's bounding box plus a margin of
  ``margin_blocks`` (≈ 15) blocks, aligned to MCUs, optimised there and pasted back;
- masks are snapped to whole 8×8 blocks;
- ``L = f(x̂) / |f(x̂₀)| + λ · mean_{p ∉ mask} ρ(x̂ − x̂₀)`` with ``ρ(d) = √(d² + ε²) − ε``
  (a smooth L1) keeps the output outside the selection; dividing f by its starting value
  makes λ mean the same for every objective ("a 1% better objective is worth a mean change
  of 0.01/λ outside");
- the best iterate is kept, so the loss never ends worse than it started; when it
  stalls, lr is divided by 5 (three times at most);
- a wall-clock budget, an iteration cap, a ``progress(fraction, message)`` callback and a
  ``threading.Event`` for cancellation.

:meth:`Explorer.apply` runs any tool by name (``TOOLS``) and returns a :class:`ToolResult`.

Example:
    >>> ex = Explorer(Decoder.from_pretrained(), read_jpeg("photo.jpg"))  # doctest: +SKIP
    >>> res = ex.apply("variance-up", mask, delta=0.05)  # doctest: +SKIP
    >>> ex.undo()  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import json
import logging
import math
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from .code import JpegCode
from .decoder import Decoder
from .errors import ExplorableJpegError
from .objectives import (
    DictionaryObjective,
    DigitObjective,
    HSVObjective,
    ImprintObjective,
    MagnitudeObjective,
    Objective,
    PeriodicityObjective,
    RandomObjective,
    Region,
    ScribbleObjective,
    TVObjective,
    VarianceObjective,
)
from .objectives._ops import planes_to_rgb
from .objectives.base import ExplorationError, RegionError
from .objectives.digit import digit_probabilities
from .objectives.scribble import MODES
from .objectives.uniform import controls_from_z, structure_tensor_z
from .zfile import code_fingerprint

logger = logging.getLogger(__name__)

Progress = Callable[[float, str], None]

LEARNING_RATE = 0.1
LR_DECAY = 5.0
MAX_LR_DECAYS = 3
PATIENCE = 3  # iterations without improvement before lr is divided
MARGIN_BLOCKS = 15
Z_HALO_BLOCKS = 1
CHARBONNIER_EPS = 2 / 255  # the preservation term is smooth below ~2 grey levels
HISTORY_DEPTH = 10
DEFAULT_BUDGET_S = 30.0
DEFAULT_MAX_ITERS = 100
W_CLAMP = 1 - 1e-4  # z = ±1 would need w = ±∞
FILE_VERSION = 1

TOOLS: tuple[str, ...] = (
    "variance-up",
    "variance-down",
    "magnitude-up",
    "magnitude-down",
    "tv-down",
    "scribble",
    "hsv",
    "imprint",
    "dictionary",
    "periodicity",
    "random",
    "uniform",
    "digit",
)


class UnknownToolError(ExplorationError):
    """``apply`` was asked for a tool that does not exist."""


class ExplorationFileError(ExplorationError):
    """An exploration file that cannot be read, is corrupt, or belongs to another JPEG."""


__all__ = [
    "TOOLS",
    "ExplorationError",
    "ExplorationFileError",
    "Explorer",
    "OptimizeResult",
    "RegionError",
    "ToolResult",
    "UnknownToolError",
    "rect_mask",
]


@dataclasses.dataclass
class OptimizeResult:
    """What :meth:`Explorer.optimize` did (losses of the crop objective, incl. preservation)."""

    loss_start: float
    loss_best: float
    iterations: int
    seconds: float
    cancelled: bool = False
    z: list[torch.Tensor] = dataclasses.field(default_factory=list, repr=False)

    @property
    def improved(self) -> bool:
        return self.loss_best < self.loss_start


@dataclasses.dataclass
class ToolResult:
    """The outcome of :meth:`Explorer.apply`.

    Attributes:
        image: the new current image (uint8, consistent).
        alternatives: name → image, for tools that produce several (random, digit).
        scores: name → score (digit: the classifier's probability of that digit).
        info: tool-specific details (e.g. the imprint's chosen sub-block shift, the
            periods found, the uniform sliders).
        result: the optimisation summary (None for tools that set z directly).
    """

    image: np.ndarray
    alternatives: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)
    scores: dict[str, float] = dataclasses.field(default_factory=dict)
    info: dict[str, Any] = dataclasses.field(default_factory=dict)
    result: OptimizeResult | None = None


# ---------------------------------------------------------------------- masks and crops
def rect_mask(shape: tuple[int, int], y0: int, x0: int, y1: int, x1: int) -> np.ndarray:
    """A boolean ``(H, W)`` mask of the rectangle ``[y0, y1) × [x0, x1)``.

    Raises :class:`RegionError` if the rectangle does not overlap the image.
    """
    h, w = shape
    a0, b0, a1, b1 = max(0, y0), max(0, x0), min(h, y1), min(w, x1)
    if a1 <= a0 or b1 <= b0:
        raise RegionError(f"rectangle ({y0}, {x0})–({y1}, {x1}) is outside the {w}x{h} image")
    m = np.zeros((h, w), dtype=bool)
    m[a0:a1, b0:b1] = True
    return m


def as_mask(mask, shape: tuple[int, int]) -> np.ndarray:
    """Normalise a selection to a boolean ``(H, W)`` array.

    ``None`` → the whole image. Arrays: bool, or numbers where ≥ ½ of the maximum
    (uint8 ≥ 128: white = selected); ``(H, W, 3/4)`` images use their mean of RGB (and
    alpha > 0 when there is an alpha channel). A ``(y0, x0, y1, x1)`` tuple is a rectangle.
    """
    h, w = shape
    if mask is None:
        return np.ones((h, w), dtype=bool)
    if isinstance(mask, tuple) and len(mask) == 4:
        return rect_mask(shape, *(int(v) for v in mask))
    m = mask.detach().cpu().numpy() if isinstance(mask, torch.Tensor) else np.asarray(mask)
    if m.ndim == 3 and m.shape[-1] in (3, 4):
        alpha = m[..., 3] > 0 if m.shape[-1] == 4 else True
        m = (
            m[..., :3].astype(np.float64).mean(-1) >= (128 if m.dtype == np.uint8 else 0.5)
        ) & alpha
    if m.ndim != 2:
        raise RegionError(f"mask must be (H, W) or an RGB(A) image, got shape {m.shape}")
    if m.shape != (h, w):
        raise RegionError(f"mask is {m.shape[1]}x{m.shape[0]} but the image is {w}x{h}")
    if m.dtype != bool:
        m = m >= (128 if m.dtype == np.uint8 else 0.5)
    if not m.any():
        raise RegionError("the selection is empty (no white pixels in the mask)")
    return m


def block_mask(mask: np.ndarray, padded: tuple[int, int]) -> np.ndarray:
    """``(Hp/8, Wp/8)`` bool: blocks that contain at least one selected pixel."""
    hp, wp = padded
    m = np.zeros((hp, wp), dtype=bool)
    m[: mask.shape[0], : mask.shape[1]] = mask
    return m.reshape(hp // 8, 8, wp // 8, 8).any(axis=(1, 3))


def _charbonnier(d: torch.Tensor) -> torch.Tensor:
    """``ρ(d) = sqrt(d² + ε²) − ε``: L1 for changes above ε, smooth (no kink) at 0."""
    return torch.sqrt(d * d + CHARBONNIER_EPS**2) - CHARBONNIER_EPS


def _dilate(m: torch.Tensor, r: int) -> torch.Tensor:
    if r <= 0:
        return m
    return F.max_pool2d(m[None, None].float(), 2 * r + 1, stride=1, padding=r)[0, 0] > 0


@dataclasses.dataclass
class _Crop:
    code: JpegCode
    y0: int  # pixels
    x0: int
    zy: slice  # block rows / cols of z
    zx: slice


@contextlib.contextmanager
def _frozen(module: torch.nn.Module) -> Iterator[None]:
    """No gradients for the module's weights (only z is optimised); restores the flags."""
    flags = [p.requires_grad for p in module.parameters()]
    for p in module.parameters():
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, f in zip(module.parameters(), flags, strict=True):
            p.requires_grad_(f)


# ---------------------------------------------------------------------- the explorer
class Explorer:
    """State of one exploration of ``code`` with ``decoder`` (see the module docstring).

    Args:
        decoder: an explorable decoder (``z_channels > 0``; the ``gan`` variant).
        code: the JPEG code.
        z: starting control signal (default 0).
        history_depth: how many undo steps are kept.
    """

    def __init__(
        self,
        decoder: Decoder,
        code: JpegCode,
        z: torch.Tensor | None = None,
        history_depth: int = HISTORY_DEPTH,
    ) -> None:
        if not decoder.z_channels:
            raise ExplorationError("exploration needs an explorable decoder (variant 'gan')")
        self.decoder, self.code = decoder, code
        self.history_depth = int(history_depth)
        self._z = self._checked_z(z if z is not None else torch.zeros(decoder.z_shape(code)))
        self._undo: list[torch.Tensor] = []
        self._redo: list[torch.Tensor] = []
        self.alternatives: dict[str, torch.Tensor] = {}
        self._image = decoder.decode(code, self._z)
        self._classifier = None

    # ------------------------------------------------------------------ state
    @property
    def z(self) -> torch.Tensor:
        """A copy of the current z ``(64, Hp/8, Wp/8)``."""
        return self._z.clone()

    @property
    def image(self) -> np.ndarray:
        """The current decoding (uint8, re-encodes to the code)."""
        return self._image.copy()

    @property
    def shape(self) -> tuple[int, int]:
        return self.code.height, self.code.width

    def _checked_z(self, z) -> torch.Tensor:
        z = torch.as_tensor(z, dtype=torch.float32).detach().cpu()
        if tuple(z.shape) != self.decoder.z_shape(self.code):
            raise ExplorationError(
                f"z has shape {tuple(z.shape)}, expected {self.decoder.z_shape(self.code)}"
            )
        if not torch.isfinite(z).all():
            raise ExplorationError("z contains NaN or infinite values")
        return z.clamp(-1, 1).clone()

    def set_z(self, z: torch.Tensor, record: bool = True) -> np.ndarray:
        """Make ``z`` current (pushing the old one on the undo stack); returns the image."""
        z = self._checked_z(z)
        if record:
            self._undo.append(self._z)
            del self._undo[: -self.history_depth]
            self._redo.clear()
        self._z = z
        self._image = self.decoder.decode(self.code, z)
        return self.image

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    def undo(self) -> bool:
        """Go back one step; False when there is nothing to undo."""
        if not self._undo:
            return False
        self._redo.append(self._z)
        self._z = self._undo.pop()
        self._image = self.decoder.decode(self.code, self._z)
        return True

    def redo(self) -> bool:
        """Re-apply the last undone step; False when there is nothing to redo."""
        if not self._redo:
            return False
        self._undo.append(self._z)
        self._z = self._redo.pop()
        self._image = self.decoder.decode(self.code, self._z)
        return True

    def add_alternative(self, name: str, z: torch.Tensor | None = None) -> None:
        """Store ``z`` (default: the current z) under ``name``."""
        self.alternatives[str(name)] = self._checked_z(self._z if z is None else z)

    def alternative_image(self, name: str) -> np.ndarray:
        return self.decoder.decode(self.code, self._alternative(name))

    def _alternative(self, name: str) -> torch.Tensor:
        if name not in self.alternatives:
            raise ExplorationError(f"no alternative named {name!r}")
        return self.alternatives[name]

    def use_alternative(self, name: str, mask=None) -> np.ndarray:
        """Copy alternative ``name``'s z into the current z (inside ``mask``'s blocks, or all)."""
        alt = self._alternative(name)
        if mask is None:
            return self.set_z(alt)
        blocks = torch.as_tensor(block_mask(as_mask(mask, self.shape), self.code.padded_size()))
        return self.set_z(torch.where(blocks, alt, self._z))

    # ------------------------------------------------------------------ crops
    def _crop(self, blocks: np.ndarray, margin_blocks: int) -> _Crop:
        code = self.code
        mh, mw = code.mcu_size
        rows, cols = np.nonzero(blocks.any(axis=1))[0], np.nonzero(blocks.any(axis=0))[0]
        py0 = max(0, (int(rows[0]) - margin_blocks) * 8)
        px0 = max(0, (int(cols[0]) - margin_blocks) * 8)
        py1 = min(code.height, (int(rows[-1]) + 1 + margin_blocks) * 8)
        px1 = min(code.width, (int(cols[-1]) + 1 + margin_blocks) * 8)
        r0, c0 = py0 // mh, px0 // mw
        r1, c1 = math.ceil(py1 / mh), math.ceil(px1 / mw)
        crop = code.crop_mcus(r0, c0, r1, c1)
        zb = self.decoder.z_shape(crop)
        y0, x0 = r0 * mh, c0 * mw
        return _Crop(crop, y0, x0, slice(y0 // 8, y0 // 8 + zb[1]), slice(x0 // 8, x0 // 8 + zb[2]))

    def _decode_rgb(self, crop: JpegCode, z: torch.Tensor) -> torch.Tensor:
        planes = torch.stack([self.decoder.decode_planes(crop, zi, tile_blocks=None) for zi in z])
        return planes_to_rgb(planes, crop)

    # ------------------------------------------------------------------ optimisation
    def optimize(
        self,
        objective: Objective,
        mask=None,
        budget_s: float = DEFAULT_BUDGET_S,
        max_iters: int = DEFAULT_MAX_ITERS,
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
        margin_blocks: int = MARGIN_BLOCKS,
        z_halo_blocks: int = Z_HALO_BLOCKS,
        preserve_weight: float | None = None,
        commit: bool = True,
        seed: int = 0,
    ) -> OptimizeResult:
        """Minimise ``objective`` over z inside ``mask`` (see the module docstring).

        Args:
            objective: an :class:`~explorable_jpeg.objectives.Objective` (not yet prepared).
            mask: the selection (see :func:`as_mask`); None = whole image.
            budget_s, max_iters: stop after this wall-clock time (one step is always taken,
                however long the set-up) / number of iterations.
            progress: called as ``progress(fraction, message)`` after each iteration.
            cancel: when set, stop at the next iteration and keep the best z so far.
            preserve_weight: λ of the term outside the selection (default: the objective's).
            commit: make the result current (single-output objectives; pushes history).
            seed: seeds random initialisations (random alternatives).

        Returns:
            :class:`OptimizeResult` whose ``z`` holds the full-size z of every output.
        """
        t0 = time.perf_counter()
        pix = as_mask(mask, self.shape)
        padded = self.code.padded_size()
        blocks = block_mask(pix, padded)
        crop = self._crop(blocks, margin_blocks)
        h, w = crop.code.height, crop.code.width
        ys, xs = slice(crop.y0, crop.y0 + h), slice(crop.x0, crop.x0 + w)
        dev = self.decoder.device
        bm = torch.as_tensor(blocks[crop.zy, crop.zx], device=dev)
        snapped = bm.repeat_interleave(8, 0).repeat_interleave(8, 1)[:h, :w].float()
        editable = _dilate(bm, z_halo_blocks)[None]
        z0 = self._z[:, crop.zy, crop.zx].to(dev)
        lam = objective.preserve_weight if preserve_weight is None else float(preserve_weight)
        gen = torch.Generator().manual_seed(int(seed))
        with _frozen(self.decoder), torch.enable_grad(), torch.device(dev):
            with torch.no_grad():
                rgb0 = self._decode_rgb(crop.code, z0[None])[0]
            region = Region(
                rgb0=rgb0,
                mask=snapped,
                pixel_mask=torch.as_tensor(pix[ys, xs], device=dev).float(),
                code=crop.code,
                origin=(crop.y0, crop.x0),
            )
            objective.prepare(region)
            outside = 1.0 - snapped

            scale = [1.0]

            def total_rgb(rgb: torch.Tensor) -> torch.Tensor:
                keep = (_charbonnier(rgb - rgb0) * outside).sum() / (
                    outside.sum().clamp_min(1) * rgb.shape[0] * rgb.shape[1]
                )
                return objective.loss(rgb) / scale[0] + lam * keep

            def total(zs: torch.Tensor) -> torch.Tensor:
                return total_rgb(self._decode_rgb(crop.code, zs))

            zi = objective.initial_z(z0.cpu(), bm[None].cpu(), gen).to(z0)
            zi = torch.where(editable, zi, z0[None])
            w_param = torch.atanh(zi.clamp(-W_CLAMP, W_CLAMP)).requires_grad_(True)

            def z_of(wp: torch.Tensor) -> torch.Tensor:
                return torch.where(editable, torch.tanh(wp), z0[None])

            with torch.no_grad():
                if torch.equal(zi, z0[None].expand_as(zi)):  # start = current: no decode
                    rgb_i = rgb0[None].expand(len(zi), -1, -1, -1)
                else:
                    rgb_i = self._decode_rgb(crop.code, z_of(w_param))
                scale[0] = objective.scale(rgb_i)
                loss_start = float(total_rgb(rgb_i))
            best_loss, best_w = loss_start, w_param.detach().clone()
            opt = torch.optim.Adam([w_param], lr=LEARNING_RATE)
            since_best, decays, it, cancelled = 0, 0, 0, False
            logger.info("optimize %s: crop %dx%d, start loss %.5g",
                        type(objective).__name__, w, h, loss_start)  # fmt: skip
            while it < max_iters:
                if cancel is not None and cancel.is_set():
                    cancelled = True
                    break
                if it > 0 and time.perf_counter() - t0 > budget_s:
                    break  # at least one step, however long the set-up took (a busy CPU)
                opt.zero_grad()
                loss = total(z_of(w_param))
                value = float(loss.detach())
                if math.isfinite(value) and value < best_loss:
                    best_loss, best_w, since_best = value, w_param.detach().clone(), 0
                else:
                    since_best += 1
                if since_best >= PATIENCE:
                    if decays >= MAX_LR_DECAYS:
                        break
                    decays += 1
                    since_best = 0
                    with torch.no_grad():
                        w_param.copy_(best_w)
                    opt = torch.optim.Adam([w_param], lr=LEARNING_RATE / LR_DECAY**decays)
                    continue
                loss.backward()
                if it == 0 and not float(w_param.grad.abs().max()) > 0:
                    logger.warning("z has no effect on this region (the decoder's z weights "
                                   "are zero?); nothing to optimise")  # fmt: skip
                    break
                opt.step()
                it += 1
                if progress is not None:
                    frac = max(it / max_iters, (time.perf_counter() - t0) / budget_s)
                    progress(min(frac, 1.0), f"iteration {it}: loss {best_loss:.4g}")
            if not cancelled:  # the last step's result
                with torch.no_grad():
                    value = float(total(z_of(w_param)))
                if math.isfinite(value) and value < best_loss:
                    best_loss, best_w = value, w_param.detach().clone()
            # no improvement: exactly the starting z (tanh∘atanh is not exact at ±1)
            z_best = (zi if best_loss >= loss_start else z_of(best_w)).detach().cpu()
        full = []
        for zb in z_best:
            zf = self._z.clone()
            zf[:, crop.zy, crop.zx] = zb
            full.append(zf)
        result = OptimizeResult(
            loss_start, best_loss, it, time.perf_counter() - t0, cancelled, full
        )
        logger.info("optimize: %d iterations, loss %.5g → %.5g in %.1fs",
                    it, loss_start, best_loss, result.seconds)  # fmt: skip
        if commit and len(full) == 1 and result.improved:
            self.set_z(full[0])
        if progress is not None:
            progress(1.0, "done")
        return result

    # ------------------------------------------------------------------ tools
    def apply(self, tool: str, mask=None, **params: Any) -> ToolResult:
        """Run tool ``tool`` (one of :data:`TOOLS`) on ``mask`` and return the result.

        Common params: ``budget_s``, ``max_iters``, ``progress``, ``cancel``,
        ``preserve_weight``, ``margin_blocks``, ``z_halo_blocks``. Tool params:

        - ``variance-up/-down``, ``magnitude-up/-down``: ``delta`` (default 0.03);
        - ``tv-down``: ``keep_variance``;
        - ``scribble``: ``scribble`` (image), ``labels`` (int map) or ``mode``
          (colour/brighten/darken/tv; the scribbled pixels are the mask's), ``delta``;
        - ``hsv``: ``hue``, ``saturation``, ``value`` (shifts on [0, 1]);
        - ``imprint``: ``source`` (image) or ``source_box`` (y0, x0, y1, x1 of the current
          image; default: the selection itself), ``auto_shift``, ``dy``, ``dx``, ``dh``,
          ``dw``, ``angle``;
        - ``dictionary``: ``source`` or ``source_box``, ``ignore_variance``;
        - ``periodicity``: ``directions`` (degrees, 1 or 2), ``periods`` (px or None);
        - ``random``: ``n`` (4), ``close`` (False), ``seed``;
        - ``uniform``: ``magnitude``, ``secondary``, ``direction`` (degrees);
        - ``digit``: ``digits`` (default 0–9).

        ``random`` and ``digit`` store their outputs as alternatives (``random 1…``,
        ``digit 0…``), return them all, and make the first (``digit``: the most probable)
        current; :meth:`undo` goes back.
        """
        if tool not in TOOLS:
            raise UnknownToolError(f"unknown tool {tool!r}; choose one of {', '.join(TOOLS)}")
        opt_keys = (
            "budget_s", "max_iters", "progress", "cancel", "preserve_weight", "margin_blocks",
            "z_halo_blocks",
        )  # fmt: skip
        run = {k: params.pop(k) for k in opt_keys if k in params}
        handler = getattr(self, "_tool_" + tool.replace("-", "_"))
        accepted = set(inspect.signature(handler).parameters) - {"mask", "run"}
        unknown = sorted(set(params) - accepted)
        if unknown:
            raise ExplorationError(
                f"{tool}: unknown parameter(s) {', '.join(unknown)}; "
                f"accepted: {', '.join(sorted(accepted)) or 'none'}"
            )
        return handler(mask, run, **params)

    def _simple(self, objective: Objective, mask, run: dict, info=None) -> ToolResult:
        res = self.optimize(objective, mask, **run)
        return ToolResult(self.image, info=info or {}, result=res)

    def _tool_variance_up(self, mask, run, delta: float = 0.03) -> ToolResult:
        return self._simple(VarianceObjective(abs(float(delta))), mask, run)

    def _tool_variance_down(self, mask, run, delta: float = 0.03) -> ToolResult:
        return self._simple(VarianceObjective(-abs(float(delta))), mask, run)

    def _tool_magnitude_up(self, mask, run, delta: float = 0.03) -> ToolResult:
        return self._simple(MagnitudeObjective(abs(float(delta))), mask, run)

    def _tool_magnitude_down(self, mask, run, delta: float = 0.03) -> ToolResult:
        return self._simple(MagnitudeObjective(-abs(float(delta))), mask, run)

    def _tool_tv_down(self, mask, run, keep_variance: float = 5.0) -> ToolResult:
        return self._simple(TVObjective(float(keep_variance)), mask, run)

    def _tool_scribble(
        self, mask, run, scribble=None, labels=None, mode: str = "colour", delta: float = 0.15
    ) -> ToolResult:
        if labels is None:
            if mode not in MODES:
                raise ExplorationError(f"scribble mode must be one of {', '.join(MODES)}")
            labels = as_mask(mask, self.shape).astype(np.int64) * MODES[mode]
        labels = np.asarray(labels)
        if labels.shape != self.shape:
            raise RegionError(f"scribble labels are {labels.shape}, the image is {self.shape}")
        if not (labels > 0).any():
            raise RegionError("the scribble is empty")
        if scribble is not None and np.asarray(scribble).shape[:2] != self.shape:
            raise ExplorationError("the scribble image must have the size of the JPEG")
        if MODES.get(mode) == MODES["colour"] and scribble is None and (labels == 1).any():
            raise ExplorationError("colour scribbles need a scribble image")
        # optimise on the blocks the scribble touches (and the mask, when one is given)
        region = labels > 0
        if mask is not None:
            region = region | as_mask(mask, self.shape)
        return self._simple(ScribbleObjective(labels, scribble, float(delta)), region, run)

    def _tool_hsv(
        self, mask, run, hue: float = 0.0, saturation: float = 0.0, value: float = 0.0
    ) -> ToolResult:
        return self._simple(HSVObjective(float(hue), float(saturation), float(value)), mask, run)

    def _source(self, source, source_box, default_mask) -> np.ndarray:
        if source is not None:
            return np.asarray(source)
        if source_box is None:
            y0, x0, y1, x1 = _bbox_np(as_mask(default_mask, self.shape))
        else:
            y0, x0, y1, x1 = (int(v) for v in source_box)
            m = rect_mask(self.shape, y0, x0, y1, x1)
            y0, x0, y1, x1 = _bbox_np(m)
        return self._image[y0:y1, x0:x1]

    def _tool_imprint(
        self,
        mask,
        run,
        source=None,
        source_box=None,
        auto_shift: bool = True,
        dy: float = 0,
        dx: float = 0,
        dh: float = 0,
        dw: float = 0,
        angle: float = 0.0,
    ) -> ToolResult:
        src = self._source(source, source_box, mask)
        obj = ImprintObjective(src, bool(auto_shift), dy, dx, dh, dw, angle)
        # optimise where the moved / resized / rotated imprint can land, not only the box
        pix = as_mask(mask, self.shape)
        y0, x0, y1, x1 = _bbox_np(pix)
        reach = abs(float(dy)) + abs(float(dx)) + (abs(float(dh)) + abs(float(dw))) / 2
        reach += 4 * bool(auto_shift) + max(y1 - y0, x1 - x0) * abs(math.sin(math.radians(angle)))
        region = _dilate(torch.as_tensor(pix), math.ceil(reach)).numpy()
        obj.box = (y0, x0, y1, x1)
        out = self._simple(obj, region, run)
        out.info["shift"] = obj.chosen_shift
        return out

    def _tool_dictionary(
        self, mask, run, source=None, source_box=None, ignore_variance: bool = False
    ) -> ToolResult:
        if source is None and source_box is None:
            raise ExplorationError("dictionary needs a source image or a source_box")
        src = self._source(source, source_box, mask)
        return self._simple(DictionaryObjective(src, bool(ignore_variance)), mask, run)

    def _tool_periodicity(self, mask, run, directions=(0.0,), periods=None) -> ToolResult:
        obj = PeriodicityObjective(directions, periods)
        out = self._simple(obj, mask, run)
        out.info["periods"] = obj.periods
        return out

    def _tool_random(self, mask, run, n: int = 4, close: bool = False, seed: int = 0):
        obj = RandomObjective(int(n), bool(close))
        res = self.optimize(obj, mask, commit=False, seed=int(seed), **run)
        alts = {}
        for k, z in enumerate(res.z, start=1):
            name = f"random {k}"
            self.alternatives[name] = z
            alts[name] = self.decoder.decode(self.code, z)
        self.set_z(res.z[0])
        return ToolResult(self.image, alts, result=res)

    def _tool_uniform(
        self, mask, run, magnitude: float = 0.5, secondary: float = 0.0, direction: float = 0.0
    ) -> ToolResult:
        blocks = torch.as_tensor(block_mask(as_mask(mask, self.shape), self.code.padded_size()))
        vec = structure_tensor_z(magnitude, secondary, direction)[:, None, None]
        z = torch.where(blocks, vec.expand_as(self._z), self._z)
        self.set_z(z)
        sliders = controls_from_z(z, blocks)
        return ToolResult(self.image, info={"sliders": sliders})

    def uniform_controls(self, mask=None) -> tuple[float, float, float]:
        """Current (magnitude, secondary, direction°) sliders of the selection."""
        blocks = torch.as_tensor(block_mask(as_mask(mask, self.shape), self.code.padded_size()))
        return controls_from_z(self._z, blocks)

    @property
    def classifier(self):
        """The digit classifier (bundled weights), loaded on first use."""
        if self._classifier is None:
            from .digits import DigitNet

            self._classifier = DigitNet.from_pretrained(device=self.decoder.device)
            for p in self._classifier.parameters():
                p.requires_grad_(False)
        return self._classifier

    def digit_probabilities(self, image: np.ndarray, mask) -> np.ndarray:
        """Classifier probabilities ``(10,)`` of the selection's bounding box in ``image``."""
        box = _bbox_np(as_mask(mask, self.shape))
        x = torch.as_tensor(np.asarray(image), dtype=torch.float32) / 255.0
        x = x.permute(2, 0, 1) if x.dim() == 3 else x[None]
        return digit_probabilities(self.classifier, x[None], box)[0].numpy()

    def _tool_digit(self, mask, run, digits=tuple(range(10))) -> ToolResult:
        progress = run.pop("progress", None)
        budget = float(run.pop("budget_s", DEFAULT_BUDGET_S * 2))
        digits = [int(d) for d in digits]
        alts, scores, zs = {}, {}, {}
        for k, d in enumerate(digits):
            sub = None
            if progress is not None:

                def sub(f, msg, k=k, d=d):
                    progress((k + f) / len(digits), f"digit {d}: {msg}")

            res = self.optimize(
                DigitObjective(d, self.classifier), mask, commit=False, progress=sub,
                budget_s=budget / len(digits), **run,
            )  # fmt: skip
            name = str(d)
            zs[name] = res.z[0]
            alts[name] = self.decoder.decode(self.code, res.z[0])
            scores[name] = float(self.digit_probabilities(alts[name], mask)[d])
            self.alternatives[f"digit {d}"] = res.z[0]
        ranked = sorted(scores, key=scores.get, reverse=True)
        self.set_z(zs[ranked[0]])
        return ToolResult(
            self.image,
            {k: alts[k] for k in ranked},
            {k: scores[k] for k in ranked},
            info={"ranking": ranked},
        )

    # ------------------------------------------------------------------ files
    def save(self, path: str | os.PathLike) -> None:
        """Write the exploration (z, undo/redo history, alternatives) to one file.

        Format: safetensors with tensors ``z``, ``undo.<k>``, ``redo.<k>``, ``alt.<k>``
        and JSON metadata (``exploration``: version, code fingerprint, alternative names).
        """
        from safetensors.torch import save_file

        tensors = {"z": self._z}
        tensors.update({f"undo.{k}": z for k, z in enumerate(self._undo)})
        tensors.update({f"redo.{k}": z for k, z in enumerate(self._redo)})
        names = list(self.alternatives)
        tensors.update({f"alt.{k}": self.alternatives[n] for k, n in enumerate(names)})
        meta = {
            "version": FILE_VERSION,
            "fingerprint": code_fingerprint(self.code),
            "width": self.code.width,
            "height": self.code.height,
            "undo": len(self._undo),
            "redo": len(self._redo),
            "alternatives": names,
        }
        try:
            save_file(
                {k: v.float().contiguous() for k, v in tensors.items()},
                str(path),
                metadata={"exploration": json.dumps(meta)},
            )
        except OSError as exc:
            raise ExplorationFileError(f"cannot write {path}: {exc.strerror}") from None

    def load(self, path: str | os.PathLike) -> np.ndarray:
        """Replace the state by a file written by :meth:`save`; returns the image.

        Raises :class:`ExplorationFileError` when the file is unreadable, corrupt, or
        belongs to another JPEG (code fingerprint mismatch).
        """
        from safetensors import SafetensorError, safe_open

        if not Path(path).is_file():
            raise ExplorationFileError(f"no such exploration file: {path}")
        try:
            with safe_open(str(path), framework="pt") as f:
                meta = json.loads((f.metadata() or {}).get("exploration", "null"))
                tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118
        except (SafetensorError, OSError, ValueError) as exc:
            raise ExplorationFileError(f"corrupt exploration file {path}: {exc}") from None
        if not isinstance(meta, dict) or "z" not in tensors:
            raise ExplorationFileError(f"{path} is not an exploration file")
        if meta.get("fingerprint") != code_fingerprint(self.code):
            raise ExplorationFileError(f"{path} belongs to another JPEG (fingerprint mismatch)")
        try:
            z = self._checked_z(tensors["z"])
            undo = [self._checked_z(tensors[f"undo.{k}"]) for k in range(int(meta["undo"]))]
            redo = [self._checked_z(tensors[f"redo.{k}"]) for k in range(int(meta["redo"]))]
            alts = {
                str(n): self._checked_z(tensors[f"alt.{k}"])
                for k, n in enumerate(meta["alternatives"])
            }
        except (KeyError, TypeError, ExplorableJpegError) as exc:
            raise ExplorationFileError(f"corrupt exploration file {path}: {exc}") from None
        self._z, self._undo, self._redo, self.alternatives = z, undo, redo, alts
        self._image = self.decoder.decode(self.code, z)
        return self.image


def _bbox_np(mask: np.ndarray) -> tuple[int, int, int, int]:
    rows, cols = np.nonzero(mask.any(axis=1))[0], np.nonzero(mask.any(axis=0))[0]
    return int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1
