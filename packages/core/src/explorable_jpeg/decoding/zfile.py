"""Saving and loading control signals z as safetensors, tied to the code they belong to."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import torch

from explorable_jpeg.errors import ZFileError
from explorable_jpeg.jpeg.code import JpegCode

__all__ = ["ZFileError", "code_fingerprint", "load_z", "save_z"]


def code_fingerprint(code: JpegCode) -> str:
    """SHA-256 over size, sampling, tables and coefficients: identifies the consistent set."""
    h = hashlib.sha256(f"{code.width}x{code.height}:{code.color_space}".encode())
    for c in code.components:
        h.update(f"{c.h_samp}{c.v_samp}".encode())
        h.update(np.ascontiguousarray(c.table, dtype=np.int32).tobytes())
        h.update(np.ascontiguousarray(c.coefficients, dtype=np.int16).tobytes())
    return h.hexdigest()


def save_z(path: str | os.PathLike, z: torch.Tensor, code: JpegCode) -> None:
    """Write ``z`` (``(64, by, bx)``) with the code's fingerprint in the metadata."""
    from safetensors.torch import save_file

    meta = {
        "fingerprint": code_fingerprint(code),
        "width": str(code.width),
        "height": str(code.height),
    }
    try:
        save_file({"z": z.detach().float().contiguous().cpu()}, str(path), metadata=meta)
    except OSError as exc:
        raise ZFileError(f"cannot write z file {path}: {exc.strerror}") from None


def load_z(path: str | os.PathLike, code: JpegCode, shape: tuple[int, ...]) -> torch.Tensor:
    """Read a z file written by :func:`save_z`; checks it belongs to ``code``, is a
    floating-point tensor of ``shape`` and is finite."""
    from safetensors import SafetensorError, safe_open

    if not Path(path).is_file():
        raise ZFileError(f"no such z file: {path}")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            if "z" not in set(f.keys()):
                raise ZFileError(f"{path} holds no tensor named 'z'")
            z = f.get_tensor("z")
    except (SafetensorError, OSError, ValueError) as exc:
        if isinstance(exc, ZFileError):
            raise
        raise ZFileError(f"corrupt z file {path}: {exc}") from None
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
