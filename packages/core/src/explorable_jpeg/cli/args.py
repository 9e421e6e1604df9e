"""The argument parser of every command, and the checks made before any work."""

from __future__ import annotations

import argparse
import importlib
import math
from collections.abc import Callable

from explorable_jpeg.cli.params import parse_params, split_items
from explorable_jpeg.cli.tools import cmd_tools, explore_epilog
from explorable_jpeg.errors import CliError
from explorable_jpeg.explore.tools import REACH, SPECS, TOOLS
from explorable_jpeg.jpeg.code import SUBSAMPLING_FACTORS


def _command(module: str, name: str) -> Callable[[argparse.Namespace], int]:
    """``name`` of ``explorable_jpeg.cli.<module>``, imported when the command runs: parsing
    the arguments (and refusing a bad file before any model) does not import torch."""

    def run(args: argparse.Namespace) -> int:
        func: Callable[[argparse.Namespace], int] = getattr(
            importlib.import_module(f"explorable_jpeg.cli.{module}"), name
        )
        return func(args)

    run.__name__ = name
    return run


cmd_decode = _command("decode", "cmd_decode")
cmd_sample = _command("decode", "cmd_sample")
cmd_check = _command("check", "cmd_check")
cmd_compress = _command("check", "cmd_compress")
cmd_explore = _command("explore", "cmd_explore")


def validate_args(args: argparse.Namespace) -> None:
    """Refuse out-of-range numeric arguments before any work (and any progress bar)."""
    budget = getattr(args, "budget", None)
    if budget is not None and not (math.isfinite(budget) and budget > 0):
        raise CliError(f"--budget must be a positive number of seconds, got {budget}")
    iters = getattr(args, "iters", None)
    if iters is not None and iters < 0:
        raise CliError(f"--iters must be 0 or more, got {iters}")
    reach = getattr(args, "reach", None)
    if reach is not None and not (math.isfinite(reach) and 0.0 <= reach <= 1.0):
        raise CliError(f"--reach must lie in [0, 1], got {reach}")
    n = getattr(args, "n", None)
    if n is not None and n < 1:
        raise CliError(f"-n must be at least 1, got {n}")
    seed = getattr(args, "seed", None)
    if seed is not None and not 0 <= seed < 2**63:
        raise CliError(f"--seed must lie in 0..2^63-1, got {seed}")
    items = getattr(args, "param", None)
    if items:
        split_items(items)  # malformed items and NaN/inf, whatever the tool
        if args.tool in SPECS:  # an unknown tool is refused by the command
            parse_params(args.tool, items)  # names, kinds and ranges, from the registry


def _corrupt_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--allow-corrupt",
        action="store_true",
        help="accept a file whose entropy-coded data libjpeg reports as corrupt: decode the "
        "coefficients libjpeg recovered (an output is written only if it passes check)",
    )


def _model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--weights", help="weights folder or Hub repo id (default: bundled)")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"], help="default: cpu")


def _decode_parser(sub: argparse._SubParsersAction) -> None:
    d = sub.add_parser("decode", help="decode JPEGs into PNGs that re-encode to them exactly")
    d.add_argument("input", help="input .jpg, a directory of them, or a quoted glob")
    d.add_argument("-o", "--output", required=True, help="output .png (a directory for batches)")
    d.add_argument(
        "--model",
        choices=["gan", "l1", "plain"],
        default="gan",
        help="gan: explorable network (default); l1: best PSNR; plain: bin centres",
    )
    d.add_argument("--seed", type=int, help="draw a random z from this seed (gan)")
    d.add_argument("--z-in", help="control signal z (.safetensors) to decode with (gan)")
    d.add_argument("--z-out", help="write the z used (.safetensors), e.g. for explore --z-in")
    d.add_argument(
        "--ensemble",
        type=int,
        choices=[1, 2, 4, 8],
        default=None,
        help="average over N flipped/transposed copies of the code: a little more accurate, "
        "N times the network time (for --model l1; it averages the gan's texture away); "
        "default: the model's own (config.json 'ensemble': 2 for the bundled l1, 1 for gan)",
    )
    _model_args(d)
    _corrupt_arg(d)
    d.set_defaults(func=cmd_decode)

    s = sub.add_parser("sample", help="write N diverse decodings (random z), named by seed")
    s.add_argument("input", help="input .jpg")
    s.add_argument("-n", type=int, default=8, help="number of decodings")
    s.add_argument("-o", "--output", required=True, help="output directory")
    s.add_argument("--seed", type=int, default=0, help="first seed")
    s.add_argument("--save-z", action="store_true", help="also write each z")
    s.add_argument("--model", choices=["gan"], default="gan")
    _model_args(s)
    _corrupt_arg(s)
    s.set_defaults(func=cmd_sample)


