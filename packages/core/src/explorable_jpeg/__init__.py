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

from __future__ import annotations

import sys
from types import ModuleType
from typing import TYPE_CHECKING, Any

from explorable_jpeg import _moved
from explorable_jpeg._lazy import lazy_names

if TYPE_CHECKING:
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

# Public name -> the module that defines it. Loaded on first access (PEP 562), so that reading
# or refusing a file (``read_jpeg``, ``read_header``) does not import torch.
_LAZY: dict[str, str] = {
    "CheckReport": "explorable_jpeg.consistency.check",
    "ComponentReport": "explorable_jpeg.consistency.check",
    "check": "explorable_jpeg.consistency.check",
    "project": "explorable_jpeg.consistency.projection",
    "project_image": "explorable_jpeg.consistency.projection",
    "decode_plain": "explorable_jpeg.decoding.plain",
    "CorruptJpegError": "explorable_jpeg.errors",
    "ExplorableJpegError": "explorable_jpeg.errors",
    "ImageTooLargeError": "explorable_jpeg.errors",
    "InvalidImageError": "explorable_jpeg.errors",
    "NotAJpegError": "explorable_jpeg.errors",
    "TruncatedJpegError": "explorable_jpeg.errors",
    "UnsupportedJpegError": "explorable_jpeg.errors",
    "Explorer": "explorable_jpeg.explore",
    "Component": "explorable_jpeg.jpeg.code",
    "JpegCode": "explorable_jpeg.jpeg.code",
    "libjpeg_decode": "explorable_jpeg.jpeg.io",
    "read_header": "explorable_jpeg.jpeg.io",
    "read_jpeg": "explorable_jpeg.jpeg.io",
    "DEFAULT_MAX_PIXELS": "explorable_jpeg.jpeg.markers",
    "ijg_tables": "explorable_jpeg.jpeg.tables",
    "compress": "explorable_jpeg.jpeg.write",
    "snap": "explorable_jpeg.snap.pipeline",
}


__getattr__, __dir__ = lazy_names(globals(), _LAZY)


class _Package(ModuleType):
    """Keeps a public name that is also a subpackage (``snap``) meaning the public function.

    Importing ``explorable_jpeg.snap`` binds the subpackage on this module; that binding is
    skipped so the name still resolves, through :func:`__getattr__`, to
    :func:`explorable_jpeg.snap.pipeline.snap` (the subpackage stays in ``sys.modules``).
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if (
            name in _LAZY
            and isinstance(value, ModuleType)
            and value.__name__ == f"{__name__}.{name}"
        ):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


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
