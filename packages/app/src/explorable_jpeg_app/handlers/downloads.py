"""Files: the downloads (PNG, z map, exploration file, JPEG), loading an exploration, and
the refresh that follows every change (zoom panel, downloads, compare toggle)."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import gradio as gr

from ..session import Session
from .errors import guarded, require
from .look import zoom_at, zoom_point
from .view import view


def export(state: Session | None, root: Path | None = None) -> list[str] | None:
    """Files to download: PNG, z map, exploration file, and the JPEG itself (None before
    a file is loaded). ``root``: where to write (default: the system's temporary folder)."""
    if state is None:
        return None
    if root is not None:
        root.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="explorable-jpeg-", dir=root))
    return [str(p) for p in state.export(folder)]


@guarded()
def load_exploration(state, file):
    state = require(state)
    if file is None:
        raise gr.Error("Choose an exploration file (.safetensors) to load.")
    path = Path(file if isinstance(file, str | Path) else file.name)
    new = state.load_exploration(path)
    gr.Info(f"Loaded {path.name}.")
    return view(new)


def make_refresh(root: Path | None = None) -> Callable:
    """After every change: the zoom panel (same point, the current image), the downloads
    (ready without a click) and the compare toggle back on "current" (what the sketchpad
    and the full-size image now show)."""

    @guarded(3)
    def refresh(state, point, factor):
        if state is None:
            return None, None, gr.skip()
        zoomed = zoom_at(state, *zoom_point(state, point), int(factor))
        return zoomed, export(state, root), "current"

    return refresh