def _check_parser(sub: argparse._SubParsersAction) -> None:
    c = sub.add_parser("check", help="does IMAGE re-encode (file's tables/sampling) to IN.jpg?")
    c.add_argument("input", help="the JPEG file")
    c.add_argument("image", help="the decoded image (PNG, 8-bit), same size and orientation")
    c.add_argument("--json", action="store_true", help="print the report as JSON")
    c.add_argument(
        "--strict",
        action="store_true",
        help="exit 1 also when only edge blocks that no image of this size can reproduce "
        "differ (files whose padding is not libjpeg's edge replication, e.g. lossless crops)",
    )
    _corrupt_arg(c)
    c.set_defaults(func=cmd_check)

    k = sub.add_parser("compress", help="compress an image into a real JPEG with libjpeg")
    k.add_argument("input", help="input image (PNG, …)")
    k.add_argument("-q", "--quality", type=int, default=10, help="IJG quality 1–100")
    k.add_argument("--subsampling", choices=sorted(SUBSAMPLING_FACTORS), default="4:2:0")
    k.add_argument("--gray", action="store_true", help="write a grayscale JPEG")
    k.add_argument("--progressive", action="store_true")
    k.add_argument("-o", "--output", required=True, help="output .jpg")
    k.set_defaults(func=cmd_compress)


def _explore_parser(sub: argparse._SubParsersAction) -> None:
    t = sub.add_parser("tools", help="list the exploration tools, their parameters and defaults")
    t.add_argument("--markdown", action="store_true", help="as Markdown (docs/tools.md)")
    t.set_defaults(func=cmd_tools)

    e = sub.add_parser(
        "explore",
        help="edit a decoding with an exploration tool",
        epilog=explore_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    e.add_argument("input", help="input .jpg")
    e.add_argument("--tool", required=True, help=", ".join(TOOLS) + " (`tools` lists them)")
    e.add_argument("--mask", required=True, help="selection PNG, white = selected")
    e.add_argument(
        "--param",
        action="append",
        metavar="NAME=VALUE",
        help="a parameter of the tool (repeatable; lists: NAME=a,b); the names, defaults "
        "and accepted values are below and in `explorable-jpeg tools`",
    )
    e.add_argument("--scribble", help="scribble image (RGBA: drawn pixels have alpha > 0)")
    e.add_argument("--source", help="source image for the tools with a source parameter")
    e.add_argument("--z-in", help="starting z (.safetensors, e.g. from decode --z-out)")
    e.add_argument("--z-out", help="write the resulting z")
    e.add_argument("--budget", type=float, default=30.0, help="seconds per optimisation")
    e.add_argument(
        "--iters",
        type=int,
        default=None,
        help="iterations of the z phase (default: the tool's; 0: none)",
    )
    e.add_argument(
        "--reach",
        type=float,
        default=None,
        help=f"{REACH.help} (default: the tool's; see `explorable-jpeg tools`)",
    )
    e.add_argument("--load", help="start from an exploration file (or a z file)")
    e.add_argument("--save", help="write the exploration file (z, field, history, alternatives)")
    e.add_argument(
        "-o",
        "--output",
        required=True,
        help="output .png (tools with several results: a directory)",
    )
    e.add_argument("--model", choices=["gan"], default="gan")
    _model_args(e)
    _corrupt_arg(e)
    e.set_defaults(func=cmd_explore)


def build_parser() -> argparse.ArgumentParser:
    """The ``explorable-jpeg`` parser: decode, sample, check, compress, tools, explore."""
    p = argparse.ArgumentParser(
        prog="explorable-jpeg",
        description="Explore the images a JPEG file could have been; every output re-encodes "
        "to the same file.",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="log progress and details")
    sub = p.add_subparsers(dest="command", required=True)
    _decode_parser(sub)
    _check_parser(sub)
    _explore_parser(sub)
    return p
