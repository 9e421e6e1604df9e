"""A small JPEG marker-segment parser used to validate files before libjpeg touches them.

libjpeg allocates full coefficient arrays from the frame header and only warns on
truncated data, so the header is checked here first: the coding process (baseline,
extended, progressive; not arithmetic, lossless or hierarchical), the sample precision,
the number of components and Adobe colour transform, the image size against a pixel
limit, the restart interval, the EXIF orientation, and whether the entropy-coded data
reaches an EOI marker.
"""

from __future__ import annotations

import dataclasses
import os
import struct

from .errors import (
    CorruptJpegError,
    ImageTooLargeError,
    NotAJpegError,
    TruncatedJpegError,
    UnsupportedJpegError,
)

DEFAULT_MAX_PIXELS = 100_000_000
"""Default pixel limit (width × height); override with ``max_pixels=`` or the
``EXPLORABLE_JPEG_MAX_PIXELS`` environment variable."""

_SOF_NAMES = {
    0xC0: "baseline",
    0xC1: "extended sequential",
    0xC2: "progressive",
    0xC3: "lossless",
    0xC5: "differential sequential (hierarchical)",
    0xC6: "differential progressive (hierarchical)",
    0xC7: "differential lossless (hierarchical)",
    0xC9: "arithmetic-coded extended sequential",
    0xCA: "arithmetic-coded progressive",
    0xCB: "arithmetic-coded lossless",
    0xCD: "arithmetic-coded differential sequential",
    0xCE: "arithmetic-coded differential progressive",
    0xCF: "arithmetic-coded differential lossless",
}
_SUPPORTED_SOF = (0xC0, 0xC1, 0xC2)


@dataclasses.dataclass
class FrameComponent:
    ident: int
    h_samp: int
    v_samp: int
    table_index: int


@dataclasses.dataclass
class JpegHeader:
    """What the marker segments say about a JPEG file."""

    sof_marker: int
    precision: int
    height: int
    width: int
    components: list[FrameComponent]
    adobe_transform: int | None = None
    orientation: int = 1
    restart_interval: int = 0
    has_eoi: bool = False

    @property
    def progressive(self) -> bool:
        return self.sof_marker in (0xC2, 0xCA, 0xCE)

    @property
    def coding(self) -> str:
        return _SOF_NAMES.get(self.sof_marker, f"SOF 0x{self.sof_marker:02X}")


def max_pixels_limit(max_pixels: int | None = None) -> int:
    """The effective pixel limit: argument, else $EXPLORABLE_JPEG_MAX_PIXELS, else default."""
    if max_pixels is not None:
        return int(max_pixels)
    env = os.environ.get("EXPLORABLE_JPEG_MAX_PIXELS")
    return int(env) if env else DEFAULT_MAX_PIXELS


def _exif_orientation(payload: bytes) -> int | None:
    """Orientation tag (0x0112) of IFD0 of an APP1 'Exif' payload, or None."""
    if not payload.startswith(b"Exif\x00\x00") or len(payload) < 14:
        return None
    tiff = payload[6:]
    order = tiff[:2]
    if order == b"II":
        e = "<"
    elif order == b"MM":
        e = ">"
    else:
        return None
    try:
        (ifd,) = struct.unpack(e + "I", tiff[4:8])
        (count,) = struct.unpack(e + "H", tiff[ifd : ifd + 2])
        for i in range(count):
            off = ifd + 2 + 12 * i
            tag, typ, _n = struct.unpack(e + "HHI", tiff[off : off + 8])
            if tag == 0x0112 and typ == 3:
                (val,) = struct.unpack(e + "H", tiff[off + 8 : off + 10])
                return int(val) if 1 <= val <= 8 else None
    except struct.error:
        return None
    return None


def _skip_entropy_data(data: bytes, pos: int) -> int:
    """Return the index of the next marker (0xFF followed by a non-zero, non-RST byte)."""
    n = len(data)
    while True:
        pos = data.find(b"\xff", pos)
        if pos < 0 or pos + 1 >= n:
            return n
        nxt = data[pos + 1]
        if nxt == 0x00 or 0xD0 <= nxt <= 0xD7 or nxt == 0xFF:
            pos += 1 if nxt == 0xFF else 2
            continue
        return pos


