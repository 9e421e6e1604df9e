"""Exploration state: the control signal z and the exploration field, with undo/redo.

A state ``s = (z, d)`` decodes to ``x(s) = snap(P_C(ψ(q, z) + d))``: ``ψ`` the explorable
decoder, ``d`` a field ``(C, H, W)`` (YCbCr or gray, [0, 255] scale) added to its planes,
``P_C`` the exact projection onto the consistent set. ``z`` moves the image along what the
network can produce; ``d`` reaches every other consistent image (``d = None``: none).
Fields are stored in float16 (what is stored is what is decoded).
"""

from __future__ import annotations

import dataclasses

import torch

FIELD_DTYPE = torch.float16


@dataclasses.dataclass(frozen=True)
class State:
    """One exploration state; ``field`` is None when the output is the network's own."""

    z: torch.Tensor
    field: torch.Tensor | None = None

    def with_z(self, z: torch.Tensor) -> State:
        return State(z, self.field)

    def field_or_zeros(self, shape: tuple[int, ...]) -> torch.Tensor:
        """The field in float32 (zeros when there is none)."""
        return torch.zeros(shape) if self.field is None else self.field.float()


def stored_field(field: torch.Tensor | None) -> torch.Tensor | None:
    """A field as stored in a :class:`State`: float16 on the CPU, None when all zero."""
    if field is None:
        return None
    f = field.detach().to("cpu", FIELD_DTYPE)
    return f if bool(f.any()) else None


class History:
    """Undo and redo stacks of states, at most ``depth`` undo steps."""

    def __init__(self, depth: int) -> None:
        self.depth = int(depth)
        self.undo: list[State] = []
        self.redo: list[State] = []

    def push(self, current: State) -> None:
        """Record ``current`` before it is replaced by a new state (clears redo)."""
        self.undo.append(current)
        del self.undo[: -self.depth]
        self.redo.clear()

    def back(self, current: State) -> State | None:
        if not self.undo:
            return None
        self.redo.append(current)
        return self.undo.pop()

    def forward(self, current: State) -> State | None:
        if not self.redo:
            return None
        self.undo.append(current)
        return self.redo.pop()
