"""The JPEG code: quantized coefficients, tables and sampling of every component.

``JpegCode`` is the single source of truth of the project: it is read from the file
(never re-derived by re-compressing a decoded image) and every decoding is checked
against it.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Literal

import numpy as np

BLOCK = 8  # the 8×8 block side (= explorable_jpeg.ops.dct.BLOCK; not imported: ops imports torch)

ColorSpace = Literal["gray", "ycbcr"]

SUBSAMPLING_FACTORS: dict[str, tuple[tuple[int, int], ...]] = {
    # label -> (h, v) per component (Y, Cb, Cr)
    "4:4:4": ((1, 1), (1, 1), (1, 1)),
    "4:2:2": ((2, 1), (1, 1), (1, 1)),
    "4:2:0": ((2, 2), (1, 1), (1, 1)),
    "4:4:0": ((1, 2), (1, 1), (1, 1)),
    "4:1:1": ((4, 1), (1, 1), (1, 1)),
}


@dataclasses.dataclass(frozen=True, eq=False)
class Component:
    """One colour component of a JPEG file.

    Attributes:
        coefficients: int16 ``(by, bx, 8, 8)`` quantized DCT coefficients on the component's
            own block grid, natural order (row u = vertical frequency).
        table: int32 ``(8, 8)`` quantization table M (natural order).
        h_samp, v_samp: sampling factors from the frame header.
    """

    coefficients: np.ndarray
    table: np.ndarray
    h_samp: int
    v_samp: int

    @property
    def blocks(self) -> tuple[int, int]:
        """Number of blocks ``(by, bx)``."""
        return int(self.coefficients.shape[0]), int(self.coefficients.shape[1])


@dataclasses.dataclass(frozen=True, eq=False)
class JpegCode:
    """Everything in a JPEG file that determines the set of consistent images.

    Attributes:
        components: one :class:`Component` per colour component (1 for gray, 3 for YCbCr).
        height, width: image size in pixels (from the frame header).
        color_space: ``"gray"`` or ``"ycbcr"`` (JFIF full range, level shift 128).
        progressive: whether the file was progressive (the code itself is the same).
        orientation: EXIF orientation tag 1–8 (1 = upright); reported, never applied to the code.
        restart_interval: restart interval in MCUs (0 = none).
    """

    components: tuple[Component, ...]
    height: int
    width: int
    color_space: ColorSpace
    progressive: bool = False
    orientation: int = 1
    restart_interval: int = 0

    @property
    def is_color(self) -> bool:
        return self.color_space == "ycbcr"

    @property
    def max_h(self) -> int:
        return max(c.h_samp for c in self.components)

    @property
    def max_v(self) -> int:
        return max(c.v_samp for c in self.components)

    def factors(self, index: int) -> tuple[int, int]:
        """Box size ``(fy, fx)`` of component ``index`` relative to full resolution."""
        c = self.components[index]
        return self.max_v // c.v_samp, self.max_h // c.h_samp

    def component_size(self, index: int) -> tuple[int, int]:
        """Size in samples of component ``index`` (libjpeg's downsampled height/width)."""
        c = self.components[index]
        return (
            math.ceil(self.height * c.v_samp / self.max_v),
            math.ceil(self.width * c.h_samp / self.max_h),
        )

    def padded_size(self) -> tuple[int, int]:
        """Full-resolution size covered by the block grids of all components.

        Each component with box ``(fy, fx)`` and ``by × bx`` blocks covers
        ``8·by·fy × 8·bx·fx`` full-resolution pixels; this is the maximum over components.
        """
        hs, ws = [], []
        for i, c in enumerate(self.components):
            fy, fx = self.factors(i)
            by, bx = c.blocks
            hs.append(BLOCK * by * fy)
            ws.append(BLOCK * bx * fx)
        return max(hs), max(ws)

    @property
    def mcu_size(self) -> tuple[int, int]:
        """MCU size in full-resolution pixels ``(8·v_max, 8·h_max)``."""
        return 8 * self.max_v, 8 * self.max_h

    @property
    def mcu_grid(self) -> tuple[int, int]:
        """Number of MCUs ``(rows, columns)``, partial ones at the right and bottom included."""
        mh, mw = self.mcu_size
        return -(-self.height // mh), -(-self.width // mw)

    def crop_mcus(self, row0: int, col0: int, row1: int, col1: int) -> JpegCode:
        """The code of the image region covering MCU rows ``row0:row1`` and columns ``col0:col1``.

        libjpeg encodes every MCU from its own pixels (edge replication happens inside the
        last MCUs), so an image of that region re-encodes to exactly these coefficients.
        """
        mh, mw = self.mcu_size
        y0, x0 = row0 * mh, col0 * mw
        height = min(row1 * mh, self.height) - y0
        width = min(col1 * mw, self.width) - x0
        if height <= 0 or width <= 0:
            raise ValueError("empty MCU range")
        comps = []
        for c in self.components:
            coef = c.coefficients[
                row0 * c.v_samp : row1 * c.v_samp, col0 * c.h_samp : col1 * c.h_samp
            ]
            comps.append(dataclasses.replace(c, coefficients=coef))
        out = dataclasses.replace(self, components=tuple(comps), height=height, width=width)
        for i, c in enumerate(out.components):  # partial MCUs: keep only the real blocks
            by, bx = (-(-s // 8) for s in out.component_size(i))
            if c.blocks != (by, bx):
                comps[i] = dataclasses.replace(c, coefficients=c.coefficients[:by, :bx])
        return dataclasses.replace(out, components=tuple(comps))

    @property
    def subsampling(self) -> str:
        """Sampling label such as ``"4:2:0"``, ``"gray"``, or ``"h2v1,h1v1,h1v1"``."""
        if not self.is_color:
            return "gray"
        facs = tuple((c.h_samp, c.v_samp) for c in self.components)
        for label, ref in SUBSAMPLING_FACTORS.items():
            if facs == ref:
                return label
        if all(f == facs[0] for f in facs):
            return "4:4:4"
        return ",".join(f"h{h}v{v}" for h, v in facs)

    @property
    def tables(self) -> list[np.ndarray]:
        return [c.table for c in self.components]

    def __repr__(self) -> str:
        return (
            f"JpegCode({self.width}x{self.height}, {self.color_space}, {self.subsampling}, "
            f"progressive={self.progressive}, orientation={self.orientation})"
        )
