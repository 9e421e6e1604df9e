"""One user's exploration of one JPEG file, independent of Gradio.

A :class:`Session` holds the file's bytes and code, the plain (bin-centre) decoding, the
display scale, and a *backend* that owns the control signal z, the history and the
alternatives:

* :class:`ExplorerBackend` wraps ``explorable_jpeg.explorer.Explorer`` when the core
  provides it (every tool, optimisation with progress and cancellation, save/load);
* :class:`ZHistoryBackend` is the fallback: random alternatives from seeds and a
  consistency-projected scribble, with undo/redo over a history of (z, image).

Actions never mutate a session in place: :meth:`Session.apply` and friends work on a copy
and return it, so an action that fails (or is cancelled) leaves the user's work untouched.
"""

from __future__ import annotations

import copy
import dataclasses
import io
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple, Protocol

import numpy as np
import torch
from PIL import Image

import explorable_jpeg as ej
from explorable_jpeg.code import JpegCode
from explorable_jpeg.errors import ExplorableJpegError, InvalidImageError

DISPLAY_MAX_SIDE = 1024  # longest side of what the browser shows; the code is never resized
DEFAULT_MAX_PIXELS = 6_000_000  # the app's own pixel limit (CPU decoding time grows with it)
MAX_PIXELS_ENV = "EXPLORABLE_JPEG_APP_MAX_PIXELS"
HISTORY_LIMIT = 40
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
        code = ej.read_jpeg(data, max_pixels=limit)
        return data, code, f"read {name} as it is ({describe_code(code)})"
    with Image.open(io.BytesIO(data)) as im:
        if im.width * im.height > limit:
            raise ej.ImageTooLargeError(
                f"{name} is {im.width}x{im.height} = {im.width * im.height / 1e6:.1f} MP; "
                f"the app accepts up to {limit / 1e6:.1f} MP"
            )
        im.load()
        if im.mode in ("RGBA", "LA", "P", "PA"):
            im = im.convert("RGBA")
            flat = Image.new("RGB", im.size, (255, 255, 255))
            flat.paste(im, mask=im.getchannel("A"))
            im = flat
        arr = ej.jpeg_io.as_uint8_image(im)
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
# backends
# ------------------------------------------------------------------------------------------


class Backend(Protocol):
    tools: tuple[str, ...]

    @property
    def image(self) -> np.ndarray: ...

    @property
    def z(self) -> torch.Tensor | None: ...

    def apply(
        self,
        tool: str,
        mask: np.ndarray | None,
        params: dict[str, Any],
        progress: ProgressFn,
        cancel: CancelToken,
    ) -> list[Alternative]: ...

    def undo(self) -> bool: ...

    def redo(self) -> bool: ...

    def can_undo(self) -> bool: ...

    def can_redo(self) -> bool: ...

    def use_alternative(self, name: str) -> None: ...

    def save(self, path: Path) -> None: ...

    def load(self, path: Path) -> None: ...


@dataclasses.dataclass
class _Entry:
    z: torch.Tensor | None
    image: np.ndarray
    label: str


