"""A small JPEG marker-segment parser used to validate files before libjpeg touches them.

libjpeg allocates full coefficient arrays from the frame header and only warns on
truncated data, so the header is checked here first: the coding process (baseline,
extended, progressive; not arithmetic, lossless or hierarchical), the sample precision,
the number of components and Adobe colour transform, the image size against a pixel
limit, the file size against a size limit, every quantization-table entry (0 is invalid),
the restart interval, the EXIF orientation, whether the entropy-coded data reaches an EOI
marker, and whether each scan holds enough entropy-coded data for the blocks the frame
header claims (a forged size is refused before anything is allocated, see
:func:`min_scan_bytes`).
"""

from __future__ import annotations

import dataclasses
import os
import struct

from explorable_jpeg.errors import (
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

DEFAULT_MAX_FILE_BYTES = 256 * 1024 * 1024
"""Default file-size limit in bytes (256 MiB); override with ``max_file_bytes=`` or the
``EXPLORABLE_JPEG_MAX_FILE_BYTES`` environment variable."""


@dataclasses.dataclass
class FrameComponent:
    ident: int
    h_samp: int
    v_samp: int
    table_index: int


@dataclasses.dataclass
class ScanInfo:
    """One scan (SOS segment): its components, spectral selection and entropy-coded size."""

    component_ids: list[int]
    ss: int
    se: int
    ah: int
    al: int
    data_bytes: int
    """Bytes of entropy-coded data after the SOS header, up to the next marker that is not a
    restart marker (restart markers and stuffed bytes included: an upper bound)."""


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
    scans: list[ScanInfo] = dataclasses.field(default_factory=list)

    @property
    def progressive(self) -> bool:
        return self.sof_marker in (0xC2, 0xCA, 0xCE)

    @property
    def coding(self) -> str:
        return _SOF_NAMES.get(self.sof_marker, f"SOF 0x{self.sof_marker:02X}")


def _env_limit(name: str, default: int) -> int:
    env = os.environ.get(name)
    if not env:
        return default
    try:
        value = int(env)
    except ValueError:
        raise ValueError(f"${name} must be a whole number, got {env!r}") from None
    if value < 1:
        raise ValueError(f"${name} must be at least 1, got {value}")
    return value


def max_pixels_limit(max_pixels: int | None = None) -> int:
    """The effective pixel limit: argument, else $EXPLORABLE_JPEG_MAX_PIXELS, else default."""
    if max_pixels is not None:
        return int(max_pixels)
    return _env_limit("EXPLORABLE_JPEG_MAX_PIXELS", DEFAULT_MAX_PIXELS)


def max_file_bytes_limit(max_file_bytes: int | None = None) -> int:
    """The effective file-size limit: argument, else $EXPLORABLE_JPEG_MAX_FILE_BYTES, else
    :data:`DEFAULT_MAX_FILE_BYTES`."""
    if max_file_bytes is not None:
        return int(max_file_bytes)
    return _env_limit("EXPLORABLE_JPEG_MAX_FILE_BYTES", DEFAULT_MAX_FILE_BYTES)


def check_file_size(size: int, max_file_bytes: int | None = None) -> None:
    """Raise :class:`ImageTooLargeError` when ``size`` bytes is above the file-size limit."""
    limit = max_file_bytes_limit(max_file_bytes)
    if size > limit:
        raise ImageTooLargeError(
            f"file is {size:,} bytes, above the limit of {limit:,} "
            "(set max_file_bytes or EXPLORABLE_JPEG_MAX_FILE_BYTES)"
        )


def _check_dqt(seg: bytes) -> None:
    """Refuse a DQT segment that defines a table with an entry of 0 (invalid JPEG).

    A malformed segment (bad length, table id) is left to libjpeg, which names it."""
    pos = 0
    while pos < len(seg):
        pq, tq = seg[pos] >> 4, seg[pos] & 15
        size = 128 if pq else 64
        entries = seg[pos + 1 : pos + 1 + size]
        if len(entries) < size:
            return
        values = (
            [int.from_bytes(entries[i : i + 2], "big") for i in range(0, size, 2)]
            if pq
            else list(entries)
        )
        if 0 in values:
            k = values.index(0)
            raise CorruptJpegError(
                f"quantization table {tq} has an entry of 0 (position {k} in zigzag order); "
                "every entry of a JPEG quantization table must be at least 1"
            )
        pos += 1 + size


def _parse_sos(seg: bytes, data_bytes: int) -> ScanInfo | None:
    """The scan parameters of an SOS segment, or None when it is too short (libjpeg names it)."""
    if not seg:
        return None
    ns = seg[0]
    if len(seg) < 1 + 2 * ns + 3:
        return None
    ids = [seg[1 + 2 * i] for i in range(ns)]
    ss, se, a = seg[1 + 2 * ns : 4 + 2 * ns]
    return ScanInfo(ids, ss, se, a >> 4, a & 15, data_bytes)


def component_blocks(header: JpegHeader) -> list[int]:
    """Blocks (by × bx) of each frame component, from the size and sampling factors."""
    hmax = max(c.h_samp for c in header.components)
    vmax = max(c.v_samp for c in header.components)
    out = []
    for c in header.components:
        w = -(-header.width * c.h_samp // hmax)
        h = -(-header.height * c.v_samp // vmax)
        out.append(-(-w // 8) * -(-h // 8))
    return out


def min_scan_bytes(header: JpegHeader, scan: ScanInfo) -> int:
    """A lower bound on the entropy-coded bytes ``scan`` needs for the blocks it codes.

    Every block of a scan that codes DC coefficients (Ss = 0) costs at least one Huffman
    code (sequential: a DC code and an end-of-block code), so at least 1 bit (progressive)
    or 2 bits (sequential). AC-only progressive scans can cover thousands of blocks with
    one end-of-band run and get no bound.
    """
    if scan.ss != 0:
        return 0
    bits = 1 if header.progressive else 2
    blocks = component_blocks(header)
    idx = {c.ident: i for i, c in enumerate(header.components)}
    total = sum(blocks[idx[cid]] for cid in scan.component_ids if cid in idx)
    return -(-total * bits // 8)


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


def parse_header(
    data: bytes, max_pixels: int | None = None, max_file_bytes: int | None = None
) -> JpegHeader:
    """Parse and validate the marker segments of ``data``.

    Raises:
        NotAJpegError: no SOI marker at the start.
        TruncatedJpegError: the data ends inside a segment or before EOI.
        CorruptJpegError: malformed segments (no frame header, zero size, a quantization
            table entry of 0, a scan too short for the size the frame header claims…).
        UnsupportedJpegError: arithmetic, lossless, hierarchical, precision ≠ 8, CMYK/YCCK,
            RGB-coded or other component counts.
        ImageTooLargeError: width × height above the pixel limit, or the file above the
            file-size limit.
    """
    if len(data) < 2 or data[:2] != b"\xff\xd8":
        raise NotAJpegError("not a JPEG file (no SOI marker at the start)")
    check_file_size(len(data), max_file_bytes)
    pos, n = 2, len(data)
    header: JpegHeader | None = None
    adobe: int | None = None
    orientation = 1
    restart = 0
    seen_sos = False
    scans: list[ScanInfo] = []
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
                f"truncated or corrupt JPEG file (marker segment 0x{marker:02X} at byte "
                f"{pos - 2:,} claims {length:,} bytes, past the end of the file)"
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
        elif marker == 0xDB:
            _check_dqt(seg)
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
            end = _skip_entropy_data(data, pos)
            scan = _parse_sos(seg, end - pos)
            if scan is not None:
                scans.append(scan)
            pos = end
    if header is None:
        if seen_sos:
            raise CorruptJpegError("JPEG file has no frame header (SOF)")
        raise TruncatedJpegError("truncated JPEG file (no frame header found)")
    header.adobe_transform = adobe
    header.orientation = orientation
    header.restart_interval = restart
    header.scans = scans
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
    _validate_scans(header)


def _validate_scans(header: JpegHeader) -> None:
    """Compare the entropy-coded data present with what the frame header claims.

    Refuses, before libjpeg allocates anything, a header whose size needs more data than a
    scan holds (forged or damaged dimensions) and a component that no scan codes the DC
    coefficients of (an incomplete file)."""
    for k, scan in enumerate(header.scans):
        need = min_scan_bytes(header, scan)
        if need > scan.data_bytes:
            raise CorruptJpegError(
                f"the frame header claims {header.width}x{header.height} pixels, but scan "
                f"{k + 1} holds {scan.data_bytes:,} bytes of image data where those blocks need "
                f"at least {need:,} (forged or damaged image size)"
            )
    with_dc = {cid for scan in header.scans if scan.ss == 0 for cid in scan.component_ids}
    for i, c in enumerate(header.components):
        if c.ident not in with_dc:
            raise CorruptJpegError(
                f"component {i} (id {c.ident}) has no scan with its DC coefficients "
                "(incomplete image data)"
            )
