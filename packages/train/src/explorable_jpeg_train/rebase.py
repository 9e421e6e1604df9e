"""Moved to :mod:`explorable_jpeg_train.tools.rebase`; this old path still imports it (the same
module object, with a DeprecationWarning) and still runs it:
``python -m explorable_jpeg_train.rebase`` = ``python -m explorable_jpeg_train.tools.rebase``."""

import sys
import warnings

from .tools import rebase as _moved

if __name__ == "__main__":
    sys.exit(_moved.main())
warnings.warn(
    "explorable_jpeg_train.rebase moved to explorable_jpeg_train.tools.rebase",
    DeprecationWarning,
    stacklevel=2,
)
sys.modules[__name__] = _moved
