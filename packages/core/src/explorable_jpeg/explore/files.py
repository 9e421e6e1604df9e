"""Exploration files: the state, its undo/redo history and the alternatives in one file.

Format 3 (safetensors): ``uint8`` tensors ``blob.<j>``, each a zlib-compressed array
stored once by content (:mod:`.packing`), and JSON metadata ``exploration``: version, the
code's fingerprint, size, history lengths, alternative names, ``blobs`` (dtype and shape of
each), ``states`` (for the current state ``""``, ``undo.<k>``, ``redo.<k>``, ``alt.<k>``:
the blob of its z and, when it has a field, the blob of its tile list) and ``fields`` (the
field shape, the tile size, the MCU's, and the blob of the tile pool). Fields are float16,
kept only on their nonzero MCU tiles, each distinct tile once: a 493×356 photo after five
edits gives about 0.1 MB, where format 2 took 11 MB.

Format 2 (tensors ``z`` / ``field`` for the current state, ``undo.<k>.z`` /
``undo.<k>.field``, ``redo.<k>.…``, ``alt.<k>.…``, full-size float16 fields), format 1 (z
only, tensors ``undo.<k>``) and z files (``decode --z-out``, :mod:`explorable_jpeg.decoding.zfile`:
one compressed tensor ``z.zlib``, or one float tensor ``z`` in older ones) are read too.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from explorable_jpeg.decoding.zfile import code_fingerprint, read_z_tensors
from explorable_jpeg.errors import ExplorationFileError
from explorable_jpeg.explore.packing import BlobWriter, TilePool, read_blob
from explorable_jpeg.explore.state import FIELD_DTYPE, History, State
from explorable_jpeg.jpeg.code import JpegCode

FILE_VERSION = 3


def _name(path: str | os.PathLike) -> str:
    """The file name only: messages never show the (possibly temporary) folder."""
    return Path(path).name


def _keyed_states(
    state: State, history: History, alternatives: dict[str, State]
) -> Iterable[tuple[str, State]]:
    yield "", state
    yield from ((f"undo.{k}", s) for k, s in enumerate(history.undo))
    yield from ((f"redo.{k}", s) for k, s in enumerate(history.redo))
    yield from ((f"alt.{k}", s) for k, s in enumerate(alternatives.values()))


def _field_array(field: torch.Tensor) -> np.ndarray:
    return field.detach().to("cpu", FIELD_DTYPE).contiguous().numpy()


def write_exploration(
    path: str | os.PathLike,
    code: JpegCode,
    state: State,
    history: History,
    alternatives: dict[str, State],
) -> None:
    """Write an exploration file (format in the module docstring)."""
    from safetensors.torch import save_file

    blobs = BlobWriter()
    keyed = list(_keyed_states(state, history, alternatives))
    shapes = {tuple(s.field.shape) for _, s in keyed if s.field is not None}
    if len(shapes) > 1:
        raise ExplorationFileError(f"cannot write {_name(path)}: fields of shapes {shapes}")
    c, h, w = shapes.pop() if shapes else (0, 0, 0)
    pool = TilePool((c, h, w), code.mcu_size)
    states: dict[str, dict[str, int | None]] = {}
    for key, s in keyed:
        z = blobs.add(s.z.detach().to("cpu", torch.float32).contiguous().numpy())
        field = None if s.field is None else blobs.add(pool.add(_field_array(s.field)))
        states[key] = {"z": z, "field": field}
    fields = {
        "shape": list(pool.shape),
        "tile": list(pool.tile),
        "pool": blobs.add(pool.stacked(np.dtype(np.float16))),
    }
    names = list(alternatives)
    meta = {
        "version": FILE_VERSION,
        "fingerprint": code_fingerprint(code),
        "width": code.width,
        "height": code.height,
        "undo": len(history.undo),
        "redo": len(history.redo),
        "alternatives": names,
        "blobs": blobs.specs,
        "states": states,
        "fields": fields,
    }
    try:
        save_file(blobs.tensors, str(path), metadata={"exploration": json.dumps(meta)})
    except OSError as exc:
        raise ExplorationFileError(f"cannot write {_name(path)}: {exc.strerror}") from None


def _get(tensors: dict[str, torch.Tensor], key: str, version: int) -> State:
    """A state of a format 1 or 2 file."""
    if version < 2:  # version 1: z only, tensors "undo.<k>"
        return State(tensors[key or "z"])
    z = tensors[f"{key}.z" if key else "z"]
    return State(z, tensors.get(f"{key}.field" if key else "field"))


class _PackedReader:
    """The states of a format 3 file (blobs decompressed once each)."""

    def __init__(self, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
        self.tensors, self.specs, self.states = tensors, list(meta["blobs"]), meta["states"]
        fields = meta["fields"]
        c, h, w = (int(x) for x in fields["shape"])
        th, tw = (int(x) for x in fields["tile"])
        if min(th, tw) < 1 or min(c, h, w) < 0:
            raise ValueError(f"bad field shape {(c, h, w)} or tile {(th, tw)}")
        self.pool = TilePool((c, h, w), (th, tw))
        shape, tile = (c, h, w), (th, tw)
        self._cache: dict[int, np.ndarray] = {}
        self.tiles = self._blob(fields["pool"])
        if self.tiles.ndim != 4 or self.tiles.shape[1:] != (shape[0], *tile):
            raise ValueError(f"tile pool of shape {self.tiles.shape}")

    def _blob(self, j: Any) -> np.ndarray:
        """Blob ``j`` (shared by states: one array each, never written to)."""
        j = int(j)
        if j not in self._cache:
            self._cache[j] = read_blob(self.tensors, self.specs, j)
        return self._cache[j]

    def state(self, key: str) -> State:
        entry = self.states[key]
        z = torch.from_numpy(self._blob(entry["z"]).copy())
        if entry["field"] is None:
            return State(z)
        field = self.pool.field(self.tiles, self._blob(entry["field"]))
        return State(z, torch.from_numpy(field))


def read_exploration(
    path: str | os.PathLike, code: JpegCode
) -> tuple[State, list[State], list[State], dict[str, State]]:
    """Read ``(state, undo, redo, alternatives)`` from an exploration or z file.

    Shapes and values are not checked here (the :class:`Explorer` does that).
    """
    from safetensors import SafetensorError, safe_open

    name = _name(path)
    if not Path(path).is_file():
        raise ExplorationFileError(f"no such exploration file: {name}")
    try:
        with safe_open(str(path), framework="pt") as f:
            raw = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118
    except (SafetensorError, OSError, ValueError) as exc:
        raise ExplorationFileError(
            f"{name} is not an exploration or z file (not safetensors: {exc})"
        ) from None
    fingerprint = code_fingerprint(code)
    if "exploration" not in raw:  # a z file written by `decode --z-out` / save_z
        try:
            z = read_z_tensors(tensors, raw) if len(tensors) == 1 else None
        except ValueError as exc:
            raise ExplorationFileError(f"corrupt z file {name}: {exc}") from None
        if z is None:
            raise ExplorationFileError(
                f"{name} is neither an exploration file (Explorer.save, the app's download) "
                "nor a z file (decode --z-out): it has no 'exploration' metadata"
            )
        if raw.get("fingerprint") not in (None, fingerprint):
            raise ExplorationFileError(f"{name} belongs to another JPEG (fingerprint mismatch)")
        return State(z.float()), [], [], {}
    try:
        meta: Any = json.loads(raw["exploration"])
    except ValueError:
        raise ExplorationFileError(f"corrupt exploration file {name}: bad metadata") from None
    if not isinstance(meta, dict) or ("z" not in tensors and "states" not in meta):
        raise ExplorationFileError(f"{name} is not an exploration file")
    if meta.get("fingerprint") != fingerprint:
        raise ExplorationFileError(f"{name} belongs to another JPEG (fingerprint mismatch)")
    try:
        version = int(meta.get("version", 1))
        if version > FILE_VERSION:
            raise ExplorationFileError(
                f"{name} was written by a newer version (format {version}; this one reads "
                f"up to {FILE_VERSION})"
            )
        if version >= 3:
            packed = _PackedReader(tensors, meta)
            get = lambda key: packed.state(key)  # noqa: E731
        else:
            get = lambda key: _get(tensors, key, version)  # noqa: E731
        state = get("")
        undo = [get(f"undo.{k}") for k in range(int(meta["undo"]))]
        redo = [get(f"redo.{k}") for k in range(int(meta["redo"]))]
        alts = {str(n): get(f"alt.{k}") for k, n in enumerate(meta["alternatives"])}
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise ExplorationFileError(f"corrupt exploration file {name}: {exc}") from None
    return state, undo, redo, alts
