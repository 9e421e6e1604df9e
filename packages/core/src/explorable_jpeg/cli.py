"""The ``explorable-jpeg`` command line.

    explorable-jpeg decode IN.jpg -o OUT.png [--model plain]
    explorable-jpeg check IN.jpg IMAGE.png [--json]
    explorable-jpeg compress IMAGE.png -q 10 [--subsampling 4:2:0] -o OUT.jpg

Exit codes: 0 success (``check``: every coefficient identical), 1 ``check`` found
differing coefficients, 2 bad input or output (one ``error: …`` line on stderr).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from .check import check
from .code import SUBSAMPLING_FACTORS
from .errors import ExplorableJpegError
from .jpeg_io import as_uint8_image, compress, libjpeg_decode, read_jpeg
from .plain import decode_plain

logger = logging.getLogger("explorable_jpeg")


class CliError(Exception):
    """A user error reported as ``error: <message>`` with exit code 2."""


def _ensure_writable(path: str) -> None:
    parent = Path(path).expanduser().resolve().parent
    if not parent.is_dir():
        raise CliError(f"cannot write {path}: directory {parent} does not exist")
    if not os.access(parent, os.W_OK) or (Path(path).exists() and not os.access(path, os.W_OK)):
        raise CliError(f"cannot write {path}: permission denied")


def _save_png(image: np.ndarray, path: str) -> None:
    try:
        Image.fromarray(image).save(path, format="PNG")
    except OSError as exc:
        raise CliError(f"cannot write {path}: {exc}") from None


def _load_image(path: str) -> np.ndarray:
    try:
        with Image.open(path) as im:
            im.load()
            return as_uint8_image(im)
    except FileNotFoundError:
        raise CliError(f"no such file: {path}") from None
    except Image.DecompressionBombError as exc:
        raise CliError(f"image too large: {exc}") from None
    except (Image.UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise CliError(f"cannot read image {path}: {exc}") from None


def _cmd_decode(args: argparse.Namespace) -> int:
    _ensure_writable(args.output)
    code = read_jpeg(args.input)
    if code.orientation != 1:
        logger.info("EXIF orientation %d is reported, not applied", code.orientation)
    image = decode_plain(code)
    _save_png(image, args.output)
    return 0


def _cmd_check(args: argparse.Namespace) -> int:
    code = read_jpeg(args.input)
    image = _load_image(args.image)
    report = check(code, image)
    reference = check(code, libjpeg_decode(args.input))
    if args.json:
        out = report.to_dict()
        out["libjpeg_decode"] = reference.to_dict()
        print(json.dumps(out, indent=2))
    else:
        print(f"{args.image}: {report.summary()}")
        print(f"libjpeg's own decode: {reference.summary()}")
    return 0 if report.consistent else 1


def _cmd_compress(args: argparse.Namespace) -> int:
    _ensure_writable(args.output)
    image = _load_image(args.input)
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


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="explorable-jpeg",
        description="Explore the images a JPEG file could have been; every output re-encodes "
        "to the same file.",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="log progress and details")
    sub = p.add_subparsers(dest="command", required=True)

    d = sub.add_parser("decode", help="decode a JPEG into a PNG that re-encodes to it exactly")
    d.add_argument("input", help="input .jpg")
    d.add_argument("-o", "--output", required=True, help="output .png")
    d.add_argument(
        "--model",
        choices=["plain"],
        default="plain",
        help="decoder: plain = bin centres (the baseline)",
    )
    d.set_defaults(func=_cmd_decode)

    c = sub.add_parser("check", help="does IMAGE re-encode (file's tables/sampling) to IN.jpg?")
    c.add_argument("input", help="the JPEG file")
    c.add_argument("image", help="the decoded image (PNG, 8-bit), same size and orientation")
    c.add_argument("--json", action="store_true", help="print the report as JSON")
    c.set_defaults(func=_cmd_check)

    k = sub.add_parser("compress", help="compress an image into a real JPEG with libjpeg")
    k.add_argument("input", help="input image (PNG, …)")
    k.add_argument("-q", "--quality", type=int, default=10, help="IJG quality 1–100")
    k.add_argument("--subsampling", choices=sorted(SUBSAMPLING_FACTORS), default="4:2:0")
    k.add_argument("--gray", action="store_true", help="write a grayscale JPEG")
    k.add_argument("--progressive", action="store_true")
    k.add_argument("-o", "--output", required=True, help="output .jpg")
    k.set_defaults(func=_cmd_compress)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
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


if __name__ == "__main__":
    sys.exit(main())
