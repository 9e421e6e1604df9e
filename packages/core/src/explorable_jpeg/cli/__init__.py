"""The ``explorable-jpeg`` command line.

    explorable-jpeg decode IN.jpg -o OUT.png [--model gan|l1|plain] [--seed N] [--z-out Z]
    explorable-jpeg decode DIR/ -o OUT_DIR/            (batch, with a progress bar)
    explorable-jpeg sample IN.jpg -n 8 -o DIR/
    explorable-jpeg check IN.jpg IMAGE.png [--json]
    explorable-jpeg compress IMAGE.png -q 10 [--subsampling 4:2:0] -o OUT.jpg
    explorable-jpeg tools [--markdown]
    explorable-jpeg explore IN.jpg --tool NAME --mask MASK.png [--param k=v …]
        [--scribble S.png] [--source IMG] [--z-in Z] [--z-out Z] -o OUT.png (random/digit: DIR)

Exit codes: 0 success (``check``: every coefficient identical), 1 ``check`` found
differing coefficients, 2 bad input or output (one ``error: …`` line on stderr).

Files whose entropy-coded data libjpeg reports as corrupt are refused unless
``--allow-corrupt`` is given; then the coefficients libjpeg recovered are decoded, and an
output is written only when it passes ``check`` against them.

Modules: :mod:`.args` (the parser, checks before any work), :mod:`.files` (reading and
writing), :mod:`.decode` (decode, sample), :mod:`.check` (check,
compress), :mod:`.explore`, :mod:`.params` (``--param`` from the tool registry),
:mod:`.tools` (the registry as text and Markdown).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

from explorable_jpeg.cli.args import build_parser, validate_args
from explorable_jpeg.errors import CliError, ExplorableJpegError

__all__ = ["CliError", "build_parser", "main"]

logger = logging.getLogger("explorable_jpeg")


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns its exit code (errors: one ``error: …`` line on stderr)."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        validate_args(args)
        return int(args.func(args))
    except (CliError, ExplorableJpegError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except MemoryError:
        print("error: out of memory (image too large for this machine)", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug, not bad input: one line, details with --verbose
        logger.debug("internal error", exc_info=True)
        print(
            f"error: internal error ({type(exc).__name__}: {exc}); rerun with -v for details",
            file=sys.stderr,
        )
        return 3
