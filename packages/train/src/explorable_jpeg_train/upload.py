"""Moved to :mod:`explorable_jpeg_train.tools.upload`; this old path still imports it (the same
module object, with a DeprecationWarning) and still runs it:
``python -m explorable_jpeg_train.upload`` = ``python -m explorable_jpeg_train.tools.upload``."""

import sys
import warnings

from .tools import upload as _moved

if __name__ == "__main__":
    sys.exit(_moved.main())
warnings.warn(
    "explorable_jpeg_train.upload moved to explorable_jpeg_train.tools.upload",
    DeprecationWarning,
    stacklevel=2,
)
sys.modules[__name__] = _moved
