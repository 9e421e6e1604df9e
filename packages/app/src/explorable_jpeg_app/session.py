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
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
from PIL import Image

import explorable_jpeg as ej
from explorable_jpeg.errors import ExplorableJpegError, InvalidImageError
from explorable_jpeg.explore import SPECS, Explorer
from explorable_jpeg.jpeg.code import JpegCode

from .display import display_scale
from .source import load_source

ProgressFn = Callable[[float, str], None]


class Alternative(NamedTuple):
    """One output of a tool that makes several: its name in the explorer, image, caption
    (with its score, when the tool gives one)."""

    name: str
    image: np.ndarray
    caption: str
    score: float | None = None


class Step(NamedTuple):
    """One entry of the history strip: a thumbnail of the image at that step, and what
    made it (``loaded``, a tool's label, ``alternative``…)."""

    thumbnail: np.ndarray
    caption: str


THUMB_SIDE = 160  # longest side of a history thumbnail (display only)


def thumbnail(image: np.ndarray, side: int = THUMB_SIDE) -> np.ndarray:
    """``image`` downscaled (Lanczos) to at most ``side`` pixels on its longest side."""
    h, w = image.shape[:2]
    scale = min(1.0, side / max(h, w))
    if scale >= 1.0:
        return image
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return np.asarray(Image.fromarray(image).resize(size, Image.Resampling.LANCZOS))


class Cancelled(Exception):
    """The user pressed Cancel; nothing was changed."""


class Busy(Exception):
    """An action was asked for while an Apply of the same exploration is running."""


