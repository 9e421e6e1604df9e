"""Plain (non-neural) decoding: every coefficient at its bin centre.

``x = IDCT(M · q) + 128`` per component, chroma up-sampled with libjpeg's triangle filter
for display, converted to RGB, then snapped (:func:`explorable_jpeg.snap.pipeline.snap`) so the
8-bit result re-encodes to the same coefficients. This is the baseline every network
must beat and the CLI's ``--model plain``.
"""

from __future__ import annotations

import numpy as np

from explorable_jpeg.jpeg.code import JpegCode
from explorable_jpeg.jpeg.libjpeg.inverse import idct_islow, upsample_fancy
from explorable_jpeg.ops.color import ycbcr_to_rgb_libjpeg
from explorable_jpeg.ops.dct import unblockify
from explorable_jpeg.ops.sampling import pad_replicate
from explorable_jpeg.snap.pipeline import snap


def component_planes_plain(code: JpegCode) -> np.ndarray:
    """libjpeg's decoded samples ``(C, H, W)`` (chroma up-sampled as libjpeg does), float64.

    Integer islow IDCT of ``M·q`` per block, libjpeg-turbo's fancy up-sampling of the
    component's real size, edge replication to the block grid, crop to the image.
    """
    planes = []
    for i, comp in enumerate(code.components):
        fy, fx = code.factors(i)
        ch, cw = code.component_size(i)
        plane = unblockify(idct_islow(comp.coefficients, comp.table))[:ch, :cw]
        plane = upsample_fancy(plane, fy, fx)
        plane = pad_replicate(
            plane, max(code.height, plane.shape[0]), max(code.width, plane.shape[1])
        )
        planes.append(plane[: code.height, : code.width].astype(np.float64))
    return np.stack(planes)


def decode_plain(code: JpegCode, exact: bool = True) -> np.ndarray:
    """Decode ``code`` at the bin centres; uint8 ``(H, W, 3)`` RGB or ``(H, W)`` gray.

    With ``exact`` (default) the result is snapped so that it re-encodes to ``code``;
    without it, samples are rounded and converted with libjpeg's integer arithmetic, which
    reproduces libjpeg's own decoding within ±1 gray level.
    """
    planes = component_planes_plain(code)
    if exact:
        return snap(planes, code)
    samples = planes.astype(np.int32)
    if not code.is_color:
        return samples[0].astype(np.uint8)
    return ycbcr_to_rgb_libjpeg(np.moveaxis(samples, 0, -1))
