"""Reading JPEG codes from real files through libjpeg (jpeglib).

``read_jpeg`` takes the quantized coefficients and tables straight from the bitstream and
refuses what is not a valid file (:mod:`explorable_jpeg.errors`); ``libjpeg_decode`` is
libjpeg's own decoding. Writing files is in :mod:`.write`.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
import tempfile
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image

from explorable_jpeg.errors import (
    CorruptJpegDataError,
    CorruptJpegError,
    TruncatedJpegError,
)
from explorable_jpeg.jpeg.code import Component, JpegCode
from explorable_jpeg.jpeg.markers import JpegHeader, check_file_size, parse_header

logger = logging.getLogger(__name__)

Source = str | os.PathLike | bytes | bytearray | BinaryIO


_STDERR_LOCK = threading.RLock()
"""Held while file descriptor 2 is redirected: the descriptor belongs to the whole process,
so two threads reading files at once (two users of the app) would otherwise swap their
messages, or leave descriptor 2 pointing at the other's closed capture."""


@contextlib.contextmanager
def capture_c_stderr() -> Iterator[list[str]]:
    """Capture what libjpeg writes to file descriptor 2 (its warnings) into a list of lines.

    jpeglib offers no message callback, so descriptor 2 itself is redirected to a temporary
    file for the duration; one capture runs at a time (:data:`_STDERR_LOCK`), other threads
    wait. What another thread writes to descriptor 2 meanwhile (a log line) lands in the
    capture too: the captures are kept to the libjpeg calls themselves."""
    with _STDERR_LOCK, _redirect_fd2() as lines:
        yield lines


@contextlib.contextmanager
def _redirect_fd2() -> Iterator[list[str]]:
    """Redirect descriptor 2 to a temporary file; the lines written there, once each."""
    lines: list[str] = []
    try:
        fd = os.dup(2)
    except OSError:  # no real stderr (some embedded interpreters)
        yield lines
        return
    with tempfile.TemporaryFile() as tmp:
        with contextlib.suppress(AttributeError, OSError, ValueError):
            sys.stderr.flush()  # Python's pending text (a progress bar) is not libjpeg's
        os.dup2(tmp.fileno(), 2)
        try:
            yield lines
        finally:
            os.dup2(fd, 2)
            os.close(fd)
            tmp.seek(0)
            # jpeglib reads a file twice (header, then coefficients): each message once
            text = tmp.read().decode("utf-8", "replace").splitlines()
            lines.extend(dict.fromkeys(x.strip() for x in text if x.strip()))


def _read_bytes(source: Source, max_file_bytes: int | None = None) -> bytes:
    """The bytes of ``source``; a file above the file-size limit is refused before reading."""
    if isinstance(source, bytes | bytearray):
        return bytes(source)
    if hasattr(source, "read"):
        return source.read()
    try:
        size = Path(source).stat().st_size
        if Path(source).is_file():
            check_file_size(size, max_file_bytes)
        return Path(source).read_bytes()
    except FileNotFoundError:
        raise FileNotFoundError(f"no such file: {source}") from None
    except IsADirectoryError:
        raise IsADirectoryError(f"is a directory, not a JPEG file: {source}") from None


# libjpeg warnings that mean the entropy-coded data is damaged: the coefficients libjpeg
# returns are partly guessed (missing blocks are zero, misaligned Huffman codes decode to
# arbitrary values). Other warnings (unknown JFIF revision, Adobe transform, bad ICC
# marker) do not touch the coefficients and are only logged.
_CORRUPT_DATA_WARNINGS = (
    "Corrupt JPEG data",
    "Inconsistent progression sequence",
    "Invalid SOS parameters",
)
_HARMLESS_WARNINGS = ("bad ICC marker",)


def is_corrupt_data_warning(message: str) -> bool:
    """True for libjpeg warnings that mean the entropy-coded data is damaged."""
    return any(w in message for w in _CORRUPT_DATA_WARNINGS) and not any(
        h in message for h in _HARMLESS_WARNINGS
    )


def _libjpeg_failure(messages: Sequence[str]) -> CorruptJpegError | TruncatedJpegError:
    """The error for a file libjpeg refused, named by libjpeg's own (last) message.

    jpeglib's exception text only names the temporary file it was given, so it is never
    shown; libjpeg prints its reason on stderr, captured by :func:`capture_c_stderr`."""
    reason = messages[-1].strip() if messages else ""
    if not reason:
        return CorruptJpegError("libjpeg could not read the file (it gave no reason)")
    if "Premature end" in reason:
        return TruncatedJpegError(f"truncated JPEG file (libjpeg: {reason})")
    return CorruptJpegError(f"libjpeg could not read the file: {reason}")


