"""Looking at the image: the compare views of the main image and the zoom panel."""

from __future__ import annotations

from typing import Any

import gradio as gr
import numpy as np

from ..display import COMPARE_VIEWS, compare_view, resize_nearest, rgb, to_display
from ..session import Session
from .errors import guarded
from .view import editor_value


def compare(state: Session | None, mode: str | None) -> np.ndarray | None:
    """The main image in compare view ``mode`` (:data:`~..display.COMPARE_VIEWS`): the
    current image, the one before the last change, the plain decode, or their difference."""
    if state is None:
        return None
    if mode not in COMPARE_VIEWS:
        mode = "current"
    return to_display(compare_view(state.image, state.before, state.plain, mode))


@guarded(2)
def show(
    state: Session | None, mode: str | None, editor: Any = None, selection: str | None = "brush"
) -> tuple:
    """The compare toggle or the selection shape → the main image (the sketchpad, its
    strokes kept, the box around them drawn in ``selection`` mode ``box``) and the
    full-size image in view ``mode``."""
    if state is None:
        return None, gr.skip()
    shown = compare(state, mode)
    return shown, editor_value(shown, editor, selection)


@guarded(1)
def outline(
    state: Session | None, mode: str | None, editor: Any = None, selection: str | None = "brush"
) -> Any:
    """A stroke painted in ``selection`` mode ``box`` → the sketchpad with the box around
    all strokes drawn (left as it is in brush mode, and when the box shown is already the
    one around the strokes: the value set here changes the sketchpad once, not again)."""
    if state is None or selection != "box" or not isinstance(editor, dict):
        return gr.skip()
    new = editor_value(compare(state, mode), editor, selection)
    shown = editor.get("background")
    if shown is not None and np.array_equal(rgb(np.asarray(shown))[..., :3], new["background"]):
        return gr.skip()
    return new


def clear_selection(state: Session | None) -> dict | None:
    """The sketchpad without strokes (the current image)."""
    return None if state is None else editor_value(to_display(state.image))


def zoom_at(state: Session | None, x: float, y: float, factor: int) -> np.ndarray | None:
    """Plain decode | ours, magnified ``factor``× (nearest) around image point (x, y) in
    the file's own pixels."""
    if state is None:
        return None
    h, w = state.code.height, state.code.width
    half = max(4, int(128 / max(1, factor)))
    x0 = int(min(max(x - half, 0), max(w - 2 * half, 0)))
    y0 = int(min(max(y - half, 0), max(h - 2 * half, 0)))
    crops = []
    for img in (state.plain, state.image):
        c = rgb(img[y0 : y0 + 2 * half, x0 : x0 + 2 * half])
        ch, cw = c.shape[:2]
        crops.append(resize_nearest(c, ch * factor, cw * factor))
    gap = np.full((crops[0].shape[0], 6, 3), 255, np.uint8)
    return np.concatenate([crops[0], gap, crops[1]], axis=1)


def zoom_point(state: Session | None, point: Any) -> tuple[float, float]:
    """The zoom's centre in file pixels: the clicked point (as a fraction of the image,
    so that it carries over to another file), or the image's centre."""
    fx, fy = point if point else (0.5, 0.5)
    if state is None:
        return 0.0, 0.0
    return fx * state.code.width, fy * state.code.height


@guarded(2)
def zoom(state, factor, evt: gr.SelectData):
    """Click on an image → zoom there; returns the zoom image and the remembered point."""
    if state is None:
        return None, None
    x, y = evt.index[:2]
    scale = state.scale
    point = (float(x) / scale / state.code.width, float(y) / scale / state.code.height)
    return zoom_at(state, *zoom_point(state, point), int(factor)), point
