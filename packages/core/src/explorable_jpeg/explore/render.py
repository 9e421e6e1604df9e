"""Decoding explorer states without full-image work where only a region changed.

A state ``s = (z, d)`` decodes to ``x(s) = snap(P_C(ψ(q, z) + d))`` (:mod:`.state`). An
edit changes z and d only near the selection, so :class:`Renderer` decodes a new state from
the one decoded before it:

1. **network** — where z changed (blocks ``D``), ``ψ`` is recomputed on the MCU-aligned
   crop ``dilate(D, 2h)`` and pasted back on ``dilate(D, h)``, ``h`` = :data:`HALO_BLOCKS`
   (the rest of ``ψ`` is the cached decoding's). The networks' nominal receptive field
   (luma 22 + chroma 8 blocks) is far wider than their measured influence: on a
   1024×768 photo at quality 10 a crop's planes differ from the whole image's by
   ≤ 4.6·10⁻⁵ grey levels (float summation order) at ≥ 15 blocks from the crop's border;
2. **projection** — ``P_C`` works MCU by MCU (the chroma box average stays inside an MCU),
   so it is recomputed only on the MCUs where ``ψ + d`` changed, on that window's exact
   code (:meth:`~explorable_jpeg.jpeg.code.JpegCode.crop_mcus`);
3. **snap** — libjpeg encodes every MCU from its own pixels, so only the MCUs whose
   planes changed are snapped (on the window's code) and pasted into the previous image;
   every other MCU keeps its pixels, which already re-encode exactly.

Each step falls back to the whole image when its crop would cover more than
:data:`FULL_SHARE` of it. The result re-encodes to the code exactly as the whole-image
decode does; its pixels equal the whole-image decode's wherever snap's round-0 rounding is
not within ~10⁻⁴ of a half grey level (tests/core/test_render.py measures it).
"""

from __future__ import annotations

import copy
import logging
import math

import numpy as np
import torch

from explorable_jpeg.consistency.projection import displace
from explorable_jpeg.decoding.decoder import Decoder
from explorable_jpeg.decoding.plain import component_planes_plain
from explorable_jpeg.explore.selection import bbox
from explorable_jpeg.explore.state import State
from explorable_jpeg.jpeg.code import JpegCode
from explorable_jpeg.snap.pipeline import snap

logger = logging.getLogger(__name__)

HALO_BLOCKS = 16
"""Blocks of context around a changed region that make a crop's network output equal to
the whole image's up to float noise (measured ≤ 4.6·10⁻⁵ grey levels at 15 blocks)."""

FULL_SHARE = 0.5
"""A crop covering more than this share of the image is replaced by the whole image."""

CACHE_BYTES = 256 * 2**20
"""Memory the cached network outputs and decodings may hold (at least one of each)."""

McuBox = tuple[int, int, int, int]  # MCU rows r0:r1, columns c0:c1


def same_state(a: State, b: State) -> bool:
    """Whether two states decode to the same image (equal z and equal fields)."""
    if not torch.equal(a.z, b.z):
        return False
    if a.field is None or b.field is None:
        return a.field is None and b.field is None
    return torch.equal(a.field, b.field)


def _nbytes(*tensors: torch.Tensor | np.ndarray) -> int:
    return sum(int(t.nbytes) for t in tensors)


class _Decoded:
    """One decoded state: its network planes ``ψ``, consistent planes ``P`` and image."""

    def __init__(
        self, state: State, psi: torch.Tensor, planes: torch.Tensor, image: np.ndarray | None = None
    ) -> None:
        self.state, self.psi, self.planes, self.image = state, psi, planes, image

    @property
    def nbytes(self) -> int:
        return _nbytes(self.planes) + (0 if self.image is None else _nbytes(self.image))