COEFFICIENT_BOUND = 1280
"""No 8-bit block has a DCT coefficient beyond ±1024 (|F(u, v)| ≤ ¼·128·(8/√2)² for the
level-shifted samples), so ``|coefficient · step| − step / 2`` is at most 1024 for any
encoder that rounds; 1280 leaves room for encoders that extrapolate saturated samples
(mozjpeg's overshoot deringing reaches 255 + 31, i.e. at most 1264)."""


SAMPLE_MARGIN = 32.0
"""How far beyond [0, 255] a block's samples must provably lie before the block counts as
damaged data (:func:`_refuse_impossible_blocks`). Encoders other than libjpeg round
differently and may extrapolate saturated samples (mozjpeg's overshoot deringing reaches
255 + 31), so a block needing samples just outside [0, 255] can be a sound file; one that
needs samples outside [−32, 287] whatever the image comes from no encoder."""


def _refuse_impossible_coefficients(components: Sequence[Component]) -> None:
    """Raise :class:`CorruptJpegDataError` for a coefficient no 8-bit image can produce.

    libjpeg decodes damaged Huffman data silently when the damage happens to form valid
    codes; what comes out are coefficients far beyond what any image has, which no
    decoding can reproduce. Their presence is proof of damage."""
    for i, comp in enumerate(components):
        mag = np.abs(comp.coefficients.astype(np.int32)) * comp.table
        excess = mag - comp.table / 2
        if excess.max() > COEFFICIENT_BOUND:
            by, bx, u, v = np.unravel_index(int(np.argmax(excess)), excess.shape)
            raise CorruptJpegDataError(
                f"corrupt JPEG data: component {i}, block ({by}, {bx}), coefficient ({u}, {v}) "
                f"is {int(comp.coefficients[by, bx, u, v])} x step {int(comp.table[u, v])} = "
                f"{int(mag[by, bx, u, v])}, beyond what any 8-bit image gives (at most "
                f"{COEFFICIENT_BOUND}). To decode it anyway, pass allow_corrupt=True "
                "(CLI: --allow-corrupt)"
            )


def read_header(
    source: Source, max_pixels: int | None = None, max_file_bytes: int | None = None
) -> JpegHeader:
    """Validate a JPEG and return its parsed header (no coefficient is decoded)."""
    return parse_header(_read_bytes(source, max_file_bytes), max_pixels, max_file_bytes)


