"""What the commands share: reading JPEGs and images, writing PNGs, loading the decoder.

Every failure a user can cause becomes a :class:`~explorable_jpeg.errors.CliError`
(``error: …``, exit code 2).
"""

from __future__ import annotations

import argparse
import glob
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from explorable_jpeg.errors import CliError, CorruptJpegDataError
from explorable_jpeg.jpeg.code import JpegCode
from explorable_jpeg.jpeg.io import read_jpeg
from explorable_jpeg.jpeg.write import as_uint8_image

if TYPE_CHECKING:
    from explorable_jpeg.decoding.decoder import Decoder

logger = logging.getLogger("explorable_jpeg")


def ensure_writable(path: str) -> None:
    """Refuse an output path whose directory is missing or not writable (before any work)."""
    parent = Path(path).expanduser().resolve().parent
    if not parent.is_dir():
        raise CliError(f"cannot write {path}: directory {parent} does not exist")
    if not os.access(parent, os.W_OK) or (Path(path).exists() and not os.access(path, os.W_OK)):
        raise CliError(f"cannot write {path}: permission denied")


def make_dir(path: str | os.PathLike) -> Path:
    """Create an output directory (and its parents); refuse one that cannot be made."""
    out = Path(path)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CliError(f"cannot create output directory {out}: {exc.strerror}") from None
    return out


def save_png(image: np.ndarray, path: str) -> None:
    """Write ``image`` (uint8, ``(H, W)`` or ``(H, W, 3)``) as a PNG."""
    try:
        Image.fromarray(image).save(path, format="PNG")
    except OSError as exc:
        raise CliError(f"cannot write {path}: {exc}") from None


def load_image(path: str, keep_alpha: bool = False) -> np.ndarray:
    """An image file as uint8 ``(H, W)`` or ``(H, W, 3)``; with ``keep_alpha``, an image
    with transparency as ``(H, W, 4)`` (scribbles mark drawn pixels by alpha)."""
    try:
        with Image.open(path) as im:
            im.load()
            if keep_alpha and (im.mode in ("RGBA", "LA", "PA") or "transparency" in im.info):
                return np.asarray(im.convert("RGBA"))
            return as_uint8_image(im)
    except FileNotFoundError:
        raise CliError(f"no such file: {path}") from None
    except Image.DecompressionBombError as exc:
        raise CliError(f"image too large: {exc}") from None
    except (Image.UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise CliError(f"cannot read image {path}: {exc}") from None


def expand_inputs(pattern: str) -> list[Path]:
    """A file, a directory (its .jpg/.jpeg files) or a glob pattern → sorted JPEG paths."""
    p = Path(pattern)
    if p.is_dir():
        files = [f for f in p.iterdir() if f.suffix.lower() in (".jpg", ".jpeg", ".jfif")]
    elif any(ch in pattern for ch in "*?["):
        files = [Path(f) for f in glob.glob(pattern)]
    else:
        return [p]
    if not files:
        raise CliError(f"no JPEG files match {pattern}")
    return sorted(files)


def read_code(args: argparse.Namespace, path: str | os.PathLike) -> tuple[JpegCode, bool]:
    """Read a JPEG for a command; returns ``(code, corrupt)``.

    Corrupt entropy-coded data is refused unless ``--allow-corrupt`` is given; then the
    code is what libjpeg recovered and ``corrupt`` is True (outputs are verified)."""
    try:
        return read_jpeg(path), False
    except CorruptJpegDataError as exc:
        if not getattr(args, "allow_corrupt", False):
            raise CliError(
                str(exc).replace(
                    "pass allow_corrupt=True (CLI: --allow-corrupt)", "pass --allow-corrupt"
                )
            ) from None
        logger.warning("%s: corrupt data; decoding what libjpeg recovered (--allow-corrupt)", path)
        return read_jpeg(path, allow_corrupt=True), True


def verify_recovered(code: JpegCode, image: np.ndarray, src: str | os.PathLike) -> None:
    """For a file with corrupt data: refuse an output that does not pass ``check``.

    The coefficients libjpeg guesses for damaged data can be ones that no image
    reproduces; writing such an output would break the promise ``check`` makes."""
    from explorable_jpeg.consistency.check import check

    report = check(code, image)
    if not report.consistent_where_reachable:
        raise CliError(
            f"{src}: the coefficients libjpeg recovered from the corrupt data cannot all be "
            f"reproduced ({100 * report.identical_fraction:.3f}% identical after decoding); "
            "no output written"
        )


def load_decoder(args: argparse.Namespace) -> Decoder:
    """The decoder ``--model``/``--weights``/``--device`` ask for."""
    import torch

    from explorable_jpeg.decoding.decoder import Decoder

    if args.device == "cuda" and not torch.cuda.is_available():
        raise CliError("--device cuda asked for, but no CUDA device is available")
    return Decoder.from_pretrained(args.weights, variant=args.model, device=args.device)
