"""Event handlers of the app: plain functions that take and return values.

Each handler receives the user's :class:`~explorable_jpeg_app.session.Session` (or None)
from ``gr.State`` and returns the new one with what the page shows (:func:`view`). A
handler that fails does not raise: it returns ``gr.skip()`` for every output (the state,
the images, the gallery keep what they showed), a status line saying in plain words what
went wrong, and a warning toast — so a failed action never blanks the page nor loses the
exploration.
"""

from __future__ import annotations

import functools
import logging
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np
from PIL import Image, UnidentifiedImageError

from explorable_jpeg.errors import (
    CorruptJpegError,
    ExplorableJpegError,
    NotAJpegError,
    TruncatedJpegError,
    UnsupportedJpegError,
)

from .gpu import gpu
from .session import (
    Cancelled,
    Outcome,
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
    "variance-up": "Variance + (more texture)",
    "variance-down": "Variance − (flatter)",
    "magnitude-up": "Fine detail +",
    "magnitude-down": "Fine detail −",
    "tv-down": "Smooth (total variation −)",
    "hsv": "Hue / saturation / value",
    "imprint": "Imprint an image",
    "dictionary": "Desired patches (dictionary)",
    "periodicity": "Periodicity",
    "uniform": "Texture (strength and orientation)",
    "digit": "What could this be? (digits 0–9)",
}

# One line per tool: what it does to the selected region.
TOOL_HELP: dict[str, str] = {
    "random": "Several random decodings of the region, all consistent with the file: pick one.",
    "scribble": "Paint colours on the region: the tool pulls it toward them (brighten/darken/"
    "smooth modes ignore the colour).",
    "variance-up": "More texture and contrast in the region (strength δ: how much more).",
    "variance-down": "Less texture: flatter, smoother region (strength δ: how much less).",
    "magnitude-up": "Stronger fine detail (edges, grain) in the region.",
    "magnitude-down": "Weaker fine detail in the region.",
    "tv-down": "Removes small wiggles (total variation) while keeping the region's contrast.",
    "hsv": "Shifts hue, saturation and brightness of the region, as far as the file allows.",
    "imprint": "Copies a source image (or the selection itself, moved) into the region.",
    "dictionary": "Makes the region's patches look like those of a source image.",
    "periodicity": "Makes the region repeat with a period (stripes, tiles, brickwork).",
    "uniform": "Sets the texture of the region directly: strength, secondary strength, "
    "orientation.",
    "digit": "What could this be? Decodes the region as each digit 0–9 and ranks them by a "
    "classifier's probability.",
}

# The strength δ a tool starts with when chosen (the engine's own defaults).
TOOL_DELTA: dict[str, float] = {
    "variance-up": 0.03,
    "variance-down": 0.03,
    "magnitude-up": 0.03,
    "magnitude-down": 0.03,
    "scribble": 0.15,
}


def tool_delta(tool: str) -> float | None:
    """The strength δ ``tool`` starts with: the core's tool registry when it has one
    (``explorable_jpeg.explore.SPECS``), else :data:`TOOL_DELTA`; None: no δ."""
    from explorable_jpeg import explore as explorer

    spec = (getattr(explorer, "SPECS", None) or {}).get(tool)
    if spec is not None:
        default = spec.defaults().get("delta")
        return None if default is None else float(default)
    return TOOL_DELTA.get(tool)


def tool_reach(tool: str) -> float | None:
    """The reach ``tool`` starts with (the core's tool registry); None: the tool has none."""
    from explorable_jpeg.explore import SPECS

    spec = SPECS.get(tool)
    return None if spec is None else spec.reach


NO_FILE = "Upload a JPEG (or any image to compress) first, or pick an example."


def tool_choices(tools: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(TOOL_LABELS.get(t, t), t) for t in tools]


# ------------------------------------------------------------------------------------------
# errors
# ------------------------------------------------------------------------------------------

# The outputs of every handler that changes what the page shows, in this order.
VIEW_OUTPUTS = ("state", "plain", "ours", "editor", "badge", "status", "gallery")
STATUS = VIEW_OUTPUTS.index("status")
_PATH = re.compile(r"(?:[A-Za-z]:)?(?:[\\/][^\s\\/:'\"]+){2,}")


def _scrub(text: str) -> str:
    """A message without server paths (``/tmp/gradio/…/x.jpg`` → ``x.jpg``)."""
    return _PATH.sub(lambda m: re.split(r"[\\/]", m.group(0))[-1], text)


