"""Moved to :mod:`explorable_jpeg_train.tools.soup`; this old path still imports it (the same
module object, with a DeprecationWarning) and still runs it:
``python -m explorable_jpeg_train.soup`` = ``python -m explorable_jpeg_train.tools.soup``."""

import sys
import warnings

from .tools import soup as _moved

if __name__ == "__main__":
    sys.exit(_moved.main())
warnings.warn(
    "explorable_jpeg_train.soup moved to explorable_jpeg_train.tools.soup",
    DeprecationWarning,
    stacklevel=2,
)
sys.modules[__name__] = _moved