def parse_header(data: bytes, max_pixels: int | None = None) -> JpegHeader:
    """Parse and validate the marker segments of ``data``.

    Raises:
        NotAJpegError: no SOI marker at the start.
        TruncatedJpegError: the data ends inside a segment or before EOI.
        CorruptJpegError: malformed segments (no frame header, zero size…).
        UnsupportedJpegError: arithmetic, lossless, hierarchical, precision ≠ 8, CMYK/YCCK,
            RGB-coded or other component counts.
        ImageTooLargeError: width × height above the pixel limit.
    """
    if len(data) < 2 or data[:2] != b"\xff\xd8":
        raise NotAJpegError("not a JPEG file (no SOI marker at the start)")
    pos, n = 2, len(data)
    header: JpegHeader | None = None
    adobe: int | None = None
    orientation = 1
    restart = 0
    seen_sos = False
    while True:
        # find the next marker
        while pos < n and data[pos] != 0xFF:
            pos += 1  # tolerate garbage between segments, as libjpeg does (with a warning)
        while pos < n and data[pos] == 0xFF:
            pos += 1
        if pos >= n:
            break
        marker = data[pos]
        pos += 1
        if marker == 0xD9:  # EOI
            if header is None:
                raise CorruptJpegError("JPEG file has no frame header (SOF) before EOI")
            header.has_eoi = True
            break
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:
            continue
        if pos + 2 > n:
            break
        (length,) = struct.unpack(">H", data[pos : pos + 2])
        if length < 2:
            raise CorruptJpegError(f"bad length {length} in marker segment 0x{marker:02X}")
        seg = data[pos + 2 : pos + length]
        if len(seg) < length - 2:
            raise TruncatedJpegError(
                f"truncated JPEG file (ends inside marker segment 0x{marker:02X})"
            )
        pos += length
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            if header is not None:
                continue
            if marker not in _SUPPORTED_SOF:
                name = _SOF_NAMES.get(marker, f"SOF 0x{marker:02X}")
                raise UnsupportedJpegError(f"unsupported JPEG coding: {name}")
            if len(seg) < 6:
                raise CorruptJpegError("frame header (SOF) is too short")
            precision, height, width, ncomp = struct.unpack(">BHHB", seg[:6])
            if precision != 8:
                raise UnsupportedJpegError(
                    f"unsupported sample precision: {precision}-bit (only 8-bit JPEGs)"
                )
            if len(seg) < 6 + 3 * ncomp:
                raise CorruptJpegError("frame header (SOF) is too short for its components")
            comps = []
            for i in range(ncomp):
                ident, hv, tq = seg[6 + 3 * i : 9 + 3 * i]
                h, v = hv >> 4, hv & 15
                if not (1 <= h <= 4 and 1 <= v <= 4):
                    raise CorruptJpegError(f"bad sampling factors {h}x{v} in frame header")
                comps.append(FrameComponent(ident, h, v, tq))
            header = JpegHeader(marker, precision, height, width, comps)
        elif marker == 0xDD and len(seg) >= 2:
            (restart,) = struct.unpack(">H", seg[:2])
        elif marker == 0xEE and seg.startswith(b"Adobe") and len(seg) >= 12:
            adobe = seg[11]
        elif marker == 0xE1:
            o = _exif_orientation(seg)
            if o is not None:
                orientation = o
        elif marker == 0xDA:
            if header is None:
                raise CorruptJpegError("scan (SOS) before the frame header (SOF)")
            seen_sos = True
            pos = _skip_entropy_data(data, pos)
    if header is None:
        if seen_sos:
            raise CorruptJpegError("JPEG file has no frame header (SOF)")
        raise TruncatedJpegError("truncated JPEG file (no frame header found)")
    header.adobe_transform = adobe
    header.orientation = orientation
    header.restart_interval = restart
    _validate(header, max_pixels, seen_sos)
    return header


def _validate(header: JpegHeader, max_pixels: int | None, seen_sos: bool) -> None:
    ncomp = len(header.components)
    if ncomp == 4:
        kind = "YCCK" if header.adobe_transform == 2 else "CMYK"
        raise UnsupportedJpegError(f"unsupported colour space: {kind} (4 components)")
    if ncomp not in (1, 3):
        raise UnsupportedJpegError(f"unsupported number of components: {ncomp}")
    if ncomp == 3:
        ids = bytes(c.ident for c in header.components)
        if header.adobe_transform == 0 or (header.adobe_transform is None and ids == b"RGB"):
            raise UnsupportedJpegError("unsupported colour space: RGB-coded JPEG (no YCbCr)")
    if header.width == 0 or header.height == 0:
        raise CorruptJpegError(f"bad image size {header.width}x{header.height} in the frame header")
    limit = max_pixels_limit(max_pixels)
    if header.width * header.height > limit:
        raise ImageTooLargeError(
            f"image is {header.width}x{header.height} = {header.width * header.height:,} pixels, "
            f"above the limit of {limit:,} (set max_pixels or EXPLORABLE_JPEG_MAX_PIXELS)"
        )
    if not seen_sos:
        raise TruncatedJpegError("truncated JPEG file (no image data)")
    if not header.has_eoi:
        raise TruncatedJpegError("truncated JPEG file (image data ends before the EOI marker)")