def _sentence(text: str) -> str:
    text = _scrub(text.strip())
    if not re.match(r"\S*[._]", text):  # leave a leading file name as it is
        text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def user_message(exc: BaseException) -> str:
    """One plain sentence (or two) for the visitor; never a traceback, a path or jargon."""
    if isinstance(exc, NotAJpegError):
        return (
            "This file is not a JPEG (its first bytes are not those of a JPEG file). Upload a "
            ".jpg, or a PNG, WebP, BMP or TIFF image to compress."
        )
    if isinstance(exc, TruncatedJpegError):
        return (
            "This JPEG file is incomplete (truncated): it ends before the picture does. "
            "Upload the whole file."
        )
    if isinstance(exc, CorruptJpegError):
        return "This JPEG file is damaged and cannot be read. Try another file."
    if isinstance(exc, UnsupportedJpegError):
        detail = re.sub(r"(?i)^unsupported\s*(jpeg)?\s*", "", str(exc)).strip(" :")
        return (
            f"This JPEG uses a kind of coding the app cannot explore ({_scrub(detail)}). "
            "Try a usual 8-bit colour or grayscale JPEG."
        )
    if isinstance(exc, Image.DecompressionBombError):
        return "That image is too large to open safely; use a smaller one."
    if isinstance(exc, UnidentifiedImageError):
        return (
            "That file is not an image this app can read: upload a .jpg, or a PNG, WebP, BMP "
            "or TIFF image to compress."
        )
    if isinstance(exc, MemoryError):
        return "Out of memory: try a smaller image or a smaller region."
    if isinstance(exc, ExplorableJpegError | OSError | ValueError):
        return _sentence(str(exc) or type(exc).__name__)
    return f"Something went wrong ({type(exc).__name__})."


def _fail(message: str, state: Session | None = None, n: int = len(VIEW_OUTPUTS)) -> tuple:
    """Outputs of a failed view handler: everything kept, the message in the status."""
    gr.Warning(message)
    out: list[Any] = [gr.skip()] * n
    if n > STATUS:
        kept = "Your exploration is unchanged." if state is not None else ""
        out[STATUS] = f"⚠ {message} {kept}".strip() + (
            "  \n" + status_text(state) if state is not None else ""
        )
    return tuple(out)


