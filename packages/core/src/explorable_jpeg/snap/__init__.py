"""Snap: from a continuous consistent image to an 8-bit image that re-encodes to the file.

:func:`snap` is the entry point (:mod:`.pipeline`); :mod:`.greedy` and :mod:`.descent` are
the integer searches it falls back on where rounding leaves coefficients outside their bins.
"""

from explorable_jpeg.snap.pipeline import snap

__all__ = ["snap"]


def __getattr__(name: str) -> object:
    # explorable_jpeg.snap was one module; its other names now live in .pipeline.
    from explorable_jpeg import _moved

    return _moved.forward(__name__, ("explorable_jpeg.snap.pipeline",), name)
