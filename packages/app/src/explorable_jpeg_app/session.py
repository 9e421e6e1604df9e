"""One user's exploration of one JPEG file, independent of Gradio.

A :class:`Session` holds the file's bytes and code, the plain (bin-centre) decoding, the
display scale, and an :class:`explorable_jpeg.explore.Explorer` that owns the control
signal z, the history and the alternatives (every tool, optimisation with progress and
cancellation, save/load).

Actions never mutate a session in place: :meth:`Session.apply` and friends work on a copy
and return it, so an action that fails (or is cancelled) leaves the user's work untouched.
"""

from __future__ import annotations

import copy
import dataclasses
import io
import os
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
from PIL import Image

import explorable_jpeg as ej
from explorable_jpeg.errors import ExplorableJpegError, ImageTooLargeError, InvalidImageError
from explorable_jpeg.explore import Explorer
from explorable_jpeg.jpeg.code import JpegCode

DISPLAY_MAX_SIDE = 1024  # longest side of what the browser shows; the code is never resized
DEFAULT_MAX_PIXELS = 6_000_000  # the app's own pixel limit (CPU decoding time grows with it)
MAX_PIXELS_ENV = "EXPLORABLE_JPEG_APP_MAX_PIXELS"
JPEG_SUFFIXES = (".jpg", ".jpeg", ".jpe", ".jfif")

ProgressFn = Callable[[float, str], None]


class Alternative(NamedTuple):
    """One output of a tool that makes several: its name in the backend, image, caption."""

    name: str
    image: np.ndarray
    caption: str


class Cancelled(Exception):
    """The user pressed Cancel; nothing was changed."""