class ZHistoryBackend:
    """Exploration without ``explorable_jpeg.explorer``: random z and projected scribbles.

    * ``random``: N decodings whose z is redrawn (inside the mask's blocks, or everywhere).
    * ``scribble``: the painted colours inside the mask, projected onto the consistent set
      and snapped, so the image still re-encodes to the file.
    The exploration file is the current z (``zfile.save_z``).
    """

    tools: tuple[str, ...] = ("random", "scribble")

    def __init__(self, decoder, code: JpegCode, image: np.ndarray | None = None) -> None:
        self.decoder = decoder
        self.code = code
        z = decoder.random_z(code, 0) * 0 if decoder.z_channels else None
        if image is None:
            image = decoder.decode(code, z=z)
        self.history: list[_Entry] = [_Entry(z, image, "decode")]
        self.position = 0
        self.alternatives: list[_Entry] = []
        self._next_seed = 1

    def __deepcopy__(self, memo: dict) -> ZHistoryBackend:
        new = copy.copy(self)
        new.history = list(self.history)  # entries are never mutated: share them
        new.alternatives = list(self.alternatives)
        return new

    @property
    def current(self) -> _Entry:
        return self.history[self.position]

    @property
    def image(self) -> np.ndarray:
        return self.current.image

    @property
    def z(self) -> torch.Tensor | None:
        return self.current.z

    def _push(self, entry: _Entry) -> None:
        self.history = self.history[: self.position + 1] + [entry]
        if len(self.history) > HISTORY_LIMIT:
            self.history = self.history[-HISTORY_LIMIT:]
        self.position = len(self.history) - 1

    def apply(self, tool, mask, params, progress, cancel) -> list[Alternative]:
        if tool == "random":
            return self._random(mask, int(params.get("n", 4)), progress, cancel)
        if tool == "scribble":
            if mask is None or params.get("scribble") is None:
                raise InvalidImageError("scribble needs strokes: paint on the sketchpad first")
            progress(0.1, "projecting the scribble onto the consistent set")
            self._scribble(mask, params["scribble"])
            progress(1.0, "done")
            return []
        raise InvalidImageError(
            f"the tool {tool!r} needs the exploration engine (explorable_jpeg.explorer), "
            "which this installation does not have"
        )

    def _random(self, mask, n, progress, cancel) -> list[Alternative]:
        if not self.decoder.z_channels:
            raise InvalidImageError("the l1 decoder has no z: load the gan variant")
        n = max(1, min(int(n), 16))
        blocks = None if mask is None else block_mask(mask, self.decoder.z_shape(self.code))
        alts = []
        for k in range(n):
            if cancel.cancelled:
                raise Cancelled()
            progress(k / n, f"alternative {k + 1} of {n}")
            z = self.decoder.random_z(self.code, self._next_seed + k)
            if blocks is not None and self.z is not None:
                z = torch.where(blocks, z, self.z.cpu())
            seed = self._next_seed + k
            alts.append(_Entry(z, self.decoder.decode(self.code, z=z), f"seed {seed}"))
        self._next_seed += n
        progress(1.0, "done")
        self.alternatives = alts
        return [Alternative(a.label, a.image, a.label) for a in alts]

    def _scribble(self, mask: np.ndarray, scribble: np.ndarray) -> None:
        from explorable_jpeg.snap import image_to_planes

        cur = image_to_planes(self.image, self.code)
        target = image_to_planes(scribble, self.code)
        blended = np.where(mask[None], target, cur)
        planes = ej.project_image(blended, self.code)
        image = ej.snap(planes, self.code)
        self._push(_Entry(self.z, image, "scribble"))

    def undo(self) -> bool:
        if self.position == 0:
            return False
        self.position -= 1
        return True

    def redo(self) -> bool:
        if self.position + 1 >= len(self.history):
            return False
        self.position += 1
        return True

    def can_undo(self) -> bool:
        return self.position > 0

    def can_redo(self) -> bool:
        return self.position + 1 < len(self.history)

    def use_alternative(self, name: str) -> None:
        for alt in self.alternatives:
            if alt.label == name:
                self._push(alt)
                return
        raise InvalidImageError(f"no alternative named {name!r}: make alternatives first")

    def save(self, path: Path) -> None:
        from explorable_jpeg.zfile import save_z

        z = self.z if self.z is not None else torch.zeros(self.decoder.z_shape(self.code))
        save_z(path, z, self.code)

    def load(self, path: Path) -> None:
        from explorable_jpeg.zfile import load_z

        if not self.decoder.z_channels:
            raise InvalidImageError("the l1 decoder has no z to load")
        z = load_z(path, self.code, self.decoder.z_shape(self.code))
        self._push(_Entry(z, self.decoder.decode(self.code, z=z), "loaded"))


def block_mask(mask: np.ndarray, z_shape: tuple[int, int, int]) -> torch.Tensor:
    """Pixel mask ``(H, W)`` → boolean ``(1, by, bx)``: blocks that hold a masked pixel."""
    _, by, bx = z_shape
    m = np.zeros((by * 8, bx * 8), dtype=bool)
    m[: mask.shape[0], : mask.shape[1]] = mask
    return torch.from_numpy(m.reshape(by, 8, bx, 8).any(axis=(1, 3)))[None]


def z_is_inert(decoder) -> bool:
    """True when the decoder's z layers are all zero (z cannot change the output)."""
    params = [p for n, p in decoder.named_parameters() if "z_proj" in n]
    return not params or all(not bool(p.detach().abs().max() > 0) for p in params)


def explorer_available() -> bool:
    """True when the core has the exploration engine (``explorable_jpeg.explorer``)."""
    try:
        from explorable_jpeg import explorer
    except ImportError:
        return False
    return hasattr(explorer, "Explorer") and hasattr(explorer, "TOOLS")


