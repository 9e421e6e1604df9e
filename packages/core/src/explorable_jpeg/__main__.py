"""``python -m explorable_jpeg``: the ``explorable-jpeg`` command."""

import sys

from explorable_jpeg.cli import main

sys.exit(main())
