"""What a tool returns (:class:`ToolResult`) and what a tool handler may use of the explorer
(:class:`ExplorerLike`), so that :mod:`.handlers` does not import :mod:`.explorer`."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import torch

from explorable_jpeg.explore.loop import OptimizeResult
from explorable_jpeg.explore.state import State
from explorable_jpeg.jpeg.code import JpegCode

if TYPE_CHECKING:
    from explorable_jpeg.explore.objectives import Objective
    from explorable_jpeg.models.digit import DigitNet


@dataclasses.dataclass
class ToolResult:
    """The outcome of :meth:`Explorer.apply <explorable_jpeg.Explorer.apply>`.

    Attributes:
        image: the new current image (uint8, consistent).
        alternatives: name → image, for tools that produce several (random, digit).
        scores: name → score (digit: the classifier's probability of that digit).
        info: tool-specific details (e.g. the imprint's chosen sub-block shift, the
            periods found, the uniform sliders).
        result: the optimisation summary (None for tools that set z directly).
    """

    image: np.ndarray
    alternatives: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)
    scores: dict[str, float] = dataclasses.field(default_factory=dict)
    info: dict[str, Any] = dataclasses.field(default_factory=dict)
    result: OptimizeResult | None = None


class ExplorerLike(Protocol):
    """The part of :class:`~explorable_jpeg.Explorer` that tool handlers use."""

    code: JpegCode
    alternatives: dict[str, State]

    @property
    def image(self) -> np.ndarray: ...

    @property
    def shape(self) -> tuple[int, int]: ...

    @property
    def z(self) -> torch.Tensor: ...

    @property
    def classifier(self) -> DigitNet: ...

    def optimize(
        self, objective: Objective, mask: Any = None, **options: Any
    ) -> OptimizeResult: ...

    def render(self, state: State) -> np.ndarray: ...

    def set_state(self, state: State, record: bool = True) -> np.ndarray: ...

    def set_z(self, z: torch.Tensor, record: bool = True) -> np.ndarray: ...

    def digit_probabilities(self, image: np.ndarray, mask: Any) -> np.ndarray: ...
