"""The interface between the explorer and its objectives.

The explorer crops the code and z around the selection, decodes the crop for the current
z and hands the objective a :class:`Region`. It then minimises over w (z = tanh(w))

    L(w) = f(x̂(w)) / |f(x̂₀)| + λ · mean_{p ∉ mask, c} ρ(x̂(w)_{c,p} − x̂₀_{c,p}),

where ``f`` is :meth:`Objective.loss`, ``ρ`` a smooth L1 and the second term (weight
:attr:`Objective.preserve_weight`) keeps the output outside the selection unchanged.
Dividing by the starting value makes λ comparable across objectives.
Every image an objective sees is RGB (or gray) on [0, 1], shaped ``(N, C, h, w)`` with
``N = num_outputs`` (1 except for joint objectives such as random alternatives).
"""

from __future__ import annotations

import dataclasses

import torch

from explorable_jpeg.errors import ExplorationError as ExplorationError
from explorable_jpeg.errors import RegionError as RegionError
from explorable_jpeg.jpeg.code import JpegCode


@dataclasses.dataclass
class Region:
    """The crop an objective works on.

    Attributes:
        rgb0: ``(C, h, w)`` the output before optimisation, on [0, 1] (C = 3 or 1).
        mask: ``(h, w)`` float {0, 1}: the selection snapped to whole 8×8 blocks.
        pixel_mask: ``(h, w)`` float {0, 1}: the selection as given (not snapped).
        code: the exact code of the crop (whole MCUs of the original code).
        origin: ``(y, x)`` of the crop's top-left pixel in the full image.
    """

    rgb0: torch.Tensor
    mask: torch.Tensor
    pixel_mask: torch.Tensor
    code: JpegCode
    origin: tuple[int, int]

    @property
    def shape(self) -> tuple[int, int]:
        return int(self.mask.shape[0]), int(self.mask.shape[1])


class Objective:
    """Base class: a differentiable ``loss(rgb (N, C, h, w)) -> scalar`` to minimise.

    Subclasses set :attr:`preserve_weight` (λ above) and implement :meth:`loss`;
    :meth:`prepare` computes targets from the region's initial output.
    """

    #: weight λ of the term that keeps the output outside the selection unchanged
    preserve_weight: float = 10.0
    #: how many outputs (z's) are optimised jointly
    num_outputs: int = 1
    #: μ of the explorer's field phase: how strongly it prefers the network's output
    #: (mean smooth-L1 departure, in units of 255 grey levels, added to the loss)
    field_prior: float = 0.0
    #: σ (px) of the Gaussian smoothing of the field (0: none; see ``explore.field``)
    field_smoothing: int = 0
    #: the field moves luma only (objectives of texture / structure: no colour noise)
    field_luma_only: bool = False
    #: weight of the field phase's penalty on how far ``B + S(u)`` lies outside the set
    #: (mean smooth-L1 of ``P_C(B + S(u)) − (B + S(u))``, units of 255 grey levels)
    field_residual: float = 0.0

    def __init__(self) -> None:
        self.region: Region | None = None

    def prepare(self, region: Region) -> None:
        """Bind to a region; subclasses compute their targets here (call ``super()``)."""
        self.region = region

    @property
    def r(self) -> Region:
        if self.region is None:
            raise RuntimeError(f"{type(self).__name__}.prepare() was not called")
        return self.region

    def initial_z(
        self, z0: torch.Tensor, editable: torch.Tensor, generator: torch.Generator
    ) -> torch.Tensor:
        """Starting z ``(N, 64, by, bx)`` of the outputs; default: the current z."""
        return z0[None].expand(self.num_outputs, *z0.shape).clone()

    def initial_field(
        self, base: torch.Tensor, editable: torch.Tensor, generator: torch.Generator
    ) -> torch.Tensor | None:
        """Starting field ``u`` ``(N, C, h, w)`` of the field phase; default None (zero)."""
        return None

    def scale(self, rgb_start: torch.Tensor) -> float:
        """Divisor of the loss: ``|f|`` of the starting outputs (so L starts at ±1)."""
        return max(abs(float(self.loss(rgb_start))), 1e-8)

    def loss(self, rgb: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError
