"""Event handlers of the app: plain functions that take and return values.

Each handler receives the user's :class:`~explorable_jpeg_app.session.Session` (or None)
from ``gr.State`` and returns the new one with what the page shows (:func:`view`). A
handler that fails raises ``gr.Error`` with one clear sentence; Gradio then leaves every
output — the state included — as it was, so a failed action never loses the exploration.
"""

from __future__ import annotations

import functools
import logging
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np
from PIL import Image, UnidentifiedImageError

from explorable_jpeg.errors import ExplorableJpegError

from .gpu import gpu
from .session import (
    Cancelled,
    Session,
    display_scale,
    resize_nearest,
    to_display,
)

logger = logging.getLogger(__name__)

# Tool names as the exploration engine knows them, with the labels the page shows.
TOOL_LABELS: dict[str, str] = {
    "random": "Random alternatives",
    "scribble": "Scribble (paint colours)",
    "variance-up": "Variance +",
    "variance-down": "Variance −",
    "magnitude-up": "Signal magnitude +",
    "magnitude-down": "Signal magnitude −",
    "tv-down": "Total variation −",
    "hsv": "Hue / saturation / value",
    "imprint": "Imprint an image",
    "dictionary": "Desired patches (dictionary)",
    "periodicity": "Periodicity",
    "uniform": "Uniform z control",
    "digit": "Digit classes",
}

NO_FILE = "Upload a JPEG (or any image to compress) first, or pick an example."


def tool_choices(tools: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(TOOL_LABELS.get(t, t), t) for t in tools]


# ------------------------------------------------------------------------------------------
# errors
# ------------------------------------------------------------------------------------------


