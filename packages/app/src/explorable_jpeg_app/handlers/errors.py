"""What a visitor reads when something goes wrong, and the guard every handler wears.

A handler that fails does not raise: it returns ``gr.skip()`` for every output (the state,
the images, the gallery keep what they showed), a status line saying in plain words what
went wrong, and a warning toast — so a failed action never blanks the page nor loses the
exploration.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable
from typing import Any

import gradio as gr
from PIL import Image, UnidentifiedImageError

from explorable_jpeg.errors import (
    CorruptJpegError,
    ExplorableJpegError,
    NotAJpegError,
    TruncatedJpegError,
    UnsupportedJpegError,
)

from ..session import Busy, Session
from .view import NO_FILE, STATUS, VIEW_OUTPUTS, status_text

logger = logging.getLogger(__name__)

BUSY = (
    "An Apply is still running: wait until it finishes (or press Cancel), then try again — "
    "otherwise its result would overwrite this."
)
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
    if isinstance(exc, Busy):
        return BUSY
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


def fail(message: str, state: Session | None = None, n: int = len(VIEW_OUTPUTS)) -> tuple:
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
    """Wrap a handler: any failure becomes :func:`fail`'s outputs (``extra_on_error``
    replaces the outputs after the view's, e.g. a cleared upload box)."""

    def wrap(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return fn(*args, **kwargs)
            except Exception as exc:  # UI boundary: log it, tell the user in plain words
                if isinstance(exc, gr.Error):
                    message = str(exc.message)
                else:
                    message = user_message(exc)
                    if isinstance(exc, ExplorableJpegError | OSError | ValueError | Busy):
                        logger.info("%s refused: %s", fn.__name__, exc)
                    else:
                        logger.exception("unexpected error in %s", fn.__name__)
                state = args[0] if args and isinstance(args[0], Session) else None
                n_view = n_outputs - len(extra_on_error)
                out = fail(message, state, n_view) if n_view > 0 else ()
                out = out + tuple(extra_on_error)
                return out if n_outputs != 1 else out[0]

        return wrapper

    return wrap


def require(state: Session | None) -> Session:
    """The session, or the "upload first" message."""
    if state is None:
        raise gr.Error(NO_FILE)
    return state


def progress_fn(progress: Any) -> Callable[[float, str], None]:
    """Gradio's progress tracker (or None) as the explorer's ``progress(fraction, text)``."""
    if progress is None:
        return lambda fraction, desc: None
    return lambda fraction, desc: progress(float(fraction), desc=desc)
