"""Exploration files: the state, its undo/redo history and the alternatives in one file.

Format (safetensors): tensors ``z`` / ``field`` (current state), ``undo.<k>.z`` /
``undo.<k>.field``, ``redo.<k>.…``, ``alt.<k>.…`` (a state's field is absent when it has
none; fields in float16) and JSON metadata ``exploration``: version, the code's
fingerprint, size, history lengths, alternative names. Version 1 files (z only, tensors
``undo.<k>``) and z files (``decode --z-out``: one tensor ``z``) are read too.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch

from explorable_jpeg.decoding.zfile import code_fingerprint
from explorable_jpeg.errors import ExplorationFileError
from explorable_jpeg.explore.state import History, State
from explorable_jpeg.jpeg.code import JpegCode

FILE_VERSION = 2


def _name(path: str | os.PathLike) -> str:
    """The file name only: messages never show the (possibly temporary) folder."""
    return Path(path).name


def _put(tensors: dict[str, torch.Tensor], key: str, state: State) -> None:
    # states share tensors (an alternative is often the current state): copy each
    tensors[f"{key}.z" if key else "z"] = state.z.float().contiguous().clone()
    if state.field is not None:
        tensors[f"{key}.field" if key else "field"] = state.field.contiguous().clone()


def write_exploration(
    path: str | os.PathLike,
    code: JpegCode,
    state: State,
    history: History,
    alternatives: dict[str, State],
) -> None:
    """Write an exploration file (format in the module docstring)."""
    from safetensors.torch import save_file

    tensors: dict[str, torch.Tensor] = {}
    _put(tensors, "", state)
    for k, s in enumerate(history.undo):
        _put(tensors, f"undo.{k}", s)
    for k, s in enumerate(history.redo):
        _put(tensors, f"redo.{k}", s)
    names = list(alternatives)
    for k, n in enumerate(names):
        _put(tensors, f"alt.{k}", alternatives[n])
    meta = {
        "version": FILE_VERSION,
        "fingerprint": code_fingerprint(code),
        "width": code.width,
        "height": code.height,
        "undo": len(history.undo),
        "redo": len(history.redo),
        "alternatives": names,
    }
    try:
        save_file(tensors, str(path), metadata={"exploration": json.dumps(meta)})
    except OSError as exc:
        raise ExplorationFileError(f"cannot write {_name(path)}: {exc.strerror}") from None


def _get(tensors: dict[str, torch.Tensor], key: str, version: int) -> State:
    if version < 2:  # version 1: z only, tensors "undo.<k>"
        return State(tensors[key or "z"])
    z = tensors[f"{key}.z" if key else "z"]
    return State(z, tensors.get(f"{key}.field" if key else "field"))


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
        if set(tensors) != {"z"}:
            raise ExplorationFileError(
                f"{name} is neither an exploration file (Explorer.save, the app's download) "
                "nor a z file (decode --z-out): it has no 'exploration' metadata"
            )
        if raw.get("fingerprint") not in (None, fingerprint):
            raise ExplorationFileError(f"{name} belongs to another JPEG (fingerprint mismatch)")
        return State(tensors["z"].float()), [], [], {}
    try:
        meta: Any = json.loads(raw["exploration"])
    except ValueError:
        raise ExplorationFileError(f"corrupt exploration file {name}: bad metadata") from None
    if not isinstance(meta, dict) or "z" not in tensors:
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
        state = _get(tensors, "", version)
        undo = [_get(tensors, f"undo.{k}", version) for k in range(int(meta["undo"]))]
        redo = [_get(tensors, f"redo.{k}", version) for k in range(int(meta["redo"]))]
        alts = {
            str(n): _get(tensors, f"alt.{k}", version) for k, n in enumerate(meta["alternatives"])
        }
    except (KeyError, TypeError, ValueError) as exc:
        raise ExplorationFileError(f"corrupt exploration file {name}: {exc}") from None
    return state, undo, redo, alts