def read_jpeg(
    source: Source,
    max_pixels: int | None = None,
    *,
    allow_corrupt: bool = False,
    max_file_bytes: int | None = None,
) -> JpegCode:
    """Read the JPEG code (coefficients, tables, sampling) of a file, bytes or file object.

    Baseline, extended and progressive Huffman-coded 8-bit JPEGs, grayscale or YCbCr, any
    sampling factors and tables, restart markers. The EXIF orientation is reported in
    ``code.orientation`` and not applied.

    Args:
        source: a path, the file's bytes or a binary file object.
        max_pixels: pixel limit (default ``$EXPLORABLE_JPEG_MAX_PIXELS`` or 100 MP).
        allow_corrupt: when the entropy-coded data is damaged (libjpeg warns "Corrupt JPEG
            data: …", or a coefficient lies beyond what any 8-bit image gives, see
            :data:`COEFFICIENT_BOUND`), return the coefficients libjpeg recovered instead
            of raising :class:`CorruptJpegDataError`. Reading is deterministic, so
            :func:`explorable_jpeg.check` compares a decoding with these same coefficients;
            damaged blocks may be impossible to reproduce (the CLI then writes no output).
        max_file_bytes: file-size limit (default ``$EXPLORABLE_JPEG_MAX_FILE_BYTES`` or
            256 MiB).

    Raises:
        NotAJpegError, TruncatedJpegError, CorruptJpegError, CorruptJpegDataError,
        UnsupportedJpegError, ImageTooLargeError: see :mod:`explorable_jpeg.errors`; every
        message names the reason (libjpeg's own message when libjpeg refused the file).
        FileNotFoundError: the path does not exist.

    Example (a 64×40 gray JPEG made with Pillow; a path works the same):
        >>> import io
        >>> from PIL import Image
        >>> buf = io.BytesIO()
        >>> Image.new("L", (64, 40), 90).save(buf, "JPEG", quality=50)
        >>> code = read_jpeg(buf.getvalue())
        >>> code.width, code.height, code.components[0].coefficients.shape
        (64, 40, (5, 8, 8, 8))
    """
    import jpeglib  # lazy: the networks and transforms work without it (e.g. on a GPU box)

    data = _read_bytes(source, max_file_bytes)
    header = parse_header(data, max_pixels, max_file_bytes)
    failed = False
    with tempfile.TemporaryDirectory() as tmpdir:
        path = os.path.join(tmpdir, "in.jpg")
        with open(path, "wb") as f:
            f.write(data)
        with capture_c_stderr() as messages:
            try:
                jpeg = jpeglib.read_dct(path)
                jpeg.load()
                planes = [jpeg.Y] + ([jpeg.Cb, jpeg.Cr] if len(header.components) == 3 else [])
                qt = np.asarray(jpeg.qt)
                tbl_no = list(jpeg.quant_tbl_no)
            except Exception:  # libjpeg errors surface as generic exceptions naming tmpdir
                logger.debug("libjpeg failed", exc_info=True)
                failed = True
    if failed:
        raise _libjpeg_failure(messages) from None
    corrupt = [w.strip() for w in messages if is_corrupt_data_warning(w)]
    for w in messages:
        if "Premature end" in w and not is_corrupt_data_warning(w):
            raise TruncatedJpegError(f"truncated JPEG file (libjpeg: {w.strip()})")
    if corrupt and not allow_corrupt:
        more = f"; {len(corrupt) - 1} more such warnings" if len(corrupt) > 1 else ""
        raise CorruptJpegDataError(
            f"corrupt JPEG data (libjpeg: {corrupt[0]}{more}); the coefficients would be "
            "partly guessed. To decode what libjpeg recovered, pass allow_corrupt=True "
            "(CLI: --allow-corrupt)"
        )
    for w in messages:  # corrupt-data warnings the caller accepted: not repeated as warnings
        logger.log(logging.INFO if w in corrupt else logging.WARNING, "libjpeg: %s", w)
    components = []
    for plane, fc, t in zip(planes, header.components, tbl_no, strict=True):
        table = np.ascontiguousarray(qt[t], dtype=np.int32)
        if table.min() < 1:
            raise CorruptJpegError(
                f"quantization table {t} has an entry of 0; every entry of a JPEG "
                "quantization table must be at least 1"
            )
        components.append(
            Component(
                coefficients=np.ascontiguousarray(plane, dtype=np.int16),
                table=table,
                h_samp=fc.h_samp,
                v_samp=fc.v_samp,
            )
        )
    if not allow_corrupt:
        _refuse_impossible_coefficients(components)
    code = JpegCode(
        components=tuple(components),
        height=header.height,
        width=header.width,
        color_space="ycbcr" if len(components) == 3 else "gray",
        progressive=header.progressive,
        orientation=header.orientation,
        restart_interval=header.restart_interval,
    )
    for i, c in enumerate(code.components):
        expected = tuple(-(-s // 8) for s in code.component_size(i))
        if c.blocks != expected:
            raise CorruptJpegError(
                f"component {i} has {c.blocks} blocks, expected {expected} from the header"
            )
    if not allow_corrupt:
        _refuse_impossible_blocks(code)
    return code


def _refuse_impossible_blocks(code: JpegCode) -> None:
    """Raise :class:`CorruptJpegDataError` for a block whose coefficients need samples
    outside ``[−SAMPLE_MARGIN, 255 + SAMPLE_MARGIN]`` whatever the image.

    Damaged Huffman data can decode silently into coefficients of ordinary size that no
    image has: a flipped bit inside a restart interval changes a DC difference, and every
    later block of the interval inherits the offset (e.g. a block whose samples would have
    to reach −68). The proof is the separating-plane test of
    :func:`explorable_jpeg.consistency.reachability.impossible_blocks`; no decoding can
    reproduce such a block, and the blocks sharing its pixels then often fail too."""
    from explorable_jpeg.consistency.reachability import impossible_blocks  # (import cycle)

    for i, flags in enumerate(impossible_blocks(code, SAMPLE_MARGIN)):
        if flags.any():
            by, bx = (int(x) for x in np.argwhere(flags)[0])
            lo, hi = int(-SAMPLE_MARGIN), int(255 + SAMPLE_MARGIN)
            raise CorruptJpegDataError(
                f"corrupt JPEG data: {int(flags.sum())} block(s) of component {i}, the first "
                f"at block ({by}, {bx}), need a sample outside {lo}..{hi}, which no 8-bit image "
                "gives (damaged entropy-coded data that libjpeg decoded without a warning). "
                "To decode it anyway, pass allow_corrupt=True (CLI: --allow-corrupt)"
            )


def libjpeg_decode(source: Source) -> np.ndarray:
    """libjpeg's own decoding (Pillow/libjpeg-turbo, fancy up-sampling), as uint8 array.

    Gray files give ``(H, W)``, colour files ``(H, W, 3)``. The EXIF orientation is not applied.
    """
    data = _read_bytes(source)
    with Image.open(io.BytesIO(data)) as im:
        im.load()
        return np.asarray(im.convert("L") if im.mode == "L" else im.convert("RGB"))


def __getattr__(name: str) -> object:
    """The writers moved to :mod:`.write`: old imports from here warn and keep working."""
    from explorable_jpeg._moved import forward

    return forward(__name__, ("explorable_jpeg.jpeg.write",), name)
