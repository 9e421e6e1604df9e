"""``explorable-jpeg-app`` / ``python -m explorable_jpeg_app``: start the web app."""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Sequence

from .malloc import limit_arenas


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="explorable-jpeg-app", description=__doc__)
    parser.add_argument(
        "--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"), help="bind address"
    )
    parser.add_argument(
        "--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", "7860"))
    )
    parser.add_argument("--weights", help="decoder weights folder or Hub repo (default: bundled)")
    parser.add_argument(
        "--concurrency", type=int, default=None, help="heavy jobs at once (default 1)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    limit_arenas()  # before the server's worker threads start (see .malloc)
    if args.weights:
        os.environ["EXPLORABLE_JPEG_WEIGHTS"] = args.weights

    from .ui import create_app, launch

    launch(create_app(concurrency=args.concurrency), server_name=args.host, server_port=args.port)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
