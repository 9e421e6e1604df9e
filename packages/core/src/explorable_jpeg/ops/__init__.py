"""Pure array operations (torch or numpy, no JPEG file): the orthonormal 8×8 DCT and block
layout (:mod:`.dct`), colour conversion (:mod:`.color`), chroma resampling
(:mod:`.sampling`) and the eight symmetries of the block grid (:mod:`.symmetry`)."""

from explorable_jpeg.ops.color import rgb_to_ycbcr, ycbcr_to_rgb
from explorable_jpeg.ops.dct import BLOCK, blockify, dct_blocks, idct_blocks, unblockify
from explorable_jpeg.ops.sampling import box_downsample, box_upsample, pad_replicate

__all__ = [
    "BLOCK",
    "blockify",
    "box_downsample",
    "box_upsample",
    "dct_blocks",
    "idct_blocks",
    "pad_replicate",
    "rgb_to_ycbcr",
    "unblockify",
    "ycbcr_to_rgb",
]
