"""The file a visitor gives: a JPEG read as it is, or any other image compressed here.

The app has its own pixel limit (:data:`MAX_PIXELS_ENV`), named in its refusals.
"""

from __future__ import annotations

import io
import os
import re

from PIL import Image

import explorable_jpeg as ej
from explorable_jpeg.errors import ImageTooLargeError, InvalidImageError
from explorable_jpeg.jpeg.code import JpegCode

DEFAULT_MAX_PIXELS = 6_000_000  # the app's own pixel limit (CPU decoding time grows with it)
MAX_PIXELS_ENV = "EXPLORABLE_JPEG_APP_MAX_PIXELS"
JPEG_SUFFIXES = (".jpg", ".jpeg", ".jpe", ".jfif")


def app_max_pixels() -> int:
    value = os.environ.get(MAX_PIXELS_ENV, "").strip()
    try:
        return int(value) if value else DEFAULT_MAX_PIXELS
    except ValueError:
        return DEFAULT_MAX_PIXELS


def too_large(name: str, dims: tuple[int, int] | None, limit: int) -> ImageTooLargeError:
    """The app's refusal of a large image, naming the app's own setting."""
    size = f" is {dims[0]}x{dims[1]} = {dims[0] * dims[1] / 1e6:.1f} megapixels;" if dims else ""
    return ImageTooLargeError(
        f"{name}{size} this app accepts images up to {limit / 1e6:.1f} megapixels "
        f"(the server's {MAX_PIXELS_ENV} setting). Use a smaller image"
    )


def is_jpeg_bytes(data: bytes) -> bool:
    return data[:3] == b"\xff\xd8\xff"


def load_source(
    data: bytes, name: str, quality: int, subsampling: str, max_pixels: int | None = None
) -> tuple[bytes, JpegCode, str]:
    """Bytes of an upload → ``(jpeg bytes, code, note)``.

    A JPEG is read as it is (its own coefficients and tables). Any other image Pillow can
    open is compressed at ``quality`` / ``subsampling`` with libjpeg.
    """
    limit = app_max_pixels() if max_pixels is None else max_pixels
    if not data:
        raise InvalidImageError(f"{name} is empty")
    if is_jpeg_bytes(data) or name.lower().endswith(JPEG_SUFFIXES):
        try:
            code = ej.read_jpeg(data, max_pixels=limit)
        except ImageTooLargeError as exc:
            size = re.search(r"(\d+) ?x ?(\d+)", str(exc))
            dims = (int(size[1]), int(size[2])) if size else None
            raise too_large(name, dims, limit) from None
        return data, code, f"read {name} as it is ({describe_code(code)})"
    with Image.open(io.BytesIO(data)) as im:
        if im.width * im.height > limit:
            raise too_large(name, (im.width, im.height), limit)
        im.load()
        if im.mode in ("RGBA", "LA", "P", "PA"):
            im = im.convert("RGBA")
            flat = Image.new("RGB", im.size, (255, 255, 255))
            flat.paste(im, mask=im.getchannel("A"))
            im = flat
        arr = ej.jpeg.write.as_uint8_image(im)
    jpeg, code = ej.compress(arr, quality=int(quality), subsampling=subsampling, max_pixels=limit)
    note = f"compressed {name} at quality {int(quality)}, {subsampling} ({describe_code(code)})"
    return jpeg, code, note


def describe_code(code: JpegCode) -> str:
    if code.is_color:
        f = code.factors(1)
        samp = {(1, 1): "4:4:4", (2, 1): "4:2:2", (2, 2): "4:2:0", (1, 2): "4:4:0"}.get(
            f, f"chroma box {f[1]}x{f[0]}"
        )
        kind = f"colour {samp}"
    else:
        kind = "grayscale"
    prog = ", progressive" if code.progressive else ""
    return f"{code.width}x{code.height}, {kind}{prog}"
