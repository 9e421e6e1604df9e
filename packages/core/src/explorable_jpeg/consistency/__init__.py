"""The consistent set of a file and membership in it.

- :mod:`.projection` — the closed-form projection onto the set (clip every DCT coefficient
  to its quantisation bin) and the displacement ``P_C(x + field)`` the explorer moves in;
- :mod:`.reachability` — blocks whose bins no 8-bit image reaches (padding) and their bounds;
- :mod:`.check` — the exact test: does an 8-bit image re-encode to the file's coefficients?
"""

from explorable_jpeg.consistency.check import CheckReport, ComponentReport, check
from explorable_jpeg.consistency.projection import (
    displace,
    mcu_window,
    project,
    project_image,
    project_tensor,
)
from explorable_jpeg.consistency.reachability import free_blocks, unreachable_blocks

__all__ = [
    "CheckReport",
    "ComponentReport",
    "check",
    "displace",
    "free_blocks",
    "mcu_window",
    "project",
    "project_image",
    "project_tensor",
    "unreachable_blocks",
]


def __getattr__(name: str) -> object:
    # explorable_jpeg.consistency was one module; its other names now live in .projection.
    from explorable_jpeg import _moved

    return _moved.forward(__name__, ("explorable_jpeg.consistency.projection",), name)
