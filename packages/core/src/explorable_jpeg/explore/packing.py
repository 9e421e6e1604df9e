"""Compact storage of exploration states: arrays compressed once each, fields as MCU tiles.

An exploration field ``d`` ``(C, H, W)`` is zero outside what the edits touched, and two
states of one history differ only where the later edit ran. A field is therefore cut into
MCU tiles ``(C, th, tw)`` (``th × tw`` the code's MCU size, the field zero-padded to whole
tiles); only nonzero tiles are kept, each distinct tile once in a pool shared by all states,
and a state's field is the list ``(tile row, tile column, pool index)``. Every array (z, the
pool, the lists) is stored once by content, zlib-compressed, as a ``uint8`` tensor
``blob.<j>``; what is read back is bit-identical to what was written.
"""

from __future__ import annotations

import hashlib
import zlib
from typing import Any

import numpy as np
import torch

ZLIB_LEVEL = 6
"""zlib's default level: float16 fields compress about as well at 9, several times slower."""

_DTYPES = {"float16": np.float16, "float32": np.float32, "float64": np.float64, "int32": np.int32}


class BlobWriter:
    """Arrays stored once each by content: :meth:`add` returns the blob index."""

    def __init__(self) -> None:
        self.tensors: dict[str, torch.Tensor] = {}
        self.specs: list[dict[str, Any]] = []
        self._index: dict[tuple, int] = {}

    def add(self, array: np.ndarray) -> int:
        array = np.ascontiguousarray(array)
        if array.dtype.name not in _DTYPES:
            raise TypeError(f"cannot store arrays of {array.dtype}")
        raw = array.tobytes()
        key = (array.dtype.name, array.shape, hashlib.sha256(raw).digest())
        if key not in self._index:
            j = len(self.specs)
            self._index[key] = j
            packed = bytearray(zlib.compress(raw, ZLIB_LEVEL))
            self.tensors[f"blob.{j}"] = torch.frombuffer(packed, dtype=torch.uint8).clone()
            self.specs.append({"dtype": array.dtype.name, "shape": list(array.shape)})
        return self._index[key]


def read_blob(tensors: dict[str, torch.Tensor], specs: list[dict[str, Any]], j: int) -> np.ndarray:
    """Blob ``j`` as the array it was; ``ValueError`` when it does not decompress to its
    recorded dtype and shape (a corrupt file)."""
    spec = specs[int(j)]
    dtype = np.dtype(_DTYPES[str(spec["dtype"])])
    shape = tuple(int(s) for s in spec["shape"])
    try:
        raw = zlib.decompress(tensors[f"blob.{int(j)}"].numpy().tobytes())
    except zlib.error as exc:
        raise ValueError(f"blob {j} does not decompress ({exc})") from None
    if len(raw) != dtype.itemsize * int(np.prod(shape, dtype=np.int64)):
        raise ValueError(f"blob {j} holds {len(raw)} bytes, not a {spec['dtype']} {shape} array")
    return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()


class TilePool:
    """The distinct nonzero MCU tiles of every stored field, in order of first use."""

    def __init__(self, shape: tuple[int, int, int], tile: tuple[int, int]) -> None:
        self.shape, self.tile = shape, tile
        self.tiles: list[np.ndarray] = []
        self._index: dict[bytes, int] = {}

    def _grid(self) -> tuple[int, int]:
        (_, h, w), (th, tw) = self.shape, self.tile
        return -(-h // th), -(-w // tw)

    def add(self, field: np.ndarray) -> np.ndarray:
        """The ``(K, 3)`` int32 list ``(row, column, pool index)`` of the field's nonzero
        tiles; new tiles join the pool."""
        c, h, w = self.shape
        (th, tw), (ny, nx) = self.tile, self._grid()
        padded = np.zeros((c, ny * th, nx * tw), dtype=field.dtype)
        padded[:, :h, :w] = field
        tiles = padded.reshape(c, ny, th, nx, tw).transpose(1, 3, 0, 2, 4)
        rows = []
        for r, col in np.argwhere(tiles.any(axis=(2, 3, 4))):
            t = np.ascontiguousarray(tiles[r, col])
            raw = t.tobytes()
            if raw not in self._index:
                self._index[raw] = len(self.tiles)
                self.tiles.append(t)
            rows.append((r, col, self._index[raw]))
        return np.asarray(rows, dtype=np.int32).reshape(-1, 3)

    def stacked(self, dtype: np.dtype) -> np.ndarray:
        c, (th, tw) = self.shape[0], self.tile
        if not self.tiles:
            return np.zeros((0, c, th, tw), dtype=dtype)
        return np.stack(self.tiles)

    def field(self, pool: np.ndarray, index: np.ndarray) -> np.ndarray:
        """The field ``(C, H, W)`` of a tile list, from the stacked pool ``(N, C, th, tw)``."""
        c, h, w = self.shape
        (th, tw), (ny, nx) = self.tile, self._grid()
        if index.ndim != 2 or index.shape[1] != 3:
            raise ValueError(f"tile list of shape {index.shape}, expected (K, 3)")
        r, col, p = index.T
        if (r < 0).any() or (r >= ny).any() or (col < 0).any() or (col >= nx).any():
            raise ValueError("tile position outside the field")
        if (p < 0).any() or (p >= len(pool)).any():
            raise ValueError("tile index outside the pool")
        tiles = np.zeros((ny, nx, c, th, tw), dtype=pool.dtype)
        tiles[r, col] = pool[p]
        return tiles.transpose(2, 0, 3, 1, 4).reshape(c, ny * th, nx * tw)[:, :h, :w].copy()
