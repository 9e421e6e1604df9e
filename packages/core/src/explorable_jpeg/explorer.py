"""Compatibility path: the explorer lives in :mod:`explorable_jpeg.explore`.

``from explorable_jpeg.explorer import Explorer, rect_mask, TOOLS, …`` keeps working; new
code imports from ``explorable_jpeg`` or ``explorable_jpeg.explore``.
"""

from .explore import (
    SPECS,
    TOOLS,
    ExplorationError,
    ExplorationFileError,
    Explorer,
    OptimizeResult,
    RegionError,
    State,
    ToolResult,
    UnknownToolError,
    as_mask,
    block_mask,
    rect_mask,
)

__all__ = [
    "SPECS",
    "TOOLS",
    "ExplorationError",
    "ExplorationFileError",
    "Explorer",
    "OptimizeResult",
    "RegionError",
    "State",
    "ToolResult",
    "UnknownToolError",
    "as_mask",
    "block_mask",
    "rect_mask",
]
