"""Exploration: move a decoding inside the set of images its JPEG file allows.

- :mod:`.state` — the state ``(z, field)`` and its undo/redo history;
- :mod:`.selection` — user masks snapped to blocks and MCUs;
- :mod:`.loop` and :mod:`.field` — the z phase and the field phase of an optimisation;
- :mod:`.tools` — the registry of tools and their parameters; :mod:`.handlers` — how each
  tool becomes an objective (``explorable_jpeg.explore.objectives``);
- :mod:`.glyphs` — rendered digit targets; :mod:`.files` — exploration files;
- :mod:`.optimize` — one optimisation of the state in a selection (crop, both phases);
- :mod:`.result` — :class:`ToolResult`, and the part of the explorer handlers use;
- :mod:`.explorer` — :class:`Explorer`, which ties them together.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from explorable_jpeg._lazy import lazy_names

if TYPE_CHECKING:
    from explorable_jpeg.explore.explorer import Explorer
    from explorable_jpeg.explore.files import ExplorationFileError
    from explorable_jpeg.explore.loop import OptimizeResult
    from explorable_jpeg.explore.objectives.base import ExplorationError, RegionError
    from explorable_jpeg.explore.result import ToolResult
    from explorable_jpeg.explore.selection import as_mask, block_mask, rect_mask
    from explorable_jpeg.explore.state import State
    from explorable_jpeg.explore.tools import (
        SPECS,
        TOOLS,
        Param,
        ToolSpec,
        UnknownToolError,
        spec,
    )

# Public name -> its module, loaded on first access (PEP 562): the tool registry
# (``explore.tools``, which the CLI's argument parser reads) does not import torch.
_LAZY: dict[str, str] = {
    "Explorer": "explorable_jpeg.explore.explorer",
    "ExplorationFileError": "explorable_jpeg.explore.files",
    "OptimizeResult": "explorable_jpeg.explore.loop",
    "ExplorationError": "explorable_jpeg.explore.objectives.base",
    "RegionError": "explorable_jpeg.explore.objectives.base",
    "ToolResult": "explorable_jpeg.explore.result",
    "as_mask": "explorable_jpeg.explore.selection",
    "block_mask": "explorable_jpeg.explore.selection",
    "rect_mask": "explorable_jpeg.explore.selection",
    "State": "explorable_jpeg.explore.state",
    **{n: "explorable_jpeg.explore.tools"
       for n in ("SPECS", "TOOLS", "Param", "ToolSpec", "UnknownToolError", "spec")},
}  # fmt: skip


__getattr__, __dir__ = lazy_names(globals(), _LAZY)


__all__ = [
    "SPECS",
    "TOOLS",
    "ExplorationError",
    "ExplorationFileError",
    "Explorer",
    "OptimizeResult",
    "Param",
    "RegionError",
    "State",
    "ToolResult",
    "ToolSpec",
    "UnknownToolError",
    "as_mask",
    "block_mask",
    "rect_mask",
    "spec",
]
