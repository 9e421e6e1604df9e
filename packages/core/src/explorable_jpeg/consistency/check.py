"""``check``: does an 8-bit image re-encode, with the file's own tables and sampling, to the
same coefficients? Measured with real libjpeg, the way a user would verify it."""

from __future__ import annotations

import dataclasses
import os
from typing import TYPE_CHECKING, Any

import numpy as np

from explorable_jpeg.consistency.reachability import free_blocks
from explorable_jpeg.errors import InvalidImageError
from explorable_jpeg.jpeg.code import JpegCode
from explorable_jpeg.jpeg.io import read_jpeg
from explorable_jpeg.jpeg.libjpeg.forward import bin_bounds, bin_excess, unquantized_dct8
from explorable_jpeg.jpeg.write import as_uint8_image, encode_with_libjpeg
from explorable_jpeg.ops.color import rgb_to_ycbcr_libjpeg

if TYPE_CHECKING:
    from PIL import Image

COMPONENT_NAMES = ("Y", "Cb", "Cr")


@dataclasses.dataclass
class ComponentReport:
    name: str
    identical_fraction: float
    differing_coefficients: int
    violating_blocks: int
    total_blocks: int
    worst_excess: float
    """Largest distance outside the bin, in quantization steps, over the reachable blocks
    (0 when consistent where reachable)."""
    unreachable_blocks: int = 0
    """Blocks that no image of the file's size re-encodes to, proven (edge padding that is
    not libjpeg's replication, e.g. a lossless crop, or coefficients needing samples outside
    0–255); see :mod:`.padding`."""
    differing_reachable: int = 0
    """Differing coefficients outside the unreachable blocks."""


@dataclasses.dataclass
class CheckReport:
    """Result of :func:`check`. ``consistent`` is True when every coefficient is identical."""

    components: list[ComponentReport]

    @property
    def identical_fraction(self) -> float:
        tot = sum(c.total_blocks * 64 for c in self.components)
        same = sum(c.total_blocks * 64 - c.differing_coefficients for c in self.components)
        return same / tot

    @property
    def consistent(self) -> bool:
        return all(c.differing_coefficients == 0 for c in self.components)

    @property
    def consistent_where_reachable(self) -> bool:
        """Every coefficient that some image of the file's size can reproduce is identical.

        Equal to :attr:`consistent` unless the file has unreachable blocks
        (:attr:`unreachable_blocks`), which no decoder can reproduce."""
        return all(c.differing_reachable == 0 for c in self.components)

    @property
    def unreachable_blocks(self) -> int:
        return sum(c.unreachable_blocks for c in self.components)

    @property
    def violating_blocks(self) -> int:
        return sum(c.violating_blocks for c in self.components)

    @property
    def worst_excess(self) -> float:
        return max(c.worst_excess for c in self.components)

    def to_dict(self) -> dict[str, Any]:
        return {
            "consistent": self.consistent,
            "consistent_where_reachable": self.consistent_where_reachable,
            "unreachable_blocks": self.unreachable_blocks,
            "identical_fraction": self.identical_fraction,
            "violating_blocks": self.violating_blocks,
            "worst_excess": self.worst_excess,
            "components": [dataclasses.asdict(c) for c in self.components],
        }

    def summary(self) -> str:
        parts = [
            f"{c.name} {100 * c.identical_fraction:.3f}% ({c.violating_blocks}/{c.total_blocks}"
            " blocks differ)"
            for c in self.components
        ]
        if self.consistent:
            verdict = "CONSISTENT"
        elif self.consistent_where_reachable:
            verdict = "CONSISTENT WHERE REACHABLE"
        else:
            verdict = "NOT consistent"
        text = (
            f"{verdict}: {100 * self.identical_fraction:.4f}% identical coefficients; "
            + "; ".join(parts)
            + f"; worst excess {self.worst_excess:.3f} steps"
        )
        if self.unreachable_blocks:
            where = ", ".join(
                f"{c.name} {c.unreachable_blocks}" for c in self.components if c.unreachable_blocks
            )
            text += (
                f"; {self.unreachable_blocks} blocks ({where}) cannot be reproduced by any "
                "image of this size (proven: edge padding that is not libjpeg's replication, "
                "e.g. a lossless crop, or coefficients that need samples outside 0-255, e.g. "
                "from another encoder), so they are not counted against the image"
            )
        return text


def _code_of(code_or_path: JpegCode | str | os.PathLike | bytes) -> JpegCode:
    return code_or_path if isinstance(code_or_path, JpegCode) else read_jpeg(code_or_path)


def check(
    code_or_path: JpegCode | str | os.PathLike | bytes, image: np.ndarray | Image.Image
) -> CheckReport:
    """Re-encode ``image`` with libjpeg using the code's tables and sampling and compare.

    Args:
        code_or_path: a :class:`JpegCode` or a JPEG file (path or bytes).
        image: uint8 ``(H, W, 3)`` RGB or ``(H, W)`` gray (array or PIL image) of the code's size,
            in the file's stored orientation (EXIF orientation not applied).

    Example: a plain decoding passes; a block brightened by 40 grey levels does not.
        >>> import numpy as np
        >>> from explorable_jpeg import compress, decode_plain
        >>> _, code = compress(np.full((16, 16), 120, np.uint8), quality=50)
        >>> image = decode_plain(code)
        >>> check(code, image).consistent
        True
        >>> image[:8, :8] += 40
        >>> check(code, image).consistent
        False
    """
    code = _code_of(code_or_path)
    img = as_uint8_image(image)
    if img.shape[:2] != (code.height, code.width):
        raise InvalidImageError(
            f"image is {img.shape[1]}x{img.shape[0]} but the JPEG is {code.width}x{code.height}"
        )
    if code.is_color and img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=-1)
    if not code.is_color and img.ndim == 3:
        img = rgb_to_ycbcr_libjpeg(img)[..., 0].astype(np.uint8)  # what libjpeg would do
    factors = [(c.h_samp, c.v_samp) for c in code.components]
    data = encode_with_libjpeg(img, [c.table for c in code.components], factors)
    reenc = read_jpeg(data)
    t8 = unquantized_dct8(img, code)
    reports = []
    free = free_blocks(code)  # unreachable_blocks, cached per code object
    for i, (comp, rc, t, f) in enumerate(
        zip(code.components, reenc.components, t8, free, strict=True)
    ):
        diff = rc.coefficients != comp.coefficients
        lo, hi = bin_bounds(comp.coefficients, comp.table)
        excess = bin_excess(t, lo, hi) / (8.0 * comp.table)
        reports.append(
            ComponentReport(
                name=COMPONENT_NAMES[i] if code.is_color else "Y",
                identical_fraction=float(1 - diff.mean()),
                differing_coefficients=int(diff.sum()),
                violating_blocks=int(diff.any(axis=(-2, -1)).sum()),
                total_blocks=int(diff.shape[0] * diff.shape[1]),
                worst_excess=float(np.where(f[..., None, None], 0, excess).max()),
                unreachable_blocks=int(f.sum()),
                differing_reachable=int((diff & ~f[..., None, None]).sum()),
            )
        )
    return CheckReport(reports)
