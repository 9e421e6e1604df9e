"""``Explorer``: edit a decoding inside its consistent set, with undo/redo and alternatives.

The explorer holds the current :class:`~.state.State` ``(z, field)``, the image it decodes
to (``snap(P_C(ψ(q, z) + field))``, which re-encodes to the code exactly), an undo/redo
history and named alternatives. :meth:`Explorer.optimize` minimises an objective inside a
selection (:mod:`.loop`: a z phase through the network, then a field phase that reaches
the rest of the consistent set, up to the tool's ``reach``); :meth:`Explorer.apply` runs a
tool of the registry (:mod:`.tools`) by name and returns a :class:`ToolResult`.

Example:
    >>> ex = Explorer(Decoder.from_pretrained(variant="gan"), code)  # doctest: +SKIP
    >>> res = ex.apply("scribble", mask, mode="brighten", reach=1.0)  # doctest: +SKIP
    >>> ex.undo()  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import logging
import math
import threading
import time
from typing import Any

import numpy as np
import torch

from explorable_jpeg.consistency.projection import displace
from explorable_jpeg.decoding.decoder import Decoder
from explorable_jpeg.decoding.plain import component_planes_plain
from explorable_jpeg.explore import handlers
from explorable_jpeg.explore.field import optimize_field
from explorable_jpeg.explore.files import ExplorationFileError, read_exploration, write_exploration
from explorable_jpeg.explore.loop import (
    DEFAULT_BUDGET_S,
    DEFAULT_FIELD_ITERS,
    DEFAULT_MAX_ITERS,
    MARGIN_BLOCKS,
    Z_HALO_BLOCKS,
    Z_SHARE,
    OptimizeResult,
    Progress,
    charbonnier,
    frozen,
    optimize_z,
)
from explorable_jpeg.explore.objectives import Objective, Region
from explorable_jpeg.explore.objectives._ops import planes_to_rgb
from explorable_jpeg.explore.objectives.base import ExplorationError
from explorable_jpeg.explore.selection import as_mask, block_mask, dilate, mcu_pixel_mask
from explorable_jpeg.explore.state import History, State, stored_field
from explorable_jpeg.explore.tools import spec
from explorable_jpeg.jpeg.code import JpegCode
from explorable_jpeg.snap.pipeline import snap

logger = logging.getLogger(__name__)

HISTORY_DEPTH = 10
FIELD_LIMIT = 1024.0  # |field| bound (grey levels): far beyond any consistent displacement

#: options of :meth:`Explorer.optimize` that :meth:`Explorer.apply` passes through
RUN_OPTIONS = (
    "budget_s", "max_iters", "field_iters", "progress", "cancel", "preserve_weight",
    "margin_blocks", "z_halo_blocks", "field_prior",
)  # fmt: skip


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


@dataclasses.dataclass
class _Crop:
    code: JpegCode
    y0: int  # pixels
    x0: int
    zy: slice  # block rows / cols of z
    zx: slice

    @property
    def ys(self) -> slice:
        return slice(self.y0, self.y0 + self.code.height)

    @property
    def xs(self) -> slice:
        return slice(self.x0, self.x0 + self.code.width)


class Explorer:
    """State of one exploration of ``code`` with ``decoder`` (see the module docstring).

    Args:
        decoder: an explorable decoder (``z_channels > 0``; the ``gan`` variant).
        code: the JPEG code.
        z: starting control signal (default 0).
        history_depth: how many undo steps are kept.
        field: starting exploration field ``(C, H, W)`` (default none).
    """

    def __init__(
        self,
        decoder: Decoder,
        code: JpegCode,
        z: torch.Tensor | None = None,
        history_depth: int = HISTORY_DEPTH,
        field: torch.Tensor | None = None,
    ) -> None:
        if not decoder.z_channels:
            raise ExplorationError("exploration needs an explorable decoder (variant 'gan')")
        self.decoder, self.code = decoder, code
        self._history = History(history_depth)
        self.alternatives: dict[str, State] = {}
        self._planes_cache: tuple[torch.Tensor, torch.Tensor] | None = None
        z = self._checked_z(z if z is not None else torch.zeros(decoder.z_shape(code)))
        self._state = State(z, self._checked_field(field))
        self._image = self._render(self._state)
        self._classifier = None

    # ------------------------------------------------------------------ state
    @property
    def z(self) -> torch.Tensor:
        """A copy of the current z ``(64, Hp/8, Wp/8)``."""
        return self._state.z.clone()

    @property
    def field(self) -> torch.Tensor | None:
        """A copy of the current exploration field ``(C, H, W)`` (None: no field)."""
        f = self._state.field
        return None if f is None else f.clone()

    @property
    def state(self) -> State:
        return self._state

    @property
    def image(self) -> np.ndarray:
        """The current decoding (uint8, re-encodes to the code)."""
        return self._image.copy()

    @property
    def shape(self) -> tuple[int, int]:
        return self.code.height, self.code.width

    @property
    def history_depth(self) -> int:
        return self._history.depth

    @property
    def field_shape(self) -> tuple[int, int, int]:
        return (len(self.code.components), self.code.height, self.code.width)

    def _checked_z(self, z: Any) -> torch.Tensor:
        if isinstance(z, torch.Tensor) and not z.is_floating_point():
            raise ExplorationError(f"z must be a float tensor, got {z.dtype}")
        z = torch.as_tensor(z, dtype=torch.float32).detach().cpu()
        if tuple(z.shape) != self.decoder.z_shape(self.code):
            raise ExplorationError(
                f"z has shape {tuple(z.shape)}, expected {self.decoder.z_shape(self.code)}"
            )
        if not torch.isfinite(z).all():
            raise ExplorationError("z contains NaN or infinite values")
        return z.clamp(-1, 1).clone()

    def _checked_field(self, field: Any) -> torch.Tensor | None:
        if field is None:
            return None
        f = torch.as_tensor(field).detach().cpu()
        if not f.is_floating_point():
            raise ExplorationError(f"the field must be a float tensor, got {f.dtype}")
        if tuple(f.shape) != self.field_shape:
            raise ExplorationError(
                f"the field has shape {tuple(f.shape)}, expected {self.field_shape}"
            )
        if not torch.isfinite(f).all():
            raise ExplorationError("the field contains NaN or infinite values")
        return stored_field(f.clamp(-FIELD_LIMIT, FIELD_LIMIT))

    def _checked_state(self, state: State) -> State:
        return State(self._checked_z(state.z), self._checked_field(state.field))

    def network_planes(self, z: torch.Tensor) -> torch.Tensor:
        """``ψ(q, z)``: the decoder's float planes ``(C, H, W)`` for ``z`` (the last is cached)."""
        cached = self._planes_cache
        if cached is not None and torch.equal(cached[0], z):
            return cached[1]
        with torch.inference_mode():
            planes = self.decoder.decode_planes(self.code, z).float().cpu()
        self._planes_cache = (z.clone(), planes)
        return planes

    def state_planes(self, state: State) -> torch.Tensor:
        """Consistent float planes of ``state``: ``P_C(ψ(q, z) + field)``."""
        planes = self.network_planes(state.z)
        if state.field is None:
            return planes
        with torch.inference_mode():
            return displace(planes.double(), state.field.double(), self.code).float()

    def _render(self, state: State) -> np.ndarray:
        planes = self.state_planes(state).double().numpy()
        return snap(planes, self.code, fallback=component_planes_plain)

    def render(self, state: State) -> np.ndarray:
        """The uint8 image a state decodes to (consistent)."""
        return self._render(state)

    def set_state(self, state: State, record: bool = True) -> np.ndarray:
        """Make ``state`` current (pushing the old one on the undo stack); returns the image."""
        state = self._checked_state(state)
        if record:
            self._history.push(self._state)
        self._state = state
        self._image = self._render(state)
        return self.image

    def set_z(self, z: torch.Tensor, record: bool = True) -> np.ndarray:
        """Make ``z`` current, keeping the field (pushing the old state on the undo stack)."""
        return self.set_state(self._state.with_z(z), record)

    @property
    def can_undo(self) -> bool:
        return bool(self._history.undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._history.redo)

    def undo(self) -> bool:
        """Go back one step; False when there is nothing to undo."""
        state = self._history.back(self._state)
        if state is None:
            return False
        self._state = state
        self._image = self._render(state)
        return True

    def redo(self) -> bool:
        """Re-apply the last undone step; False when there is nothing to redo."""
        state = self._history.forward(self._state)
        if state is None:
            return False
        self._state = state
        self._image = self._render(state)
        return True

    def add_alternative(self, name: str, z: torch.Tensor | None = None) -> None:
        """Store the current state (with ``z`` instead of its z, if given) under ``name``."""
        state = self._state if z is None else State(self._checked_z(z), self._state.field)
        self.alternatives[str(name)] = state

    def _alternative(self, name: str) -> State:
        if name not in self.alternatives:
            raise ExplorationError(f"no alternative named {name!r}")
        return self.alternatives[name]

    def use_alternative(self, name: str, mask: Any = None) -> np.ndarray:
        """Make alternative ``name`` current (inside ``mask``'s blocks and MCUs, or all)."""
        alt = self._alternative(name)
        if mask is None:
            return self.set_state(alt)
        blocks = torch.as_tensor(block_mask(as_mask(mask, self.shape), self.code.padded_size()))
        z = torch.where(blocks, alt.z, self._state.z)
        pix = mcu_pixel_mask(blocks, self.code.mcu_size)[: self.shape[0], : self.shape[1]] > 0
        field = None
        if alt.field is not None or self._state.field is not None:
            field = torch.where(
                pix, alt.field_or_zeros(self.field_shape), self._state.field_or_zeros(
                    self.field_shape))  # fmt: skip
        return self.set_state(State(z, field))

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

    def _decode_rgb(self, crop: JpegCode, z: torch.Tensor, field: torch.Tensor | None):
        planes = torch.stack([self.decoder.decode_planes(crop, zi, tile_blocks=None) for zi in z])
        if field is not None:
            planes = displace(planes, field.to(planes), crop)
        return planes_to_rgb(planes, crop)

    # ------------------------------------------------------------------ optimisation
    def optimize(
        self,
        objective: Objective,
        mask: Any = None,
        budget_s: float = DEFAULT_BUDGET_S,
        max_iters: int = DEFAULT_MAX_ITERS,
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
        margin_blocks: int = MARGIN_BLOCKS,
        z_halo_blocks: int = Z_HALO_BLOCKS,
        preserve_weight: float | None = None,
        commit: bool = True,
        seed: int = 0,
        reach: float = 0.0,
        field_iters: int = DEFAULT_FIELD_ITERS,
        field_prior: float | None = None,
    ) -> OptimizeResult:
        """Minimise ``objective`` inside ``mask`` (see :mod:`.loop`).

        Args:
            objective: an :class:`~explorable_jpeg.explore.objectives.Objective` (not yet prepared).
            mask: the selection (see :func:`.selection.as_mask`); None = whole image.
            budget_s: wall-clock budget of both phases (one z step is always taken).
            max_iters: iterations of the z phase (0: none).
            progress: called as ``progress(fraction, message)`` after each iteration.
            cancel: when set, stop at the next iteration and keep the best result so far.
            preserve_weight: λ of the term outside the selection (default: the objective's).
            commit: make the result current (single-output objectives; pushes history).
            seed: seeds random initialisations (random alternatives).
            reach: how far the field phase may leave the network's output (0: no field
                phase; 1: the whole consistent set).
            field_iters: iterations of the field phase.
            field_prior: μ of the field phase (default: the objective's ``field_prior``).

        Returns:
            :class:`OptimizeResult` whose ``states`` (and ``z``) hold every output's state.
        """
        t0 = time.perf_counter()
        reach = float(reach)
        if not (math.isfinite(reach) and 0.0 <= reach <= 1.0):
            raise ExplorationError(f"reach must be in [0, 1], got {reach}")
        use_field = reach > 0 and field_iters > 0
        pix = as_mask(mask, self.shape)
        blocks = block_mask(pix, self.code.padded_size())
        crop = self._crop(blocks, margin_blocks)
        h, w = crop.code.height, crop.code.width
        dev = self.decoder.device
        bm = torch.as_tensor(blocks[crop.zy, crop.zx], device=dev)
        snapped = bm.repeat_interleave(8, 0).repeat_interleave(8, 1)[:h, :w].float()
        editable = dilate(bm, z_halo_blocks)[None]
        z0 = self._state.z[:, crop.zy, crop.zx].to(dev)
        field0 = None
        if self._state.field is not None:
            field0 = self._state.field[:, crop.ys, crop.xs].float().to(dev)
        lam = objective.preserve_weight if preserve_weight is None else float(preserve_weight)
        gen = torch.Generator().manual_seed(int(seed))
        z_deadline = t0 + budget_s * (Z_SHARE if use_field else 1.0)
        with frozen(self.decoder), torch.enable_grad(), torch.device(dev):
            planes0 = self.state_planes(self._state)[:, crop.ys, crop.xs].to(dev)
            rgb0 = planes_to_rgb(planes0, crop.code)
            region = Region(
                rgb0=rgb0,
                mask=snapped,
                pixel_mask=torch.as_tensor(pix[crop.ys, crop.xs], device=dev).float(),
                code=crop.code,
                origin=(crop.y0, crop.x0),
            )
            objective.prepare(region)
            outside = 1.0 - snapped
            scale = [1.0]

            def total_rgb(rgb: torch.Tensor, ref: torch.Tensor = rgb0) -> torch.Tensor:
                keep = (charbonnier(rgb - ref) * outside).sum() / (
                    outside.sum().clamp_min(1) * rgb.shape[0] * rgb.shape[1]
                )
                return objective.loss(rgb) / scale[0] + lam * keep

            zi = objective.initial_z(z0.cpu(), bm[None].cpu(), gen).to(z0)
            zi = torch.where(editable, zi, z0[None])
            starts_here = torch.equal(zi, z0[None].expand_as(zi))
            n_z = max_iters if (max_iters > 0 or not starts_here) else 0
            with torch.no_grad():
                # the z phase sees the network on the crop: its reference is the crop's
                # decoding (equal to the image's away from the crop's border)
                ref_z = self._decode_rgb(crop.code, z0[None], field0)[0] if n_z else rgb0
                rgb_i = ref_z[None] if starts_here else self._decode_rgb(crop.code, zi, field0)
                scale[0] = objective.scale(rgb0[None] if starts_here else rgb_i)
                loss_start = float(total_rgb(rgb0[None] if starts_here else rgb_i))
                loss_start_z = float(total_rgb(rgb_i, ref_z)) if n_z else loss_start
            logger.info("optimize %s: crop %dx%d, start loss %.5g, reach %.2f",
                        type(objective).__name__, w, h, loss_start, reach)  # fmt: skip

            def frac_z(it: int) -> float:
                span = budget_s * (Z_SHARE if use_field else 1.0)
                f = max(it / max(n_z, 1), (time.perf_counter() - t0) / max(span, 1e-9))
                return min(f, 1.0) * (Z_SHARE if use_field else 1.0)

            z_best, loss_z, it, cancelled = zi, loss_start_z, 0, False
            if n_z > 0:
                z_best, loss_z, it, cancelled = optimize_z(
                    lambda zs: total_rgb(self._decode_rgb(crop.code, zs, field0), ref_z),
                    zi, z0, editable, loss_start_z, max_iters=n_z, deadline=z_deadline,
                    budget_progress=frac_z, progress=progress, cancel=cancel,
                )  # fmt: skip
            z_full = []
            for zb in z_best.cpu():
                zf = self._state.z.clone()
                zf[:, crop.zy, crop.zx] = zb
                z_full.append(zf)
            fields = [self._state.field] * len(z_full)
            loss_best, f_iters = loss_z, 0
            if not use_field:
                loss_start = loss_start_z
            elif not cancelled:
                loss_best, f_iters, cancelled, fields = self._field_phase(
                    objective, total_rgb, crop, z_full, bm, reach, gen,
                    field_iters, t0 + budget_s, progress, cancel,
                    objective.field_prior if field_prior is None else float(field_prior),
                )  # fmt: skip
                if loss_best >= loss_start and starts_here:  # nothing gained: keep the state
                    z_full = [self._state.z.clone() for _ in z_full]
                    fields = [self._state.field] * len(z_full)
        states = [State(z, f) for z, f in zip(z_full, fields, strict=True)]
        result = OptimizeResult(
            loss_start, loss_best, it, time.perf_counter() - t0, cancelled,
            z_full, states, loss_z, f_iters, reach,
        )  # fmt: skip
        logger.info("optimize: %d z + %d field iterations, loss %.5g → %.5g (z phase %.5g) "
                    "in %.1fs", it, f_iters, loss_start, result.loss_best, loss_z,
                    result.seconds)  # fmt: skip
        if commit and len(states) == 1 and result.improved:
            self.set_state(states[0])
        if progress is not None:
            progress(1.0, "done")
        return result

    def _field_phase(
        self,
        objective: Objective,
        total_rgb: Any,
        crop: _Crop,
        z_full: list[torch.Tensor],
        bm: torch.Tensor,
        reach: float,
        gen: torch.Generator,
        iters: int,
        deadline: float,
        progress: Progress | None,
        cancel: threading.Event | None,
        prior: float,
    ) -> tuple[float, int, bool, list[torch.Tensor | None]]:
        """Run :func:`.field.optimize_field` on the crop for every output's z."""
        psi, base = [], []
        for z in z_full:  # one network decode per z (the cache holds the last one)
            psi.append(self.network_planes(z)[:, crop.ys, crop.xs])
            base.append(self.state_planes(State(z, self._state.field))[:, crop.ys, crop.xs])
        base_t = torch.stack(base).to(self.decoder.device)
        h, w = crop.code.height, crop.code.width
        editable = mcu_pixel_mask(bm, crop.code.mcu_size)[:h, :w]
        init = objective.initial_field(base_t, editable, gen)
        t_start = time.perf_counter()
        span = max(deadline - t_start, 1e-9)

        def tick(it: int) -> None:
            if progress is not None:
                f = max(it / iters, (time.perf_counter() - t_start) / span)
                progress(Z_SHARE + (1 - Z_SHARE) * min(f, 1.0), f"field step {it}")

        res = optimize_field(
            total_rgb, base_t, crop.code, editable, reach, init=init, prior=prior,
            smooth=objective.field_smoothing, luma_only=objective.field_luma_only,
            max_iters=iters, deadline=deadline, cancel=cancel, progress=tick,
        )  # fmt: skip
        fields: list[torch.Tensor | None] = []
        for k, p in enumerate(psi):
            f = self._state.field_or_zeros(self.field_shape).clone()
            f[:, crop.ys, crop.xs] = res.planes[k].cpu() - p
            fields.append(stored_field(f))
        return res.loss_best, res.iterations, res.cancelled, fields

    # ------------------------------------------------------------------ tools
    def apply(self, tool: str, mask: Any = None, **params: Any) -> ToolResult:
        """Run tool ``tool`` (one of :data:`~.tools.TOOLS`) on ``mask``; return the result.

        Run options (any tool): ``budget_s``, ``max_iters`` (z phase), ``field_iters``,
        ``progress``, ``cancel``, ``preserve_weight``, ``margin_blocks``, ``z_halo_blocks``,
        ``field_prior``. Tool parameters, their defaults and ``reach`` are declared in the
        registry :data:`~.tools.SPECS` (``explorable-jpeg tools`` lists them).

        ``random`` and ``digit`` store their outputs as alternatives (``random 1…``,
        ``digit 0…``), return them all, and make the first (``digit``: the most probable)
        current; :meth:`undo` goes back.
        """
        tool_spec = spec(tool)
        run = {k: params.pop(k) for k in RUN_OPTIONS if k in params}
        values = tool_spec.complete(params)
        if tool_spec.reach is not None:  # reach 0: the z phase is all there is
            z_iters = tool_spec.z_iters if values["reach"] > 0 else DEFAULT_MAX_ITERS
            run.setdefault("max_iters", z_iters)
        return handlers.HANDLERS[tool](self, mask, run, **values)

    def uniform_controls(self, mask: Any = None) -> tuple[float, float, float]:
        """Current (magnitude, secondary, direction°) sliders of the selection's z."""
        from explorable_jpeg.explore.zcontrols import controls_from_z

        blocks = torch.as_tensor(block_mask(as_mask(mask, self.shape), self.code.padded_size()))
        return controls_from_z(self._state.z, blocks)

    # ------------------------------------------------------------------ digits
    @property
    def classifier(self) -> torch.nn.Module:
        """The digit classifier (bundled weights), loaded on first use."""
        if self._classifier is None:
            from explorable_jpeg.models.digit import DigitNet

            self._classifier = DigitNet.from_pretrained(device=self.decoder.device)
            for p in self._classifier.parameters():
                p.requires_grad_(False)
        return self._classifier

    def digit_probabilities(self, image: np.ndarray, mask: Any) -> np.ndarray:
        """Classifier probabilities ``(10,)`` of the selection's bounding box in ``image``."""
        from explorable_jpeg.explore.objectives.digit import digit_probabilities
        from explorable_jpeg.explore.selection import bbox_np

        box = bbox_np(as_mask(mask, self.shape))
        x = torch.as_tensor(np.asarray(image), dtype=torch.float32) / 255.0
        x = x.permute(2, 0, 1) if x.dim() == 3 else x[None]
        return digit_probabilities(self.classifier, x[None], box)[0].numpy()

    # ------------------------------------------------------------------ files
    def save(self, path: Any) -> None:
        """Write the exploration (state, undo/redo history, alternatives) to one file
        (:func:`.files.write_exploration`)."""
        write_exploration(path, self.code, self._state, self._history, self.alternatives)

    def load(self, path: Any) -> np.ndarray:
        """Replace the state by a file written by :meth:`save` (or a z file written by
        ``decode --z-out`` / :func:`explorable_jpeg.decoding.zfile.save_z`); returns the image.

        Raises :class:`~.files.ExplorationFileError` when the file is unreadable, corrupt,
        or belongs to another JPEG (code fingerprint mismatch).
        """
        state, undo, redo, alts = read_exploration(path, self.code)
        try:
            state = self._checked_state(state)
            undo = [self._checked_state(s) for s in undo]
            redo = [self._checked_state(s) for s in redo]
            alts = {n: self._checked_state(s) for n, s in alts.items()}
        except ExplorationError as exc:
            raise ExplorationFileError(f"corrupt exploration file {path}: {exc}") from None
        self._state, self.alternatives = state, alts
        self._history.undo, self._history.redo = undo, redo
        self._image = self._render(state)
        return self.image
