"""Compatibility path: the explorer lives in :mod:`explorable_jpeg.explore`.

``from explorable_jpeg.explorer import Explorer, rect_mask, TOOLS, …`` keeps working; new
code imports from ``explorable_jpeg`` or ``explorable_jpeg.explore``.
"""

from .explore import *  # noqa: F403
from .explore import __all__  # noqa: F401
