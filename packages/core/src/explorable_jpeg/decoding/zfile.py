"""Saving and loading control signals z as safetensors, tied to the code they belong to.

A z file holds one ``uint8`` tensor ``z.zlib``: the float32 z ``(64, by, bx)``
zlib-compressed, its bytes either as they are (``codec`` ``zlib``: a z that is zero where no
edit ran compresses well) or split into the four byte planes of the floats first (``codec``
``zlib-bytes4``: a dense random z, whose sign/exponent bytes repeat) — whichever is smaller;
the metadata hold the codec, z's shape, the code's fingerprint and size. What is read back is
bit-identical to what was written. Older z files (one float tensor ``z``) are read too.
"""

from __future__ import annotations

import hashlib
import os
import zlib
from pathlib import Path

import numpy as np
import torch

from explorable_jpeg.errors import ZFileError
from explorable_jpeg.jpeg.code import JpegCode

__all__ = [
    "ZFileError",
    "code_fingerprint",
    "load_z",
    "pack_z",
    "read_z_tensors",
    "save_z",
    "unpack_z",
]

Z_TENSOR = "z.zlib"
ZLIB_LEVEL = 6
CODECS = ("zlib", "zlib-bytes4")


def code_fingerprint(code: JpegCode) -> str:
    """SHA-256 over size, sampling, tables and coefficients: identifies the consistent set."""
    h = hashlib.sha256(f"{code.width}x{code.height}:{code.color_space}".encode())
    for c in code.components:
        h.update(f"{c.h_samp}{c.v_samp}".encode())
        h.update(np.ascontiguousarray(c.table, dtype=np.int32).tobytes())
        h.update(np.ascontiguousarray(c.coefficients, dtype=np.int16).tobytes())
    return h.hexdigest()


def pack_z(z: torch.Tensor) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """``z`` as float32, compressed: ``({"z.zlib": uint8 tensor}, {"codec", "shape"})``
    (the smaller of the two codecs in the module docstring)."""
    a = np.ascontiguousarray(z.detach().to("cpu", torch.float32).numpy())
    planes = a.reshape(-1).view(np.uint8).reshape(-1, 4).T
    packed = {
        "zlib": zlib.compress(a.tobytes(), ZLIB_LEVEL),
        "zlib-bytes4": zlib.compress(np.ascontiguousarray(planes).tobytes(), ZLIB_LEVEL),
    }
    codec = min(CODECS, key=lambda c: len(packed[c]))
    data = torch.frombuffer(bytearray(packed[codec]), dtype=torch.uint8).clone()
    return {Z_TENSOR: data}, {"codec": codec, "shape": ",".join(str(n) for n in a.shape)}


def unpack_z(data: torch.Tensor, meta: dict[str, str]) -> torch.Tensor:
    """The float32 z :func:`pack_z` compressed; ``ValueError`` when ``data`` does not
    decompress to the recorded codec and shape (a corrupt file)."""
    codec = meta.get("codec")
    if codec not in CODECS:
        raise ValueError(f"unknown z codec {codec!r}")
    shape = tuple(int(n) for n in str(meta.get("shape", "")).split(","))
    try:
        raw = zlib.decompress(data.numpy().tobytes())
    except zlib.error as exc:
        raise ValueError(f"z does not decompress ({exc})") from None
    count = int(np.prod(shape, dtype=np.int64))
    if len(raw) != 4 * count:
        raise ValueError(f"z holds {len(raw)} bytes, not a float32 {shape} array")
    flat = np.frombuffer(raw, dtype=np.uint8)
    if codec == "zlib-bytes4":
        flat = np.ascontiguousarray(flat.reshape(4, count).T)
    return torch.from_numpy(flat.view(np.float32).reshape(shape).copy())


def save_z(path: str | os.PathLike, z: torch.Tensor, code: JpegCode) -> None:
    """Write ``z`` (``(64, by, bx)``), compressed (:func:`pack_z`), with the code's
    fingerprint in the metadata."""
    from safetensors.torch import save_file

    tensors, packed = pack_z(z)
    meta = {
        "fingerprint": code_fingerprint(code),
        "width": str(code.width),
        "height": str(code.height),
        **packed,
    }
    try:
        save_file(tensors, str(path), metadata=meta)
    except OSError as exc:
        raise ZFileError(f"cannot write z file {path}: {exc.strerror}") from None


def read_z_tensors(tensors: dict[str, torch.Tensor], meta: dict[str, str]) -> torch.Tensor | None:
    """z from the tensors and metadata of a z file (either layout); None when they are not
    a z file's. ``ValueError`` for a corrupt compressed z."""
    if Z_TENSOR in tensors:
        return unpack_z(tensors[Z_TENSOR], meta)
    if "z" in tensors:  # a z file written before z was compressed
        return tensors["z"]
    return None


def load_z(path: str | os.PathLike, code: JpegCode, shape: tuple[int, ...]) -> torch.Tensor:
    """Read a z file written by :func:`save_z`; checks it belongs to ``code``, is a
    floating-point tensor of ``shape`` and is finite."""
    from safetensors import SafetensorError, safe_open

    if not Path(path).is_file():
        raise ZFileError(f"no such z file: {path}")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118
        found = read_z_tensors(tensors, meta)
    except (SafetensorError, OSError, ValueError) as exc:
        raise ZFileError(f"corrupt z file {path}: {exc}") from None
    if found is None:
        raise ZFileError(f"{path} holds no tensor named 'z'")
    z = found
    if not z.dtype.is_floating_point:  # an int/bool tensor is not a z: never convert silently
        raise ZFileError(
            f"z in {path} has dtype {str(z.dtype).removeprefix('torch.')}, expected a "
            "floating-point tensor (float32, float16 or bfloat16)"
        )
    z = z.float()
    if meta.get("fingerprint") not in (None, code_fingerprint(code)):
        raise ZFileError(f"z file {path} belongs to another JPEG (fingerprint mismatch)")
    if tuple(z.shape) != tuple(shape):
        raise ZFileError(f"z in {path} has shape {tuple(z.shape)}, expected {tuple(shape)}")
    if not torch.isfinite(z).all():
        raise ZFileError(f"z in {path} contains NaN or infinite values")
    return z.clamp(-1, 1)
