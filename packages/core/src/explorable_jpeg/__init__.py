"""Explorable JPEG: decode a JPEG file into any of the images it could have been.

Every output re-encodes, with the file's own tables and sampling, to the same file.

Example (a tiny JPEG made with Pillow; a path or a file object works the same):
    >>> import io
    >>> from PIL import Image
    >>> import explorable_jpeg as ej
    >>> buf = io.BytesIO()
    >>> Image.new("RGB", (40, 24), (30, 160, 220)).save(buf, "JPEG", quality=20)
    >>> code = ej.read_jpeg(buf.getvalue())
    >>> image = ej.decode_plain(code)
    >>> image.shape, ej.check(code, image).consistent
    ((24, 40, 3), True)
"""

from explorable_jpeg import _moved
from explorable_jpeg.consistency.check import CheckReport, ComponentReport, check
from explorable_jpeg.consistency.projection import project, project_image
from explorable_jpeg.decoding.plain import decode_plain
from explorable_jpeg.errors import (
    CorruptJpegError,
    ExplorableJpegError,
    ImageTooLargeError,
    InvalidImageError,
    NotAJpegError,
    TruncatedJpegError,
    UnsupportedJpegError,
)
from explorable_jpeg.explore import Explorer
from explorable_jpeg.jpeg.code import Component, JpegCode
from explorable_jpeg.jpeg.io import libjpeg_decode, read_header, read_jpeg
from explorable_jpeg.jpeg.markers import DEFAULT_MAX_PIXELS
from explorable_jpeg.jpeg.tables import ijg_tables
from explorable_jpeg.jpeg.write import compress
from explorable_jpeg.snap.pipeline import snap

_moved.install()

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "CheckReport",
    "Component",
    "ComponentReport",
    "CorruptJpegError",
    "ExplorableJpegError",
    "Explorer",
    "ImageTooLargeError",
    "InvalidImageError",
    "JpegCode",
    "NotAJpegError",
    "TruncatedJpegError",
    "UnsupportedJpegError",
    "check",
    "compress",
    "decode_plain",
    "ijg_tables",
    "libjpeg_decode",
    "project",
    "project_image",
    "read_header",
    "read_jpeg",
    "snap",
]
