"""Explorable JPEG: decode a JPEG file into any of the images it could have been.

Every output re-encodes, with the file's own tables and sampling, to the same file.

Example:
    >>> import explorable_jpeg as ej
    >>> code = ej.read_jpeg("photo.jpg")  # doctest: +SKIP
    >>> image = ej.decode_plain(code)  # doctest: +SKIP
    >>> ej.check(code, image).consistent  # doctest: +SKIP
    True
"""

from .check import CheckReport, ComponentReport, check
from .code import Component, JpegCode
from .consistency import project, project_image
from .errors import (
    CorruptJpegError,
    ExplorableJpegError,
    ImageTooLargeError,
    InvalidImageError,
    NotAJpegError,
    TruncatedJpegError,
    UnsupportedJpegError,
)
from .explorer import Explorer
from .jpeg_io import compress, libjpeg_decode, read_header, read_jpeg
from .markers import DEFAULT_MAX_PIXELS
from .plain import decode_plain
from .snap import snap
from .tables import ijg_tables

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