class SharedFlag:
    """A flag shared by every copy of a session (copying returns the same object): the
    Cancel button's request, or "an Apply is running"."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def set(self) -> None:
        self._event.set()

    def reset(self) -> None:
        self._event.clear()

    @property
    def is_set(self) -> bool:
        return self._event.is_set()

    @property
    def event(self) -> threading.Event:
        return self._event

    def __deepcopy__(self, memo: dict) -> SharedFlag:
        return self

    def __copy__(self) -> SharedFlag:
        return self


class CancelToken(SharedFlag):
    """Set by the Cancel button, read by the running optimisation."""

    def cancel(self) -> None:
        self.set()

    @property
    def cancelled(self) -> bool:
        return self.is_set


# ------------------------------------------------------------------------------------------
# the session
# ------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Outcome:
    """What the last action did, for the status line: the tool, whether the image changed,
    and how far its optimisation got (loss at the start and at the end, iterations, time,
    the reach it ran with) and the mean change it made, in grey levels, inside the selection
    and outside it (``mean |after − before|`` over those pixels)."""

    tool: str
    changed: bool
    loss_start: float | None = None
    loss_best: float | None = None
    iterations: int | None = None
    seconds: float | None = None
    reach: float | None = None
    change_inside: float | None = None
    change_outside: float | None = None


@dataclasses.dataclass
class Session:
    """Everything the app knows about one user's current file.

    ``explorer`` owns z, the history and the alternatives; ``source`` keeps the upload's
    own bytes so that the file can be re-read (another quality, a lost cached copy);
    ``previous`` is the image shown before the last change (None: nothing changed yet);
    ``steps`` are the history strip's thumbnails, ``steps[position]`` the current image's
    (aligned with the explorer's undo/redo history).
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
    previous: np.ndarray | None = None
    cancel: CancelToken = dataclasses.field(default_factory=CancelToken)
    running: SharedFlag = dataclasses.field(default_factory=SharedFlag)
    steps: list[Step] = dataclasses.field(default_factory=list)
    position: int = 0

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
        new = cls(name, jpeg, code, plain, Explorer(decoder, code), source=data, note=note)
        new.steps = [Step(thumbnail(new.image), "loaded")]
        return new

    @property
    def decoder(self):
        return self.explorer.decoder

    @property
    def image(self) -> np.ndarray:
        return self.explorer.image

    @property
    def before(self) -> np.ndarray:
        """The image before the last change (the plain decode's successor: our first
        decode, when nothing changed yet)."""
        return self.image if self.previous is None else self.previous

    @property
    def scale(self) -> float:
        return display_scale(self.code.height, self.code.width)

    def copy(self) -> Session:
        """An independent copy (its own history); the decoder, the code and the images of
        the file are shared (never mutated)."""
        return copy.deepcopy(self, memo=_shared_memo(self))

    def _changed(self, action: Callable[[Session], Any]) -> tuple[Session, Any]:
        """``action`` run on a copy that remembers the image before it (refused while an
        Apply of this exploration runs: its result would overwrite this action's)."""
        if self.running.is_set:
            raise Busy("an Apply is running")
        new = self.copy()
        new.outcome = None
        before = self.image
        out = action(new)
        if not np.array_equal(new.image, before):
            new.previous = before
        return new, out

    def _record(self, caption: str) -> None:
        """A new current image made by ``caption``: the steps after the current one (the
        redo side) are dropped, as the explorer's redo history is; the strip keeps as many
        steps as the explorer can undo."""
        keep = self.steps[: self.position + 1] + [Step(thumbnail(self.image), caption)]
        keep = keep[-(self.explorer.history_depth + 1) :]
        self.steps, self.position = keep, len(keep) - 1

    def _moved(self, by: int) -> None:
        """The explorer stepped ``by`` (−1 undo, +1 redo): the strip follows (a step it
        has no thumbnail of, e.g. from a loaded exploration, gets one now)."""
        target = self.position + by
        if target < 0:
            self.steps.insert(0, Step(thumbnail(self.image), "earlier"))
            target = 0
        elif target >= len(self.steps):
            self.steps.append(Step(thumbnail(self.image), "later"))
        self.position = target

    @contextmanager
    def _job(self) -> Iterator[None]:
        if self.running.is_set:
            raise Busy("an Apply is running")
        self.running.set()
        try:
            yield
        finally:
            self.running.reset()

    # -- actions: each returns a new session ------------------------------------------------
    def apply(
        self,
        tool: str,
        mask: np.ndarray | None,
        params: dict[str, Any],
        progress: ProgressFn,
        budget_s: float | None = None,
        scribble: np.ndarray | None = None,
    ) -> Session:
        """Run ``tool`` with its registry ``params`` on a copy; the copy is returned
        (``outcome.changed`` False and the history untouched when the tool found no visible
        change). The page's own parameters (:data:`~.controls.PAGE_SUPPLIED`): ``scribble``
        (the painted image) and the session's ``seed``, for the tools that take them."""
        new = self.copy()
        self.cancel.reset()
        names = {p.name for p in SPECS[tool].params}
        kw = dict(params)
        if "scribble" in names and scribble is not None:
            kw["scribble"] = scribble
        if "seed" in names:
            kw["seed"] = new.seed
            new.seed += 1
        if budget_s is not None:
            kw["budget_s"] = float(budget_s)
        before = self.image
        stored = dict(new.explorer.alternatives)
        with self._job():
            result = new.explorer.apply(
                tool, mask, progress=progress, cancel=self.cancel.event, **kw
            )
        if self.cancel.cancelled:
            raise Cancelled()
        opt = result.result
        changed = not np.array_equal(new.image, before)
        if not changed and not result.alternatives:
            # nothing visible happened: keep the user's history exactly as it was shown
            new = self.copy()
        elif changed:
            new.previous = before
            new._record(SPECS[tool].label)
        inside = outside = None
        if changed:
            inside = mean_difference(new.image, before, mask)
            if mask is not None and not mask.all():
                outside = mean_difference(new.image, before, ~mask)
        new.outcome = Outcome(
            tool,
            changed,
            None if opt is None else opt.loss_start,
            None if opt is None else opt.loss_best,
            None if opt is None else opt.iterations,
            None if opt is None else opt.seconds,
            None if opt is None else opt.reach,
            inside,
            outside,
        )
        added = [k for k, v in new.explorer.alternatives.items() if stored.get(k) is not v]
        new.alternatives = []
        for name, image in result.alternatives.items():
            score = result.scores.get(name)
            if score is None:  # no score of its own: how far it is from the image before
                caption = f"{name}: Δ {mean_difference(image, before, mask):.1f}"
            else:
                caption = f"{name}: p={score:.2f}"
            if name not in added:  # every tool stores its alternatives under their names
                raise ExplorableJpegError(f"{tool}: alternative {name!r} was not stored")
            new.alternatives.append(Alternative(name, image, caption, score))
        return new

    def undo(self) -> tuple[Session, bool]:
        return self._changed(lambda new: new._step(-1))

    def redo(self) -> tuple[Session, bool]:
        return self._changed(lambda new: new._step(+1))

    def _step(self, by: int) -> bool:
        done = self.explorer.undo() if by < 0 else self.explorer.redo()
        if done:
            self._moved(by)
        return done

    def go_to(self, index: int) -> Session:
        """The image of history step ``index`` (a click on the history strip): as many
        undos or redos as it takes."""
        if not 0 <= index < len(self.steps):
            raise InvalidImageError("no such step in the history")

        def go(new: Session) -> None:
            by = -1 if index < new.position else 1
            while new.position != index and new._step(by):
                pass

        return self._changed(go)[0]

    def use_alternative(self, index: int) -> Session:
        if not 0 <= index < len(self.alternatives):
            raise InvalidImageError("no such alternative: make alternatives first")
        name = self.alternatives[index].name

        def use(new: Session) -> None:
            before = new.image
            new.explorer.use_alternative(name)
            if not np.array_equal(new.image, before):
                new._record(f"alternative {name}")

        return self._changed(use)[0]

    def load_exploration(self, path: Path) -> Session:
        def load(new: Session) -> None:
            new.explorer.load(path)
            new.alternatives = []
            new.steps, new.position = [Step(thumbnail(new.image), "loaded exploration")], 0

        return self._changed(load)[0]

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


def mean_difference(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Mean ``|a − b|`` in grey levels over ``mask`` (all pixels when None)."""
    diff = np.abs(a.astype(np.float64) - b.astype(np.float64))
    diff = diff.mean(axis=-1) if diff.ndim == 3 else diff
    return float(diff[mask].mean() if mask is not None and mask.any() else diff.mean())


def z_is_inert(decoder) -> bool:
    """True when the decoder's z layers are all zero (z cannot change the output)."""
    params = [p for n, p in decoder.named_parameters() if "z_proj" in n]
    return not params or all(not bool(p.detach().abs().max() > 0) for p in params)


def _shared_memo(session: Session) -> dict:
    """Objects a copy of the session shares instead of duplicating (immutable or heavy):
    the file's bytes, code and plain decode, and every network the explorer holds (the
    decoder, a loaded classifier)."""
    shared: list[Any] = [session.code, session.jpeg, session.source, session.plain]
    shared += [] if session.previous is None else [session.previous]
    shared += [v for v in vars(session.explorer).values() if isinstance(v, torch.nn.Module)]
    shared += [a.image for a in session.alternatives]  # never mutated
    shared += [s.thumbnail for s in session.steps]
    return {id(obj): obj for obj in shared}


__all__ = [
    "Busy",
    "Cancelled",
    "CancelToken",
    "ExplorableJpegError",
    "Outcome",
    "Session",
    "Step",
    "load_source",
]