def _sentence(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if text.endswith((".", "!", "?")) else text + "."


def user_errors(fn: Callable) -> Callable:
    """Turn every failure into ``gr.Error`` with a readable message (never a traceback)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except ExplorableJpegError as exc:
            raise gr.Error(f"{_sentence(exc)} Your exploration is unchanged.") from None
        except Image.DecompressionBombError:
            raise gr.Error("That image is too large to open safely; use a smaller one.") from None
        except UnidentifiedImageError:
            raise gr.Error(
                "That file is not an image this app can read: upload a .jpg, or a PNG/WebP/"
                "BMP/TIFF to compress."
            ) from None
        except MemoryError:
            raise gr.Error("Out of memory: try a smaller image or region.") from None
        except (OSError, ValueError) as exc:
            logger.warning("handler %s: %s", fn.__name__, exc)
            raise gr.Error(f"{_sentence(exc)} Your exploration is unchanged.") from None
        except Exception as exc:  # UI boundary: log it, tell the user in one line
            logger.exception("unexpected error in %s", fn.__name__)
            raise gr.Error(
                f"Unexpected error ({type(exc).__name__}); your exploration is unchanged."
            ) from None

    return wrapper


def _progress_fn(progress: Any) -> Callable[[float, str], None]:
    if progress is None:
        return lambda fraction, desc: None
    return lambda fraction, desc: progress(float(fraction), desc=desc)


def _require(state: Session | None) -> Session:
    if state is None:
        raise gr.Error(NO_FILE)
    return state


# ------------------------------------------------------------------------------------------
# what the page shows
# ------------------------------------------------------------------------------------------


def badge_html(report) -> str:
    """The consistency badge: libjpeg re-encodes the image with the file's tables."""
    pct = 100 * report.identical_fraction
    ok = report.consistent_where_reachable
    if report.consistent:
        colour, text = "#137333", f"✔ consistent — {pct:.4f}% identical coefficients"
    elif ok:
        colour = "#137333"
        text = (
            f"✔ consistent where reachable — every coefficient an image of this size can "
            f"reproduce is identical; {report.unreachable_blocks} blocks of the file cannot "
            "be reproduced by any image of its size (edge padding from a lossless crop, or "
            "samples outside 0–255 from another encoder)"
        )
    else:
        colour = "#b3261e"
        text = f"✘ not consistent — {pct:.4f}% identical, {report.violating_blocks} blocks differ"
    return (
        f'<div id="consistency-badge" data-consistent="{str(ok).lower()}" '
        f'style="padding:6px 10px;border-radius:6px;color:white;background:{colour};'
        f'font-weight:600">{text} <span style="font-weight:400">(re-encoded by libjpeg with '
        "the file's own tables and sampling)</span></div>"
    )


def editor_value(image: np.ndarray) -> dict:
    return {"background": image, "layers": [], "composite": image}


def view(state: Session | None) -> tuple:
    """``(state, plain, ours, editor, badge, status, gallery)`` for the current session."""
    if state is None:
        return (None, None, None, None, "", NO_FILE, [])
    scale = state.scale
    ours = to_display(state.image, scale)
    gallery = []
    for alt in state.alternatives:
        ok = "✔" if state.check(alt.image).consistent_where_reachable else "✘"
        gallery.append((to_display(alt.image, scale), f"{alt.caption} {ok}"))
    backend = state.backend
    lines = [f"**{state.name}** — {state.note}."]
    if scale < 1:
        lines.append(f"Shown at {100 * scale:.0f}% (display only; the code is never resized).")
    lines.append(
        f"Undo {'available' if backend.can_undo() else '—'} · "
        f"redo {'available' if backend.can_redo() else '—'}."
    )
    return (
        state,
        to_display(state.plain, scale),
        ours,
        editor_value(ours),
        badge_html(state.check()),
        "  \n".join(lines),
        gallery,
    )


# ------------------------------------------------------------------------------------------
# sketchpad → mask and scribble
# ------------------------------------------------------------------------------------------


def _rgba(a: Any) -> np.ndarray | None:
    if a is None:
        return None
    if isinstance(a, str | Path):
        a = Image.open(a)
    if isinstance(a, Image.Image):
        a = np.asarray(a.convert("RGBA"))
    a = np.asarray(a)
    if a.ndim == 2:
        a = np.repeat(a[..., None], 3, axis=-1)
    if a.shape[-1] == 3:
        a = np.concatenate([a, np.full(a.shape[:2] + (1,), 255, a.dtype)], axis=-1)
    return a.astype(np.uint8)


def strokes(value: Any, shown: tuple[int, int]) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Editor value → ``(mask, colours)`` at display size ``shown`` (None when nothing drawn).

    The brush layers carry the strokes: a pixel is selected where any layer is opaque, and
    its colour is the top-most layer's colour there.
    """
    if not isinstance(value, dict):
        return None, None
    h, w = shown
    mask = np.zeros((h, w), dtype=bool)
    colours = np.zeros((h, w, 3), dtype=np.uint8)
    for layer in value.get("layers") or []:
        rgba = _rgba(layer)
        if rgba is None:
            continue
        rgba = resize_nearest(rgba, h, w)
        painted = rgba[..., 3] > 0
        colours[painted] = rgba[..., :3][painted]
        mask |= painted
    if not mask.any():
        return None, None
    return mask, colours


def full_resolution_strokes(
    state: Session, value: Any
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Mask ``(H, W)`` and scribble image (current image with the strokes painted in)."""
    h, w = state.code.height, state.code.width
    scale = display_scale(h, w)
    shown = (max(1, round(h * scale)), max(1, round(w * scale))) if scale < 1 else (h, w)
    mask, colours = strokes(value, shown)
    if mask is None:
        return None, None
    mask = resize_nearest(mask.astype(np.uint8) * 255, h, w) > 0
    colours = resize_nearest(colours, h, w)
    base = state.image
    if base.ndim == 2:
        base = np.repeat(base[..., None], 3, axis=-1)
    scribble = np.where(mask[..., None], colours, base)
    return mask, scribble


# ------------------------------------------------------------------------------------------
# heavy calls (spaces.GPU on a GPU Space)
# ------------------------------------------------------------------------------------------


@gpu(duration=60)
def _open(decoder, data, name, quality, subsampling, backend_factory=None) -> Session:
    kw = {} if backend_factory is None else {"backend_factory": backend_factory}
    return Session.open(decoder, data, name, quality, subsampling, **kw)


@gpu(duration=120)
def _apply(state: Session, tool: str, mask, params: dict, progress) -> Session:
    return state.apply(tool, mask, params, progress)


# ------------------------------------------------------------------------------------------
# handlers
# ------------------------------------------------------------------------------------------


def _read_upload(file: Any) -> tuple[bytes, str]:
    if file is None:
        raise gr.Error(NO_FILE)
    path = Path(file if isinstance(file, str | Path) else getattr(file, "name", file))
    try:
        return path.read_bytes(), path.name
    except OSError as exc:
        raise gr.Error(f"Cannot read the upload ({exc.strerror}); upload it again.") from None


def make_load(decoder, backend_factory: Callable | None = None) -> Callable:
    """The upload handler; ``backend_factory(decoder, code)`` picks the backend (default:
    the exploration engine when the core has it, else the z-history fallback)."""

    @user_errors
    def load(file, quality, subsampling, progress=gr.Progress()):  # noqa: B008
        """Upload (or example) → a new session: plain decode, our decode, badge."""
        data, name = _read_upload(file)
        fn = _progress_fn(progress)
        fn(0.1, "reading the JPEG code and decoding")
        new = _open(decoder, data, name, int(quality), str(subsampling), backend_factory)
        fn(1.0, "done")
        return view(new)

    return load


# The tool controls of the page, in the order the apply handler takes them, with defaults.
CONTROL_DEFAULTS: dict[str, Any] = {
    "delta": 0.05,  # variance / magnitude / scribble strength
    "mode": "colour",  # scribble: colour, brighten, darken, tv
    "hue": 0.0,  # hsv shifts on [0, 1]
    "saturation": 0.0,
    "value": 0.0,
    "source": None,  # imprint / dictionary source image
    "dy": 0.0,  # imprint placement (px, px, degrees)
    "dx": 0.0,
    "angle": 0.0,
    "period_direction": "horizontal",  # periodicity
    "period": 0,  # px, 0 = found automatically
    "n": 4,  # random alternatives
    "close": False,
    "magnitude": 0.5,  # uniform z control
    "secondary": 0.0,
    "direction": 0.0,
    "digit": "all",
    "budget": 15.0,  # seconds
}
PERIOD_DIRECTIONS = {"horizontal": (0.0,), "vertical": (90.0,), "2-D (both)": (0.0, 90.0)}
MASK_OPTIONAL = ("random", "uniform")


def tool_params(tool: str, scribble: np.ndarray | None = None, **controls: Any) -> dict[str, Any]:
    """The page's controls → the parameters a backend takes (see ``ExplorerBackend``)."""
    c = {**CONTROL_DEFAULTS, **controls}
    directions = PERIOD_DIRECTIONS.get(c["period_direction"], (0.0,))
    period = int(c["period"] or 0)
    digit = c["digit"]
    p: dict[str, Any] = {
        "budget": float(c["budget"]),
        "delta": float(c["delta"]),
        "scribble": scribble,
        "mode": str(c["mode"]),
        "hue": float(c["hue"]),
        "saturation": float(c["saturation"]),
        "value": float(c["value"]),
        "source": None if c["source"] is None else np.asarray(c["source"]),
        "dy": float(c["dy"]),
        "dx": float(c["dx"]),
        "angle": float(c["angle"]),
        "directions": directions,
        "periods": [period] * len(directions) if period > 0 else None,
        "n": int(c["n"]),
        "close": bool(c["close"]),
        "magnitude": float(c["magnitude"]),
        "secondary": float(c["secondary"]),
        "direction": float(c["direction"]),
        "digits": None if digit in (None, "", "all") else [int(digit)],
    }
    if tool == "dictionary" and p["source"] is None:
        raise gr.Error("Desired patches need a source image: upload one under the tool settings.")
    return p


def make_apply() -> Callable:
    @user_errors
    def apply_tool(
        state,
        tool,
        editor,
        delta,
        mode,
        hue,
        saturation,
        value,
        source,
        dy,
        dx,
        angle,
        period_direction,
        period,
        n,
        close,
        magnitude,
        secondary,
        direction,
        digit,
        budget,
        progress=gr.Progress(),  # noqa: B008
    ):
        """Run one tool on the selected region (the strokes on the sketchpad)."""
        state = _require(state)
        if not tool:
            raise gr.Error("Choose a tool first.")
        mask, scribble = full_resolution_strokes(state, editor)
        if mask is None and tool not in MASK_OPTIONAL:
            raise gr.Error("Select a region first: paint over it on the sketchpad.")
        params = tool_params(
            tool, scribble=scribble, delta=delta, mode=mode, hue=hue, saturation=saturation,
            value=value, source=source, dy=dy, dx=dx, angle=angle,
            period_direction=period_direction, period=period, n=n, close=close,
            magnitude=magnitude, secondary=secondary, direction=direction, digit=digit,
            budget=budget,
        )  # fmt: skip
        try:
            new = _apply(state, tool, mask, params, _progress_fn(progress))
        except Cancelled:
            gr.Warning("Cancelled: the exploration is as it was.")
            return view(state)
        return view(new)

    return apply_tool


def cancel(state: Session | None) -> None:
    """Ask the running optimisation to stop (runs outside the queue)."""
    if state is not None:
        state.cancel.cancel()


@user_errors
def undo(state):
    new, done = _require(state).undo()
    if not done:
        gr.Info("Nothing to undo.")
    return view(new)


@user_errors
def redo(state):
    new, done = _require(state).redo()
    if not done:
        gr.Info("Nothing to redo.")
    return view(new)


def select_alternative(evt: gr.SelectData) -> int:
    return int(evt.index)


@user_errors
def use_alternative(state, index):
    state = _require(state)
    if index is None or not state.alternatives:
        raise gr.Error("Make alternatives first, then click one in the gallery.")
    return view(state.use_alternative(int(index)))


@user_errors
def export(state) -> list[str]:
    """Files to download: PNG, z map, exploration file, and the JPEG itself."""
    state = _require(state)
    folder = Path(tempfile.mkdtemp(prefix="explorable-jpeg-"))
    return [str(p) for p in state.export(folder)]


@user_errors
def load_exploration(state, file):
    state = _require(state)
    if file is None:
        raise gr.Error("Choose an exploration file (.safetensors / .exploration) to load.")
    path = Path(file if isinstance(file, str | Path) else file.name)
    new = state.load_exploration(path)
    gr.Info(f"Loaded {path.name}.")
    return view(new)


def zoom_at(state: Session | None, x: float, y: float, factor: int) -> np.ndarray | None:
    """Plain decode | ours, magnified ``factor``× (nearest) around display point (x, y)."""
    if state is None:
        return None
    scale = state.scale
    cx, cy = x / scale, y / scale
    h, w = state.code.height, state.code.width
    half = max(4, int(128 / max(1, factor)))
    x0 = int(min(max(cx - half, 0), max(w - 2 * half, 0)))
    y0 = int(min(max(cy - half, 0), max(h - 2 * half, 0)))
    crops = []
    for img in (state.plain, state.image):
        c = img[y0 : y0 + 2 * half, x0 : x0 + 2 * half]
        if c.ndim == 2:
            c = np.repeat(c[..., None], 3, axis=-1)
        ch, cw = c.shape[:2]
        crops.append(resize_nearest(c, ch * factor, cw * factor))
    gap = np.full((crops[0].shape[0], 6, 3), 255, np.uint8)
    return np.concatenate([crops[0], gap, crops[1]], axis=1)


def zoom(state, factor, evt: gr.SelectData):
    x, y = evt.index[:2]
    return zoom_at(state, float(x), float(y), int(factor))
