"""Decoding explorer states once: a cache of network outputs and decodings.

A state ``s = (z, d)`` decodes to ``x(s) = snap(P_C(ψ(q, z) + d))`` (:mod:`.state`).
:class:`Renderer` keeps the network outputs ``ψ`` by ``z`` and the decoded states (planes and
image) up to :data:`CACHE_BYTES`, so that rendering alternatives, undo, redo and copies of an
explorer decode nothing twice, and a field-only change reuses ``ψ``.

Every decoding is of the whole image, so the image of a state is a function of the state
alone — not of the states decoded before it — and an exploration file reads back bit for
bit. (Decoding only the changed MCUs was tried: the network's crop differs from the whole
image's by ~10⁻⁵ grey levels, and neither the closed-form projection with its gamut clip nor
snap's search and capped repair stages are MCU-local, so a state's pixels then depended on
the path to it by one grey level here and there.)
"""

from __future__ import annotations

import copy
import logging

import numpy as np
import torch

from explorable_jpeg.consistency.projection import displace
from explorable_jpeg.decoding.decoder import Decoder
from explorable_jpeg.decoding.plain import component_planes_plain
from explorable_jpeg.explore.state import State
from explorable_jpeg.jpeg.code import JpegCode
from explorable_jpeg.snap.pipeline import snap

logger = logging.getLogger(__name__)

CACHE_BYTES = 256 * 2**20
"""Memory the cached network outputs and decodings may hold (at least one of each)."""


def same_field(a: State, b: State) -> bool:
    """Whether two states have equal fields (``None`` only equals ``None``)."""
    if a.field is None or b.field is None:
        return a.field is None and b.field is None
    return torch.equal(a.field, b.field)


def same_state(a: State, b: State) -> bool:
    """Whether two states decode to the same image (equal z and equal fields)."""
    return torch.equal(a.z, b.z) and same_field(a, b)


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
    """Decodes states of one code, each once (see the module docstring). Cached tensors
    are never modified in place, so copies of a renderer (``copy.deepcopy``, as the app's
    sessions do) share them."""

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
        with torch.inference_mode():
            psi = self.decoder.decode_planes(self.code, z).float().cpu()
        self._remember_psi(z, psi)
        return psi

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
        """``ψ`` and ``P`` of ``state`` (no image yet); the current decoding's planes and
        image when neither ``ψ`` nor the field differ from it."""
        psi = self.network_planes(state.z)
        ref = self.current
        if ref is not None and psi is ref.psi and same_field(state, ref.state):
            return _Decoded(state, psi, ref.planes, ref.image)
        return _Decoded(state, psi, self._project(psi, state.field, self.code))

    def _snapped(self, d: _Decoded) -> np.ndarray:
        """The image of ``d``: the whole image snapped."""
        return snap(d.planes.double().numpy(), self.code, fallback=component_planes_plain)

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
