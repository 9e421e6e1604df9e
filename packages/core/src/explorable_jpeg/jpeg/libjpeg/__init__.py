"""Bit-exact numpy models of libjpeg's integer paths (``jpeg-turbo``'s ``islow``).

- :mod:`.forward` — image → coefficients: RGB→YCbCr, downsampling, ``jpeg_fdct_islow``,
  quantisation and the bin of every coefficient; what snap and check use to know, for an
  8-bit image, exactly which file libjpeg would write;
- :mod:`.inverse` — coefficients → image: ``jpeg_idct_islow`` and fancy upsampling, what
  :func:`explorable_jpeg.decode_plain` uses to equal libjpeg's own decoding;
- :mod:`.islow` — what both share: the fixed-point constants, ``DESCALE`` and the exact
  GEMM form of a two-pass integer 8×8 transform.
"""

from explorable_jpeg.jpeg.libjpeg.forward import (
    bin_bounds,
    component_planes,
    encode_coefficients,
    fdct_islow,
    unquantized_dct8,
)
from explorable_jpeg.jpeg.libjpeg.inverse import idct_islow, upsample_fancy

__all__ = [
    "bin_bounds",
    "component_planes",
    "encode_coefficients",
    "fdct_islow",
    "idct_islow",
    "unquantized_dct8",
    "upsample_fancy",
]