def make_backend(decoder, code: JpegCode) -> Backend:
    if explorer_available():
        from .explorer_backend import ExplorerBackend

        return ExplorerBackend(decoder, code)
    return ZHistoryBackend(decoder, code)


# ------------------------------------------------------------------------------------------
# the session
# ------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Session:
    """Everything the app knows about one user's current file."""

    name: str
    jpeg: bytes
    code: JpegCode
    plain: np.ndarray
    backend: Backend
    note: str = ""
    alternatives: list[Alternative] = dataclasses.field(default_factory=list)
    cancel: CancelToken = dataclasses.field(default_factory=CancelToken)

    @classmethod
    def open(
        cls,
        decoder,
        data: bytes,
        name: str,
        quality: int = 15,
        subsampling: str = "4:2:0",
        backend_factory: Callable[[Any, JpegCode], Backend] = make_backend,
    ) -> Session:
        jpeg, code, note = load_source(data, name, quality, subsampling)
        plain = ej.decode_plain(code)
        if z_is_inert(decoder):
            note += (
                "; these decoder weights' z layers are zero, so z-based tools have no effect"
                " until trained gan weights are installed"
            )
        if code.orientation != 1:
            note += f"; EXIF orientation {code.orientation} is not applied (stored orientation)"
        return cls(name, jpeg, code, plain, backend_factory(decoder, code), note)

    @property
    def image(self) -> np.ndarray:
        return self.backend.image

    @property
    def scale(self) -> float:
        return display_scale(self.code.height, self.code.width)

    def copy(self) -> Session:
        return copy.deepcopy(self, memo=_shared_memo(self))

    # -- actions: each returns a new session ------------------------------------------------
    def apply(
        self, tool: str, mask: np.ndarray | None, params: dict[str, Any], progress: ProgressFn
    ) -> Session:
        new = self.copy()
        self.cancel.reset()
        alts = new.backend.apply(tool, mask, params, progress, self.cancel)
        new.alternatives = list(alts)
        return new

    def undo(self) -> tuple[Session, bool]:
        new = self.copy()
        return new, new.backend.undo()

    def redo(self) -> tuple[Session, bool]:
        new = self.copy()
        return new, new.backend.redo()

    def use_alternative(self, index: int) -> Session:
        if not 0 <= index < len(self.alternatives):
            raise InvalidImageError("no such alternative: make alternatives first")
        new = self.copy()
        new.backend.use_alternative(self.alternatives[index].name)
        return new

    def load_exploration(self, path: Path) -> Session:
        new = self.copy()
        new.backend.load(path)
        new.alternatives = []
        return new

    # -- outputs ------------------------------------------------------------------------------
    def check(self, image: np.ndarray | None = None) -> ej.CheckReport:
        return ej.check(self.code, self.image if image is None else image)

    def export(self, folder: Path) -> list[Path]:
        """Write the PNG, the z map and the exploration file; return their paths."""
        folder.mkdir(parents=True, exist_ok=True)
        stem = Path(self.name).stem or "image"
        png = folder / f"{stem}_explored.png"
        Image.fromarray(self.image).save(png)
        out = [png]
        z = self.backend.z
        if z is not None:
            from explorable_jpeg.zfile import save_z

            zpath = folder / f"{stem}.z.safetensors"
            save_z(zpath, z, self.code)
            out.append(zpath)
        exp = folder / f"{stem}.exploration{exploration_suffix(self.backend)}"
        self.backend.save(exp)
        out.append(exp)
        jpg = folder / f"{stem}.jpg"
        jpg.write_bytes(self.jpeg)
        out.append(jpg)
        return out


def exploration_suffix(backend: Backend) -> str:
    return getattr(backend, "file_suffix", ".safetensors")


def _shared_memo(session: Session) -> dict:
    """Objects a copy of the session shares instead of duplicating (immutable or heavy)."""
    memo: dict[int, Any] = {id(session.code): session.code, id(session.jpeg): session.jpeg}
    memo[id(session.plain)] = session.plain
    decoder = getattr(session.backend, "decoder", None)
    if decoder is not None:
        memo[id(decoder)] = decoder
    return memo


__all__ = [
    "Cancelled",
    "CancelToken",
    "ExplorableJpegError",
    "Session",
    "ZHistoryBackend",
    "load_source",
]