class CancelToken:
    """A flag shared by a running action and the Cancel button (never copied)."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    def reset(self) -> None:
        self._event.clear()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    @property
    def event(self) -> threading.Event:
        return self._event

    def __deepcopy__(self, memo: dict) -> CancelToken:
        return self

    def __copy__(self) -> CancelToken:
        return self


def app_max_pixels() -> int:
    value = os.environ.get(MAX_PIXELS_ENV, "").strip()
    try:
        return int(value) if value else DEFAULT_MAX_PIXELS
    except ValueError:
        return DEFAULT_MAX_PIXELS


# ------------------------------------------------------------------------------------------
# loading
# ------------------------------------------------------------------------------------------


def too_large(name: str, dims: tuple[int, int] | None, limit: int) -> ImageTooLargeError:
    """The app's refusal of a large image, naming the app's own setting."""
    size = f" is {dims[0]}x{dims[1]} = {dims[0] * dims[1] / 1e6:.1f} megapixels;" if dims else ""
    return ImageTooLargeError(
        f"{name}{size} this app accepts images up to {limit / 1e6:.1f} megapixels "
        f"(the server's {MAX_PIXELS_ENV} setting). Use a smaller image"
    )


def is_jpeg_bytes(data: bytes) -> bool:
    return data[:3] == b"\xff\xd8\xff"


def load_source(
    data: bytes, name: str, quality: int, subsampling: str, max_pixels: int | None = None
) -> tuple[bytes, JpegCode, str]:
    """Bytes of an upload → ``(jpeg bytes, code, note)``.

    A JPEG is read as it is (its own coefficients and tables). Any other image Pillow can
    open is compressed at ``quality`` / ``subsampling`` with libjpeg.
    """
    limit = app_max_pixels() if max_pixels is None else max_pixels
    if not data:
        raise InvalidImageError(f"{name} is empty")
    if is_jpeg_bytes(data) or name.lower().endswith(JPEG_SUFFIXES):
        try:
            code = ej.read_jpeg(data, max_pixels=limit)
        except ImageTooLargeError as exc:
            size = re.search(r"(\d+) ?x ?(\d+)", str(exc))
            dims = (int(size[1]), int(size[2])) if size else None
            raise too_large(name, dims, limit) from None
        return data, code, f"read {name} as it is ({describe_code(code)})"
    with Image.open(io.BytesIO(data)) as im:
        if im.width * im.height > limit:
            raise too_large(name, (im.width, im.height), limit)
        im.load()
        if im.mode in ("RGBA", "LA", "P", "PA"):
            im = im.convert("RGBA")
            flat = Image.new("RGB", im.size, (255, 255, 255))
            flat.paste(im, mask=im.getchannel("A"))
            im = flat
        arr = ej.jpeg.io.as_uint8_image(im)
    jpeg, code = ej.compress(arr, quality=int(quality), subsampling=subsampling, max_pixels=limit)
    note = f"compressed {name} at quality {int(quality)}, {subsampling} ({describe_code(code)})"
    return jpeg, code, note


def describe_code(code: JpegCode) -> str:
    if code.is_color:
        f = code.factors(1)
        samp = {(1, 1): "4:4:4", (2, 1): "4:2:2", (2, 2): "4:2:0", (1, 2): "4:4:0"}.get(
            f, f"chroma box {f[1]}x{f[0]}"
        )
        kind = f"colour {samp}"
    else:
        kind = "grayscale"
    prog = ", progressive" if code.progressive else ""
    return f"{code.width}x{code.height}, {kind}{prog}"


def display_scale(height: int, width: int, max_side: int = DISPLAY_MAX_SIDE) -> float:
    return min(1.0, max_side / max(height, width))


def to_display(image: np.ndarray, scale: float) -> np.ndarray:
    """RGB uint8 for the browser: gray expanded, large images downscaled (display only)."""
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=-1)
    if scale >= 1.0:
        return image
    h, w = image.shape[:2]
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return np.asarray(Image.fromarray(image).resize(size, Image.Resampling.LANCZOS))


def resize_nearest(array: np.ndarray, height: int, width: int) -> np.ndarray:
    if array.shape[:2] == (height, width):
        return array
    mode_img = Image.fromarray(array)
    return np.asarray(mode_img.resize((width, height), Image.Resampling.NEAREST))


# ------------------------------------------------------------------------------------------
# the page's parameters → the engine's
# ------------------------------------------------------------------------------------------

# page control name → the engine's parameter name, per tool (missing: not passed)
_ENGINE_PARAMS: dict[str, tuple[str, ...]] = {
    "variance-up": ("delta",),
    "variance-down": ("delta",),
    "magnitude-up": ("delta",),
    "magnitude-down": ("delta",),
    "tv-down": (),
    "scribble": ("scribble", "mode", "delta"),
    "hsv": ("hue", "saturation", "value"),
    "imprint": ("source", "dy", "dx", "angle"),
    "dictionary": ("source", "ignore_variance"),
    "periodicity": ("directions", "periods"),
    "random": ("n", "close"),
    "uniform": ("magnitude", "secondary", "direction"),
    "digit": ("digits",),
}


def engine_params(tool: str, params: dict[str, Any]) -> dict[str, Any]:
    """The subset of the page's parameters that ``tool`` takes (None values left out);
    ``reach`` for every tool that has one (the registry, ``explorable_jpeg.explore.SPECS``)."""
    from explorable_jpeg.explore import SPECS

    keys = _ENGINE_PARAMS.get(tool, ())
    spec = SPECS.get(tool)
    if spec is not None and spec.reach is not None:
        keys = (*keys, "reach")
    return {k: params[k] for k in keys if params.get(k) is not None}


# ------------------------------------------------------------------------------------------
# the session
# ------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Outcome:
    """What the last action did, for the status line."""

    tool: str
    changed: bool
    loss_start: float | None = None
    loss_best: float | None = None
    iterations: int | None = None
    seconds: float | None = None


@dataclasses.dataclass
class Session:
    """Everything the app knows about one user's current file.

    ``explorer`` owns z, the history and the alternatives; ``source`` keeps the upload's
    own bytes so that the file can be re-read (another quality, a lost cached copy).
    """

    name: str
    jpeg: bytes
    code: JpegCode
    plain: np.ndarray
    explorer: Explorer
    source: bytes = b""
    note: str = ""
    alternatives: list[Alternative] = dataclasses.field(default_factory=list)
    outcome: Outcome | None = None
    seed: int = 0
    cancel: CancelToken = dataclasses.field(default_factory=CancelToken)

    @classmethod
    def open(
        cls,
        decoder,
        data: bytes,
        name: str,
        quality: int = 15,
        subsampling: str = "4:2:0",
    ) -> Session:
        jpeg, code, note = load_source(data, name, quality, subsampling)
        plain = ej.decode_plain(code)
        if z_is_inert(decoder):
            note += (
                "; these decoder weights' z layers are zero, so the tools have no effect"
                " until trained gan weights are installed"
            )
        if code.orientation != 1:
            note += f"; EXIF orientation {code.orientation} is not applied (stored orientation)"
        return cls(name, jpeg, code, plain, Explorer(decoder, code), source=data, note=note)

    @property
    def decoder(self):
        return self.explorer.decoder

    @property
    def image(self) -> np.ndarray:
        return self.explorer.image

    @property
    def scale(self) -> float:
        return display_scale(self.code.height, self.code.width)

    def copy(self) -> Session:
        """An independent copy (its own history); the decoder, the code and the images of
        the file are shared (never mutated)."""
        return copy.deepcopy(self, memo=_shared_memo(self))

    # -- actions: each returns a new session ------------------------------------------------
    def apply(
        self, tool: str, mask: np.ndarray | None, params: dict[str, Any], progress: ProgressFn
    ) -> Session:
        """Run ``tool`` on a copy; the copy is returned (``outcome.changed`` False and the
        history untouched when the tool found no visible change)."""
        new = self.copy()
        self.cancel.reset()
        kw = engine_params(tool, params)
        if tool == "random":
            kw["seed"] = new.seed
            new.seed += 1
        if "budget" in params:
            kw["budget_s"] = float(params["budget"])
        before = self.image
        result = new.explorer.apply(
            tool, mask, progress=progress, cancel=self.cancel.event, **kw
        )  # fmt: skip
        if self.cancel.cancelled:
            raise Cancelled()
        opt = result.result
        changed = not np.array_equal(new.image, before)
        if not changed and not result.alternatives:
            # nothing visible happened: keep the user's history exactly as it was shown
            new = self.copy()
        new.outcome = Outcome(
            tool,
            changed,
            None if opt is None else opt.loss_start,
            None if opt is None else opt.loss_best,
            None if opt is None else opt.iterations,
            None if opt is None else opt.seconds,
        )
        new.alternatives = []
        for name, image in result.alternatives.items():
            score = result.scores.get(name)
            caption = name if score is None else f"{name}: p={score:.2f}"
            key = name if name in new.explorer.alternatives else f"digit {name}"
            new.alternatives.append(Alternative(key, image, caption))
        return new

    def undo(self) -> tuple[Session, bool]:
        new = self.copy()
        new.outcome = None
        return new, new.explorer.undo()

    def redo(self) -> tuple[Session, bool]:
        new = self.copy()
        new.outcome = None
        return new, new.explorer.redo()

    def use_alternative(self, index: int) -> Session:
        if not 0 <= index < len(self.alternatives):
            raise InvalidImageError("no such alternative: make alternatives first")
        new = self.copy()
        new.outcome = None
        new.explorer.use_alternative(self.alternatives[index].name)
        return new

    def load_exploration(self, path: Path) -> Session:
        new = self.copy()
        new.outcome = None
        new.explorer.load(path)
        new.alternatives = []
        return new

    # -- outputs ------------------------------------------------------------------------------
    def check(self, image: np.ndarray | None = None) -> ej.CheckReport:
        return ej.check(self.code, self.image if image is None else image)

    def export(self, folder: Path) -> list[Path]:
        """Write the PNG, the z map, the exploration file and the JPEG; return their paths."""
        from explorable_jpeg.decoding.zfile import save_z

        folder.mkdir(parents=True, exist_ok=True)
        stem = Path(self.name).stem or "image"
        png = folder / f"{stem}_explored.png"
        Image.fromarray(self.image).save(png)
        zpath = folder / f"{stem}.z.safetensors"
        save_z(zpath, self.explorer.z, self.code)
        exp = folder / f"{stem}.exploration.safetensors"
        self.explorer.save(exp)
        jpg = folder / f"{stem}.jpg"
        jpg.write_bytes(self.jpeg)
        return [png, zpath, exp, jpg]


def z_is_inert(decoder) -> bool:
    """True when the decoder's z layers are all zero (z cannot change the output)."""
    params = [p for n, p in decoder.named_parameters() if "z_proj" in n]
    return not params or all(not bool(p.detach().abs().max() > 0) for p in params)


def _shared_memo(session: Session) -> dict:
    """Objects a copy of the session shares instead of duplicating (immutable or heavy):
    the file's bytes, code and plain decode, and every network the explorer holds (the
    decoder, a loaded classifier)."""
    shared: list[Any] = [session.code, session.jpeg, session.source, session.plain]
    shared += [v for v in vars(session.explorer).values() if isinstance(v, torch.nn.Module)]
    shared += [a.image for a in session.alternatives]  # never mutated
    return {id(obj): obj for obj in shared}


__all__ = [
    "Cancelled",
    "CancelToken",
    "ExplorableJpegError",
    "Outcome",
    "Session",
    "engine_params",
    "load_source",
]
