"""``Explorer``: edit a decoding inside its consistent set, with undo/redo and alternatives.

The explorer holds the current :class:`~.state.State` ``(z, field)``, the image it decodes
to (``snap(P_C(ψ(q, z) + field))``, which re-encodes to the code exactly), an undo/redo
history and named alternatives. :meth:`Explorer.optimize` minimises an objective inside a
selection (:mod:`.optimize`: a z phase through the network, then a field phase that reaches
the rest of the consistent set, up to the tool's ``reach``); :meth:`Explorer.apply` runs a
tool of the registry (:mod:`.tools`) by name and returns a :class:`ToolResult`.

Example (bundled weights, a tiny JPEG made in memory): brighten the left third, then undo.
    >>> import numpy as np
    >>> from explorable_jpeg import check, compress
    >>> from explorable_jpeg.explore import rect_mask
    >>> ramp = np.arange(24, dtype=np.uint8)[None, :, None]
    >>> _, code = compress(np.full((16, 24, 3), 100, np.uint8) + ramp, quality=30)
    >>> ex = Explorer(Decoder.from_pretrained(variant="gan", device="cpu"), code)
    >>> before, mask = ex.image, rect_mask(ex.shape, 0, 0, 16, 8)
    >>> res = ex.apply("scribble", mask, mode="brighten", reach=1.0)
    >>> bool(res.image[mask].mean() > before[mask].mean()), check(code, res.image).consistent
    (True, True)
    >>> ex.undo(), bool((ex.image == before).all())
    (True, True)
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import numpy as np
import torch

from explorable_jpeg.decoding.decoder import Decoder
from explorable_jpeg.errors import ExplorationError, UnknownToolError
from explorable_jpeg.explore import handlers
from explorable_jpeg.explore.files import ExplorationFileError, read_exploration, write_exploration
from explorable_jpeg.explore.loop import (
    DEFAULT_BUDGET_S,
    DEFAULT_FIELD_ITERS,
    DEFAULT_MAX_ITERS,
    MARGIN_BLOCKS,
    Z_HALO_BLOCKS,
    OptimizeResult,
    Progress,
)
from explorable_jpeg.explore.objectives import Objective
from explorable_jpeg.explore.optimize import optimize as optimize_in
from explorable_jpeg.explore.render import Renderer
from explorable_jpeg.explore.result import ToolResult
from explorable_jpeg.explore.selection import as_mask, bbox, mcu_pixel_mask, selected_blocks
from explorable_jpeg.explore.state import History, State, stored_field
from explorable_jpeg.explore.tools import spec
from explorable_jpeg.jpeg.code import JpegCode
from explorable_jpeg.models.digit import DigitNet

logger = logging.getLogger(__name__)

HISTORY_DEPTH = 10
FIELD_LIMIT = 1024.0  # |field| bound (grey levels): far beyond any consistent displacement

#: options of :meth:`Explorer.optimize` that :meth:`Explorer.apply` passes through
RUN_OPTIONS = (
    "budget_s", "max_iters", "field_iters", "progress", "cancel", "preserve_weight",
    "margin_blocks", "z_halo_blocks", "field_prior",
)  # fmt: skip


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
        self._renderer = Renderer(decoder, code)
        z = self._checked_z(z if z is not None else torch.zeros(decoder.z_shape(code)))
        self._state = State(z, self._checked_field(field))
        self._image = self._render(self._state)
        self._classifier: DigitNet | None = None

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
        """``ψ(q, z)``: the decoder's float planes ``(C, H, W)`` for ``z`` (cached; where
        only part of z changed, only that part's neighbourhood is decoded again:
        :class:`~.render.Renderer`). Do not modify it in place."""
        return self._renderer.network_planes(z)

    def state_planes(self, state: State) -> torch.Tensor:
        """Consistent float planes of ``state``: ``P_C(ψ(q, z) + field)`` (do not modify
        them in place)."""
        return self._renderer.planes(state)

    def _render(self, state: State) -> np.ndarray:
        """Decode ``state`` and make it the renderer's reference (the current state's)."""
        return self._renderer.make_current(state)

    def render(self, state: State) -> np.ndarray:
        """The uint8 image a state decodes to (consistent): only the MCUs where it differs
        from the current state are decoded and snapped again."""
        return self._renderer.render(state).copy()

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
        blocks = selected_blocks(mask, self.code)
        z = torch.where(blocks, alt.z, self._state.z)
        pix = mcu_pixel_mask(blocks, self.code.mcu_size)[: self.shape[0], : self.shape[1]] > 0
        field = None
        if alt.field is not None or self._state.field is not None:
            field = torch.where(
                pix, alt.field_or_zeros(self.field_shape), self._state.field_or_zeros(
                    self.field_shape))  # fmt: skip
        return self.set_state(State(z, field))

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
        result = optimize_in(
            self, objective, mask, budget_s, max_iters, progress, cancel, margin_blocks,
            z_halo_blocks, preserve_weight, seed, reach, field_iters, field_prior,
        )  # fmt: skip
        if commit and len(result.states) == 1 and result.improved:
            self.set_state(result.states[0])
        if progress is not None:
            progress(1.0, "done")
        return result

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
        handler = handlers.HANDLERS.get(tool)
        if handler is None:  # a tool that is one objective: the registry entry is all
            if tool_spec.objective is None:
                raise UnknownToolError(f"{tool}: no handler and no objective in the registry")
            handler = handlers.from_objective(tool_spec.objective)
        return handler(self, mask, run, **values)

    def uniform_controls(self, mask: Any = None) -> tuple[float, float, float]:
        """Current (magnitude, secondary, direction°) sliders of the selection's z."""
        from explorable_jpeg.explore.zcontrols import controls_from_z

        blocks = selected_blocks(mask, self.code)
        return controls_from_z(self._state.z, blocks)

    # ------------------------------------------------------------------ digits
    @property
    def classifier(self) -> DigitNet:
        """The digit classifier (bundled weights), loaded on first use."""
        if self._classifier is None:
            self._classifier = DigitNet.from_pretrained(device=self.decoder.device)
            for p in self._classifier.parameters():
                p.requires_grad_(False)
        return self._classifier

    def digit_probabilities(self, image: np.ndarray, mask: Any) -> np.ndarray:
        """Classifier probabilities ``(10,)`` of the selection's bounding box in ``image``."""
        from explorable_jpeg.explore.objectives.digit import digit_probabilities

        box = bbox(as_mask(mask, self.shape))
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
