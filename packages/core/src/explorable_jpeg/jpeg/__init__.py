"""The JPEG file itself: what is read from it and the libjpeg arithmetic that made it.

- :mod:`.code` — :class:`JpegCode`, the quantised coefficients, tables and sampling of a file;
- :mod:`.markers` — the marker parser that checks a header before anything is allocated;
- :mod:`.io` — reading (jpeglib) and decoding with libjpeg, input limits;
- :mod:`.write` — writing files with libjpeg (``compress``);
- :mod:`.tables` — the IJG quality tables;
- :mod:`.libjpeg` — bit-exact numpy models of libjpeg's forward (colour conversion,
  downsampling, integer DCT, quantisation) and inverse (integer IDCT, fancy upsampling) paths.
"""

from explorable_jpeg.jpeg.code import SUBSAMPLING_FACTORS, Component, JpegCode
from explorable_jpeg.jpeg.io import libjpeg_decode, read_header, read_jpeg
from explorable_jpeg.jpeg.markers import DEFAULT_MAX_PIXELS, JpegHeader, parse_header
from explorable_jpeg.jpeg.tables import ijg_tables
from explorable_jpeg.jpeg.write import as_uint8_image, compress, encode_with_libjpeg

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "SUBSAMPLING_FACTORS",
    "Component",
    "JpegCode",
    "JpegHeader",
    "as_uint8_image",
    "compress",
    "encode_with_libjpeg",
    "ijg_tables",
    "libjpeg_decode",
    "parse_header",
    "read_header",
    "read_jpeg",
]
