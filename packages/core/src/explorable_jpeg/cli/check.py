"""``check`` (does an image re-encode to the file?) and ``compress`` (libjpeg)."""

from __future__ import annotations

import argparse
import json

import numpy as np
from PIL import Image

from explorable_jpeg.cli.files import ensure_writable, load_image, read_code
from explorable_jpeg.consistency.check import check
from explorable_jpeg.errors import ExplorableJpegError
from explorable_jpeg.jpeg.io import libjpeg_decode
from explorable_jpeg.jpeg.write import compress


def cmd_check(args: argparse.Namespace) -> int:
    """Print the report of ``IMAGE`` against ``IN.jpg`` (and of libjpeg's own decode).

    Exit 0 when every reproducible coefficient is identical (``--strict``: every one),
    else 1."""
    code, _ = read_code(args, args.input)
    image = load_image(args.image)
    report = check(code, image)
    try:
        reference = check(code, libjpeg_decode(args.input))
    except (OSError, ExplorableJpegError) as exc:  # Pillow may refuse damaged data
        reference = None
        why = f"not available (Pillow/libjpeg: {exc})"
    if args.json:
        out = report.to_dict()
        out["libjpeg_decode"] = reference.to_dict() if reference else {"error": why}
        print(json.dumps(out, indent=2))
    else:
        print(f"{args.image}: {report.summary()}")
        print(f"libjpeg's own decode: {reference.summary() if reference else why}")
    return 0 if (report.consistent if args.strict else report.consistent_where_reachable) else 1


def cmd_compress(args: argparse.Namespace) -> int:
    """Compress an image into a real JPEG with libjpeg."""
    ensure_writable(args.output)
    image = load_image(args.input)
    if args.gray and image.ndim == 3:
        image = np.asarray(Image.fromarray(image).convert("L"))
    compress(
        image,
        quality=args.quality,
        subsampling=args.subsampling,
        progressive=args.progressive,
        path=args.output,
    )
    return 0