class Renderer:
    """Decodes states of one code, reusing the decoding of the current state (see the
    module docstring). Cached tensors are never modified in place, so copies of a
    renderer (``copy.deepcopy``, as the app's sessions do) share them."""

    def __init__(self, decoder: Decoder, code: JpegCode, cache_bytes: int = CACHE_BYTES):
        self.decoder, self.code = decoder, code
        self.cache_bytes = int(cache_bytes)
        self._psi: list[tuple[torch.Tensor, torch.Tensor]] = []  # (z, ψ), most recent last
        self._states: list[_Decoded] = []  # most recent last
        self.current: _Decoded | None = None

    def __deepcopy__(self, memo: dict) -> Renderer:
        new = copy.copy(self)
        new.decoder = copy.deepcopy(self.decoder, memo)  # shared where the memo shares it
        new.code = copy.deepcopy(self.code, memo)
        new._psi, new._states = list(self._psi), list(self._states)
        return new

    # ------------------------------------------------------------------ geometry
    def _mcu_box(self, blocks: torch.Tensor, pad: int) -> McuBox:
        """MCU rows/columns covering the ``True`` blocks ``(by, bx)`` grown by ``pad`` blocks."""
        mh, mw = self.code.mcu_size
        rows, cols = self.code.mcu_grid
        by0, bx0, by1, bx1 = bbox(blocks)
        r0, c0 = max(0, (by0 - pad) * 8 // mh), max(0, (bx0 - pad) * 8 // mw)
        r1 = min(rows, math.ceil((by1 + pad) * 8 / mh))
        c1 = min(cols, math.ceil((bx1 + pad) * 8 / mw))
        return r0, c0, r1, c1

    def _pixels(self, box: McuBox) -> tuple[slice, slice]:
        mh, mw = self.code.mcu_size
        r0, c0, r1, c1 = box
        h, w = self.code.height, self.code.width
        return slice(r0 * mh, min(r1 * mh, h)), slice(c0 * mw, min(c1 * mw, w))

    def _share(self, box: McuBox) -> float:
        rows, cols = self.code.mcu_grid
        return (box[2] - box[0]) * (box[3] - box[1]) / (rows * cols)

    def _mcus_changed(self, diff: torch.Tensor) -> torch.Tensor:
        """``(rows, cols)`` bool: MCUs holding a ``True`` pixel of ``diff (H, W)``."""
        mh, mw = self.code.mcu_size
        rows, cols = self.code.mcu_grid
        pad = torch.zeros((rows * mh, cols * mw), dtype=torch.bool)
        pad[: diff.shape[0], : diff.shape[1]] = diff
        return pad.reshape(rows, mh, cols, mw).any(3).any(1)

    # ------------------------------------------------------------------ caches
    def _trim(self) -> None:
        while len(self._psi) > 1 and _nbytes(*(p for _, p in self._psi)) > self.cache_bytes:
            self._psi.pop(0)
        while len(self._states) > 1 and sum(d.nbytes for d in self._states) > self.cache_bytes:
            self._states.pop(0)

    def _remember_psi(self, z: torch.Tensor, psi: torch.Tensor) -> None:
        self._psi.append((z.clone(), psi))
        self._trim()

    # ------------------------------------------------------------------ network
    def network_planes(self, z: torch.Tensor) -> torch.Tensor:
        """``ψ(q, z)`` ``(C, H, W)`` float32 on the CPU (do not modify it in place)."""
        for k, (zc, psi) in enumerate(self._psi):
            if torch.equal(zc, z):
                self._psi.append(self._psi.pop(k))
                return psi
        if self._psi:  # from the cached output whose z differs on the fewest blocks
            diffs = [(zc != z).any(0) for zc, _ in self._psi]
            k = min(range(len(diffs)), key=lambda i: int(diffs[i].sum()))
            psi = self._patched_psi(z, self._psi[k][1], diffs[k])
        else:
            with torch.inference_mode():
                psi = self.decoder.decode_planes(self.code, z).float().cpu()
        self._remember_psi(z, psi)
        return psi

    def _patched_psi(
        self, z: torch.Tensor, base: torch.Tensor, changed: torch.Tensor
    ) -> torch.Tensor:
        """``base`` with ``dilate(changed, h)`` decoded again, on a crop of
        ``dilate(changed, 2h)`` (the whole image when that crop would cover more than
        :data:`FULL_SHARE` of it); outside, ``base`` is kept bit for bit."""
        if not bool(changed.any()):
            return base
        crop_box = self._mcu_box(changed, 2 * HALO_BLOCKS)
        if self._share(crop_box) > FULL_SHARE:
            crop_box = (0, 0, *self.code.mcu_grid)
        crop = self.code.crop_mcus(*crop_box)
        cys, cxs = self._pixels(crop_box)
        zb = self.decoder.z_shape(crop)
        zy0, zx0 = cys.start // 8, cxs.start // 8
        with torch.inference_mode():
            zc = z[:, zy0 : zy0 + zb[1], zx0 : zx0 + zb[2]].to(self.decoder.device)
            part = self.decoder.decode_planes(crop, zc).float().cpu()
        ys, xs = self._pixels(self._mcu_box(changed, HALO_BLOCKS))
        out = base.clone()
        out[:, ys, xs] = part[:, ys.start - cys.start : ys.stop - cys.start,
                              xs.start - cxs.start : xs.stop - cxs.start]  # fmt: skip
        logger.debug("network on %dx%d px, pasted %dx%d", crop.width, crop.height,
                     xs.stop - xs.start, ys.stop - ys.start)  # fmt: skip
        return out

    # ------------------------------------------------------------------ projection, snap
    def _find(self, state: State) -> _Decoded | None:
        for k in range(len(self._states) - 1, -1, -1):
            if same_state(self._states[k].state, state):
                self._states.append(self._states.pop(k))
                return self._states[-1]
        return None

    def _project(
        self, psi: torch.Tensor, field: torch.Tensor | None, code: JpegCode
    ) -> torch.Tensor:
        if field is None:
            return psi
        with torch.inference_mode():
            return displace(psi.double(), field.double(), code).float()

    def _decode(self, state: State) -> _Decoded:
        """``ψ`` and ``P`` of ``state`` (no image yet), from the current decoding's."""
        psi = self.network_planes(state.z)
        ref = self.current
        if ref is None:  # nothing to start from: the whole image
            return _Decoded(state, psi, self._project(psi, state.field, self.code))
        shape = psi.shape
        moved = psi != ref.psi
        if state.field is not None or ref.state.field is not None:
            moved |= state.field_or_zeros(shape) != ref.state.field_or_zeros(shape)
        moved = moved.any(0)
        if not bool(moved.any()):
            return _Decoded(state, psi, ref.planes, ref.image)
        box = self._mcu_box_of(self._mcus_changed(moved))
        ys, xs = self._pixels(box)
        window = self.code.crop_mcus(*box)
        field = None if state.field is None else state.field[:, ys, xs]
        planes = ref.planes.clone()
        planes[:, ys, xs] = self._project(psi[:, ys, xs].contiguous(), field, window)
        return _Decoded(state, psi, planes)

    def _snapped(self, d: _Decoded) -> np.ndarray:
        """The image of ``d``: the current image with the MCUs whose planes changed
        snapped again (all of them when there is no current image)."""
        ref = self.current
        if ref is None or ref.image is None:
            return snap(d.planes.double().numpy(), self.code, fallback=component_planes_plain)
        changed = self._mcus_changed((d.planes != ref.planes).any(0))
        if not bool(changed.any()):
            return ref.image
        box = self._mcu_box_of(changed)
        ys, xs = self._pixels(box)
        window = self.code.crop_mcus(*box)
        part = snap(d.planes[:, ys, xs].double().numpy(), window, fallback=component_planes_plain)
        r0, c0, r1, c1 = box
        mh, mw = self.code.mcu_size
        keep = changed[r0:r1, c0:c1].numpy()
        pix = np.repeat(np.repeat(keep, mh, 0), mw, 1)[: part.shape[0], : part.shape[1]]
        image = ref.image.copy()
        image[ys, xs][pix] = part[pix]
        logger.debug("snapped %d of %d MCUs", int(changed.sum()), changed.numel())
        return image

    def _mcu_box_of(self, mcus: torch.Tensor) -> McuBox:
        r0, c0, r1, c1 = bbox(mcus)
        return r0, c0, r1, c1

    # ------------------------------------------------------------------ public
    def _decoded(self, state: State) -> _Decoded:
        found = self._find(state)
        if found is None:
            found = self._decode(state)
            self._states.append(found)
            self._trim()
        return found

    def planes(self, state: State) -> torch.Tensor:
        """Consistent float planes ``P_C(ψ(q, z) + d)`` ``(C, H, W)`` of ``state``."""
        return self._decoded(state).planes

    def render(self, state: State) -> np.ndarray:
        """The uint8 image ``state`` decodes to (consistent; do not modify it in place)."""
        d = self._decoded(state)
        if d.image is None:
            d.image = self._snapped(d)
            self._trim()
        return d.image

    def make_current(self, state: State) -> np.ndarray:
        """Decode ``state`` and decode later states from it; returns its image."""
        d = self._decoded(state)
        if d.image is None:
            d.image = self._snapped(d)
        self.current = d
        self._trim()
        return d.image
