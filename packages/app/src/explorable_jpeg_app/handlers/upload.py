"""Loading a file: an upload, the "Load / re-compress" button, an example thumbnail."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import gradio as gr

from ..gpu import gpu
from ..session import Session
from .errors import guarded, progress_fn
from .view import NO_FILE, VIEW_OUTPUTS, view


@gpu(duration=60)
def _open(decoder: Any, data: bytes, name: str, quality: int, subsampling: str) -> Session:
    return Session.open(decoder, data, name, quality, subsampling)


def _read_upload(file: Any, state: Session | None) -> tuple[bytes, str]:
    """The upload's bytes and name. When Gradio's cache cleaning has removed the cached
    copy of the file the session was opened from, its bytes are taken from the session."""
    if file is None:
        raise gr.Error(NO_FILE)
    path = Path(file if isinstance(file, str | Path) else getattr(file, "name", file))
    try:
        return path.read_bytes(), path.name
    except OSError as exc:
        if state is not None and state.source and state.name == path.name:
            return state.source, state.name
        raise gr.Error(
            f"Cannot read the upload ({exc.strerror or 'unreadable'}); upload it again."
        ) from None


def _open_view(
    decoder: Any, data: bytes, name: str, quality: Any, subsampling: Any, progress: Any
) -> tuple:
    fn = progress_fn(progress)
    fn(0.1, "reading the JPEG code and decoding")
    new = _open(decoder, data, name, int(quality), str(subsampling))
    fn(1.0, "done")
    return view(new)


def make_load(decoder: Any) -> Callable:
    """The upload handler: ``(state, file, quality, subsampling)`` → the view and the
    upload box (kept on success, cleared when the file is refused)."""

    @guarded(len(VIEW_OUTPUTS) + 1, extra_on_error=(None,))
    def load(state, file, quality, subsampling, progress=gr.Progress()):  # noqa: B008
        """Upload → a new session: plain decode, our decode, badge."""
        data, name = _read_upload(file, state)
        return (*_open_view(decoder, data, name, quality, subsampling, progress), gr.skip())

    return load


def make_load_example(decoder: Any, files: list[Path]) -> Callable:
    """Load an example by file name from the package folder — never from Gradio's cache,
    which is cleaned. Outputs: the view and the upload box (showing the example)."""
    by_name = {p.name: p for p in files}

    @guarded(len(VIEW_OUTPUTS) + 1)
    def load_example(state, name, quality, subsampling, progress=gr.Progress()):  # noqa: B008
        path = by_name.get(str(name or ""))
        if path is None:
            raise gr.Error("No such example: click one of the thumbnails.")
        shown = _open_view(decoder, path.read_bytes(), path.name, quality, subsampling, progress)
        return (*shown, str(path))

    return load_example


def make_example_picker(files: list[Path]) -> Callable:
    """Thumbnail click → the example's file name (the input of ``load_example``)."""

    def pick_example(evt: gr.SelectData) -> str:
        index = evt.index[0] if isinstance(evt.index, list | tuple) else evt.index
        return files[int(index)].name

    return pick_example