def guarded(n_outputs: int = len(VIEW_OUTPUTS), extra_on_error: tuple = ()) -> Callable:
    """Wrap a handler: any failure becomes :func:`_fail`'s outputs (``extra_on_error``
    replaces the outputs after the view's, e.g. a cleared upload box)."""

    def wrap(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except Exception as exc:  # UI boundary: log it, tell the user in plain words
                if isinstance(exc, gr.Error):
                    message = str(exc.message)
                else:
                    message = user_message(exc)
                    if isinstance(exc, ExplorableJpegError | OSError | ValueError):
                        logger.info("%s refused: %s", fn.__name__, exc)
                    else:
                        logger.exception("unexpected error in %s", fn.__name__)
                state = args[0] if args and isinstance(args[0], Session) else None
                n_view = n_outputs - len(extra_on_error)
                out = _fail(message, state, n_view) if n_view > 0 else ()
                out = out + tuple(extra_on_error)
                return out if n_outputs != 1 else out[0]

        return wrapper

    return wrap


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


def outcome_text(outcome: Outcome | None) -> str:
    """What the last tool did and how far its loss got, in one or two sentences."""
    if outcome is None:
        return ""
    label = TOOL_LABELS.get(outcome.tool, outcome.tool)
    ran = ""
    if outcome.iterations is not None:
        ran = f" ({outcome.iterations} iterations in {outcome.seconds:.1f} s"
        if outcome.loss_start:
            got = 100 * (1 - outcome.loss_best / outcome.loss_start)
            ran += f"; the objective improved by {max(got, 0.0):.0f}%"
        ran += ")"
    if outcome.changed:
        return f"**{label}** changed the image{ran}."
    return (
        f"**{label}** found no visible change here{ran}: this file leaves little room in this "
        "region for that tool. Try a larger region, a larger strength or a longer time "
        "budget. Nothing was added to the history."
    )


def status_text(state: Session) -> str:
    lines = [f"**{state.name}** — {state.note}."]
    if state.outcome is not None:
        lines.append(outcome_text(state.outcome))
    if state.scale < 1:
        lines.append(
            f"Shown at {100 * state.scale:.0f}% (display only; the code is never resized)."
        )
    ex = state.explorer
    can = {True: "available", False: "—"}
    lines.append(f"Undo {can[ex.can_undo]} · redo {can[ex.can_redo]}.")
    return "  \n".join(lines)


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
    return (
        state,
        to_display(state.plain, scale),
        ours,
        editor_value(ours),
        badge_html(state.check()),
        status_text(state),
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
def _open(decoder, data, name, quality, subsampling) -> Session:
    return Session.open(decoder, data, name, quality, subsampling)


@gpu(duration=120)
def _apply(state: Session, tool: str, mask, params: dict, progress) -> Session:
    return state.apply(tool, mask, params, progress)


# ------------------------------------------------------------------------------------------
# handlers
# ------------------------------------------------------------------------------------------


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


def make_load(decoder) -> Callable:
    """The upload handler: ``(state, file, quality, subsampling)`` → the view and the
    upload box (kept on success, cleared when the file is refused)."""

    @guarded(len(VIEW_OUTPUTS) + 1, extra_on_error=(None,))
    def load(state, file, quality, subsampling, progress=gr.Progress()):  # noqa: B008
        """Upload → a new session: plain decode, our decode, badge."""
        data, name = _read_upload(file, state)
        return (*_open_view(decoder, data, name, quality, subsampling, progress), gr.skip())

    return load


def make_load_example(decoder, files: list[Path]) -> Callable:
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


def _open_view(decoder, data: bytes, name: str, quality, subsampling, progress) -> tuple:
    fn = _progress_fn(progress)
    fn(0.1, "reading the JPEG code and decoding")
    new = _open(decoder, data, name, int(quality), str(subsampling))
    fn(1.0, "done")
    return view(new)


# The tool controls of the page, in the order the apply handler takes them, with defaults.
CONTROL_DEFAULTS: dict[str, Any] = {
    "delta": None,  # variance / magnitude / scribble strength (None: the tool's default)
    "reach": None,  # how far the tool may leave the network's output (None: the tool's)
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
    """The page's controls → the parameters :meth:`Session.apply` takes (``delta`` None:
    the tool's own default)."""
    c = {**CONTROL_DEFAULTS, **controls}
    directions = PERIOD_DIRECTIONS.get(c["period_direction"], (0.0,))
    period = int(c["period"] or 0)
    digit = c["digit"]
    p: dict[str, Any] = {
        "budget": float(c["budget"]),
        "delta": None if c["delta"] is None else float(c["delta"]),
        "reach": None if c["reach"] is None else float(c["reach"]),
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
    @guarded()
    def apply_tool(
        state,
        tool,
        editor,
        delta,
        reach,
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
            tool, scribble=scribble, delta=delta, reach=reach, mode=mode, hue=hue,
            saturation=saturation, value=value, source=source, dy=dy, dx=dx, angle=angle,
            period_direction=period_direction, period=period, n=n, close=close,
            magnitude=magnitude, secondary=secondary, direction=direction, digit=digit,
            budget=budget,
        )  # fmt: skip
        try:
            new = _apply(state, tool, mask, params, _progress_fn(progress))
        except Cancelled:
            gr.Info("Cancelled: the exploration is as it was.")
            shown = list(view(state))
            shown[STATUS] = "Cancelled: the exploration is as it was.  \n" + shown[STATUS]
            return tuple(shown)
        if not new.outcome.changed and not new.alternatives:
            gr.Info(outcome_text(new.outcome).replace("**", ""))
        return view(new)

    return apply_tool


def cancel(state: Session | None) -> None:
    """Ask the running optimisation to stop (runs outside the queue)."""
    if state is not None:
        state.cancel.cancel()


@guarded()
def undo(state):
    new, done = _require(state).undo()
    if not done:
        gr.Info("Nothing to undo.")
    return view(new)


@guarded()
def redo(state):
    new, done = _require(state).redo()
    if not done:
        gr.Info("Nothing to redo.")
    return view(new)


def select_alternative(evt: gr.SelectData) -> int:
    return int(evt.index)


@guarded()
def use_alternative(state, index):
    state = _require(state)
    if index is None or not state.alternatives:
        raise gr.Error("Make alternatives first, then click one in the gallery.")
    return view(state.use_alternative(int(index)))


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
    state = _require(state)
    if file is None:
        raise gr.Error("Choose an exploration file (.safetensors) to load.")
    path = Path(file if isinstance(file, str | Path) else file.name)
    new = state.load_exploration(path)
    gr.Info(f"Loaded {path.name}.")
    return view(new)


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
        c = img[y0 : y0 + 2 * half, x0 : x0 + 2 * half]
        if c.ndim == 2:
            c = np.repeat(c[..., None], 3, axis=-1)
        ch, cw = c.shape[:2]
        crops.append(resize_nearest(c, ch * factor, cw * factor))
    gap = np.full((crops[0].shape[0], 6, 3), 255, np.uint8)
    return np.concatenate([crops[0], gap, crops[1]], axis=1)


def zoom_point(state: Session | None, point) -> tuple[float, float]:
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


def make_refresh(root: Path | None = None) -> Callable:
    """After every change: the zoom panel (same point, the current image) and the
    downloads (PNG, z map, exploration file, JPEG — ready without a click)."""

    @guarded(2)
    def refresh(state, point, factor):
        if state is None:
            return None, None
        return zoom_at(state, *zoom_point(state, point), int(factor)), export(state, root)

    return refresh
