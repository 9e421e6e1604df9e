"""The app's backend over the core exploration engine (``explorable_jpeg.explorer``).

Maps the page's controls onto ``Explorer.apply(tool, mask, **params)``; the history,
alternatives, optimisation and exploration files are the engine's own.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import torch

from explorable_jpeg.code import JpegCode
from explorable_jpeg.explorer import TOOLS, Explorer

from .session import Alternative, Cancelled, CancelToken, ProgressFn

# page control name → the engine's parameter name, per tool (missing: not passed)
_PASS: dict[str, tuple[str, ...]] = {
    "variance-up": ("delta",),
    "variance-down": ("delta",),
    "magnitude-up": ("delta",),
    "magnitude-down": ("delta",),
    "tv-down": (),
    "scribble": ("scribble", "mode"),
    "hsv": ("hue", "saturation", "value"),
    "imprint": ("source", "dy", "dx", "angle"),
    "dictionary": ("source", "ignore_variance"),
    "periodicity": ("directions", "periods"),
    "random": ("n", "close", "seed"),
    "uniform": ("magnitude", "secondary", "direction"),
    "digit": ("digits",),
}


def engine_params(tool: str, params: dict[str, Any]) -> dict[str, Any]:
    """The subset of the page's parameters that ``tool`` takes (None values left out)."""
    return {k: params[k] for k in _PASS.get(tool, ()) if params.get(k) is not None}


class ExplorerBackend:
    """:class:`~explorable_jpeg_app.session.Backend` over :class:`Explorer`."""

    tools: tuple[str, ...] = TOOLS
    file_suffix = ".safetensors"

    def __init__(self, decoder, code: JpegCode) -> None:
        self.decoder = decoder
        self.explorer = Explorer(decoder, code)
        self._seed = 0

    def __deepcopy__(self, memo: dict) -> ExplorerBackend:
        """A copy whose history can change independently (tensors are never mutated in
        place by the engine, so only the containers are copied)."""
        new = copy.copy(self)
        ex = copy.copy(self.explorer)
        ex._undo = list(ex._undo)
        ex._redo = list(ex._redo)
        ex.alternatives = dict(ex.alternatives)
        new.explorer = ex
        return new

    @property
    def image(self) -> np.ndarray:
        return self.explorer.image

    @property
    def z(self) -> torch.Tensor:
        return self.explorer.z

    def apply(
        self,
        tool: str,
        mask: np.ndarray | None,
        params: dict[str, Any],
        progress: ProgressFn,
        cancel: CancelToken,
    ) -> list[Alternative]:
        kw = engine_params(tool, params)
        if tool == "random":
            kw["seed"] = self._seed
            self._seed += 1
        if "budget" in params:
            kw["budget_s"] = float(params["budget"])
        result = self.explorer.apply(
            tool, mask, progress=progress, cancel=cancel.event, **kw
        )  # fmt: skip
        if cancel.cancelled:
            raise Cancelled()
        alts = []
        for name, image in result.alternatives.items():
            score = result.scores.get(name)
            caption = name if score is None else f"{name}: p={score:.2f}"
            key = name if name in self.explorer.alternatives else f"digit {name}"
            alts.append(Alternative(key, image, caption))
        return alts

    def undo(self) -> bool:
        return self.explorer.undo()

    def redo(self) -> bool:
        return self.explorer.redo()

    def can_undo(self) -> bool:
        return self.explorer.can_undo

    def can_redo(self) -> bool:
        return self.explorer.can_redo

    def use_alternative(self, name: str) -> None:
        self.explorer.use_alternative(name)

    def save(self, path: Path) -> None:
        self.explorer.save(path)

    def load(self, path: Path) -> None:
        self.explorer.load(path)
