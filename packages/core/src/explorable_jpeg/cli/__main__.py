"""``python -m explorable_jpeg.cli``: the ``explorable-jpeg`` command."""

import sys

from explorable_jpeg.cli import main

sys.exit(main())
