"""Writing real JPEG files with libjpeg (jpeglib): ``compress`` returns the file and its code."""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from explorable_jpeg.errors import InvalidImageError
from explorable_jpeg.jpeg.code import SUBSAMPLING_FACTORS, JpegCode
from explorable_jpeg.jpeg.io import capture_c_stderr, read_jpeg
from explorable_jpeg.jpeg.markers import max_pixels_limit
from explorable_jpeg.jpeg.tables import ijg_tables

logger = logging.getLogger(__name__)


def as_uint8_image(image: np.ndarray | Image.Image) -> np.ndarray:
    """Convert a PIL image or array to uint8 ``(H, W)`` (gray) or ``(H, W, 3)`` (RGB)."""
    if isinstance(image, Image.Image):
        if image.mode not in ("L", "RGB"):
            image = image.convert("RGB" if image.mode not in ("1", "I;16", "I", "F") else "L")
        image = np.asarray(image)
    arr = np.asarray(image)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] != 3):
        raise InvalidImageError(f"expected an (H, W) or (H, W, 3) image, got shape {arr.shape}")
    if arr.dtype != np.uint8:
        if np.issubdtype(arr.dtype, np.floating):
            if not np.all(np.isfinite(arr)):
                raise InvalidImageError("image contains NaN or infinite values")
            arr = np.clip(np.round(arr), 0, 255)
        elif arr.min() < 0 or arr.max() > 255:
            raise InvalidImageError("integer image values must lie in [0, 255]")
        arr = arr.astype(np.uint8)
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise InvalidImageError("image is empty")
    return np.ascontiguousarray(arr)


def _samp_array(factors: Sequence[tuple[int, int]]) -> np.ndarray:
    # jpeglib wants (n_components, 2) as (v, h)
    return np.array([[v, h] for h, v in factors], dtype=np.int32)


def encode_with_libjpeg(
    image: np.ndarray,
    tables: Sequence[np.ndarray] | None = None,
    factors: Sequence[tuple[int, int]] | None = None,
    quality: int | None = None,
    progressive: bool = False,
) -> bytes:
    """Encode a uint8 image with libjpeg (islow DCT, no smoothing) and return the file bytes.

    ``tables``: one (8, 8) table per component; ``factors``: (h, v) per component.
    """
    import jpeglib

    gray = image.ndim == 2
    spatial = image[..., None] if gray else image
    im = jpeglib.from_spatial(np.ascontiguousarray(spatial))
    if factors is not None and not gray:
        im.samp_factor = _samp_array(factors)
    with tempfile.TemporaryDirectory() as tmpdir:
        path = os.path.join(tmpdir, "out.jpg")
        flags = ["+progressive_mode"] if progressive else []
        kwargs: dict = {"dct_method": jpeglib.JDCT_ISLOW, "flags": flags}
        if tables is not None:
            qt = np.stack([np.asarray(t, dtype=np.uint16) for t in tables])
            if np.any(qt < 1):
                raise InvalidImageError("quantization table entries must be at least 1")
            kwargs["qt"] = qt
            kwargs["quant_tbl_no"] = np.arange(len(tables))
        elif quality is not None:
            kwargs["qt"] = int(quality)
        failed = False
        with capture_c_stderr() as warnings:
            try:
                im.write_spatial(path, **kwargs)
            except Exception:  # jpeglib's text names only the temporary file
                logger.debug("libjpeg failed", exc_info=True)
                failed = True
        if failed:
            reason = warnings[-1].strip() if warnings else "it gave no reason"
            raise InvalidImageError(f"libjpeg could not encode the image: {reason}")
        for w in warnings:
            logger.debug("libjpeg: %s", w)
        with open(path, "rb") as f:
            return f.read()


def compress(
    image: np.ndarray | Image.Image,
    quality: int | None = None,
    tables: Sequence[np.ndarray] | None = None,
    subsampling: str = "4:2:0",
    progressive: bool = False,
    path: str | os.PathLike | None = None,
    max_pixels: int | None = None,
) -> tuple[bytes, JpegCode]:
    """Compress an image into a real JPEG file with libjpeg and return ``(bytes, code)``.

    Args:
        image: uint8 ``(H, W)`` gray or ``(H, W, 3)`` RGB array, or a PIL image.
        quality: IJG quality 1–100 (libjpeg's table scaling). Exclusive with ``tables``.
        tables: explicit tables, one (8, 8) array per component (or one for gray; for colour
            a single table is used for all components, two for luma / chroma).
        subsampling: "4:4:4", "4:2:2", "4:2:0", "4:4:0" or "4:1:1" (colour only).
        progressive: write a progressive file (same coefficients).
        path: also write the file there.
    """
    arr = as_uint8_image(image)
    if arr.shape[0] * arr.shape[1] > max_pixels_limit(max_pixels):
        raise InvalidImageError(
            f"image of {arr.shape[1]}x{arr.shape[0]} pixels is above the pixel limit"
        )
    if (quality is None) == (tables is None):
        raise ValueError("give exactly one of quality= or tables=")
    if quality is not None and not 1 <= int(quality) <= 100:
        raise ValueError(f"quality must lie in 1..100, got {quality}")
    factors = None
    ncomp = 1 if arr.ndim == 2 else 3
    if quality is not None:
        luma, chroma = ijg_tables(int(quality))
        tables = [luma] if ncomp == 1 else [luma, chroma, chroma]
    if ncomp == 3:
        if subsampling not in SUBSAMPLING_FACTORS:
            raise ValueError(
                f"unknown subsampling {subsampling!r}; use one of {sorted(SUBSAMPLING_FACTORS)}"
            )
        factors = SUBSAMPLING_FACTORS[subsampling]
    if quality is None:
        assert tables is not None  # exactly one of quality, tables (checked above)
        tables = [np.asarray(t) for t in tables]
        if any(t.shape != (8, 8) for t in tables):
            raise ValueError("every table must have shape (8, 8)")
        if ncomp == 3 and len(tables) == 2:
            tables = [tables[0], tables[1], tables[1]]
        elif ncomp == 3 and len(tables) == 1:
            tables = tables * 3
        if len(tables) != ncomp:
            raise ValueError(f"expected {ncomp} tables, got {len(tables)}")
    data = encode_with_libjpeg(arr, tables, factors, progressive=progressive)
    if path is not None:
        try:
            Path(path).write_bytes(data)
        except OSError as exc:
            raise OSError(f"cannot write {path}: {exc.strerror}") from None
    return data, read_jpeg(data, max_pixels=max_pixels)
