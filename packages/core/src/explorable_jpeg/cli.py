"""The ``explorable-jpeg`` command line.

    explorable-jpeg decode IN.jpg -o OUT.png [--model gan|l1|plain] [--seed N] [--z-out Z]
    explorable-jpeg decode DIR/ -o OUT_DIR/            (batch, with a progress bar)
    explorable-jpeg sample IN.jpg -n 8 -o DIR/
    explorable-jpeg check IN.jpg IMAGE.png [--json]
    explorable-jpeg compress IMAGE.png -q 10 [--subsampling 4:2:0] -o OUT.jpg
    explorable-jpeg explore IN.jpg --tool NAME --mask MASK.png [--param k=v …]
        [--scribble S.png] [--source IMG] [--z-in Z] [--z-out Z] -o OUT.png (random/digit: DIR)

Exit codes: 0 success (``check``: every coefficient identical), 1 ``check`` found
differing coefficients, 2 bad input or output (one ``error: …`` line on stderr).

Files whose entropy-coded data libjpeg reports as corrupt are refused unless
``--allow-corrupt`` is given; then the coefficients libjpeg recovered are decoded, and an
output is written only when it passes ``check`` against them.
"""

from __future__ import annotations

import argparse
import glob
import json
import logging
import math
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from tqdm import tqdm

from explorable_jpeg.consistency.check import check
from explorable_jpeg.decoding.plain import decode_plain
from explorable_jpeg.decoding.zfile import load_z, save_z
from explorable_jpeg.errors import CorruptJpegDataError, ExplorableJpegError
from explorable_jpeg.jpeg.code import SUBSAMPLING_FACTORS, JpegCode
from explorable_jpeg.jpeg.io import as_uint8_image, compress, libjpeg_decode, read_jpeg

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


def _expand_inputs(pattern: str) -> list[Path]:
    """A file, a directory (its .jpg/.jpeg files) or a glob pattern → sorted JPEG paths."""
    p = Path(pattern)
    if p.is_dir():
        files = [f for f in p.iterdir() if f.suffix.lower() in (".jpg", ".jpeg", ".jfif")]
    elif any(ch in pattern for ch in "*?["):
        files = [Path(f) for f in glob.glob(pattern)]
    else:
        return [p]
    if not files:
        raise CliError(f"no JPEG files match {pattern}")
    return sorted(files)


def _read_code(args: argparse.Namespace, path: str | os.PathLike) -> tuple[JpegCode, bool]:
    """Read a JPEG for a command; returns ``(code, corrupt)``.

    Corrupt entropy-coded data is refused unless ``--allow-corrupt`` is given; then the
    code is what libjpeg recovered and ``corrupt`` is True (outputs are verified)."""
    try:
        return read_jpeg(path), False
    except CorruptJpegDataError as exc:
        if not getattr(args, "allow_corrupt", False):
            raise CliError(
                str(exc).replace(
                    "pass allow_corrupt=True (CLI: --allow-corrupt)", "pass --allow-corrupt"
                )
            ) from None
        logger.warning("%s: corrupt data; decoding what libjpeg recovered (--allow-corrupt)", path)
        return read_jpeg(path, allow_corrupt=True), True


def _verify_recovered(code: JpegCode, image: np.ndarray, src: str | os.PathLike) -> None:
    """For a file with corrupt data: refuse an output that does not pass ``check``.

    The coefficients libjpeg guesses for damaged data can be ones that no image
    reproduces; writing such an output would break the promise ``check`` makes."""
    report = check(code, image)
    if not report.consistent_where_reachable:
        raise CliError(
            f"{src}: the coefficients libjpeg recovered from the corrupt data cannot all be "
            f"reproduced ({100 * report.identical_fraction:.3f}% identical after decoding); "
            "no output written"
        )


def _load_decoder(args: argparse.Namespace):
    from explorable_jpeg.decoding.decoder import Decoder

    if args.device == "cuda" and not torch.cuda.is_available():
        raise CliError("--device cuda asked for, but no CUDA device is available")
    return Decoder.from_pretrained(args.weights, variant=args.model, device=args.device)


def _decode_one(args, decoder, src: Path, out: Path) -> None:
    code, corrupt = _read_code(args, src)
    if code.orientation != 1:
        logger.info("%s: EXIF orientation %d is reported, not applied", src, code.orientation)
    if decoder is None:
        if args.z_in or args.z_out:
            raise CliError("--z-in/--z-out need a neural model (--model gan)")
        if args.ensemble not in (None, 1):
            raise CliError("--ensemble needs a neural model (--model l1 or gan)")
        image = decode_plain(code)
        if corrupt:
            _verify_recovered(code, image, src)
        _save_png(image, str(out))
        return
    z = None
    if decoder.z_channels:
        if args.z_in:
            z = load_z(args.z_in, code, decoder.z_shape(code))
        elif args.seed is not None:
            z = decoder.random_z(code, args.seed)
        else:
            z = torch.zeros(decoder.z_shape(code))
    elif args.z_in or args.z_out:
        raise CliError("the l1 model has no z; use --model gan")
    image = decoder.decode(code, z=z, ensemble=args.ensemble)
    if corrupt:
        _verify_recovered(code, image, src)
    _save_png(image, str(out))
    if args.z_out:
        save_z(args.z_out, z, code)


def _cmd_decode(args: argparse.Namespace) -> int:
    inputs = _expand_inputs(args.input)
    batch = len(inputs) > 1 or Path(args.input).is_dir()
    if batch:
        out_dir = Path(args.output)
        if args.z_in or args.z_out:
            raise CliError("--z-in/--z-out work on a single input file")
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CliError(f"cannot create output directory {out_dir}: {exc.strerror}") from None
        outputs = [out_dir / (p.stem + ".png") for p in inputs]
    else:
        _ensure_writable(args.output)
        if args.z_out:
            _ensure_writable(args.z_out)
        outputs = [Path(args.output)]
    decoder = None if args.model == "plain" else _load_decoder(args)
    failed = 0
    for src, out in tqdm(
        list(zip(inputs, outputs, strict=True)),
        disable=not batch,
        desc="decode",
        unit="file",
        file=sys.stderr,
    ):
        try:
            _decode_one(args, decoder, src, out)
        except (ExplorableJpegError, OSError, CliError) as exc:
            if not batch:
                raise
            failed += 1
            tqdm.write(f"error: {src}: {exc}", file=sys.stderr)  # above the bar, not in it
    return 2 if failed else 0


def _cmd_sample(args: argparse.Namespace) -> int:
    code, corrupt = _read_code(args, args.input)
    out_dir = Path(args.output)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CliError(f"cannot create output directory {out_dir}: {exc.strerror}") from None
    decoder = _load_decoder(args)
    if not decoder.z_channels:
        raise CliError("the l1 model has no z and gives one decoding; use --model gan")
    stem = Path(args.input).stem
    for k in tqdm(range(args.n), desc="sample", unit="image", file=sys.stderr):
        seed = args.seed + k
        z = decoder.random_z(code, seed)
        image = decoder.decode(code, z=z)
        if corrupt:
            _verify_recovered(code, image, args.input)
        _save_png(image, str(out_dir / f"{stem}_seed{seed}.png"))
        if args.save_z:
            save_z(out_dir / f"{stem}_seed{seed}.z.safetensors", z, code)
    return 0


def _cmd_check(args: argparse.Namespace) -> int:
    code, _ = _read_code(args, args.input)
    image = _load_image(args.image)
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


# ---------------------------------------------------------------------- explore
def _parse_value(text: str):
    """``--param`` values: none/auto, true/false, numbers, comma lists of those, else strings."""
    if "," in text:
        return tuple(_parse_value(part) for part in text.split(","))
    low = text.strip().lower()
    if low in ("none", "auto"):
        return None
    if low in ("true", "yes", "on"):
        return True
    if low in ("false", "no", "off"):
        return False
    for kind in (int, float):
        try:
            return kind(low)
        except ValueError:
            pass
    return text.strip()


def _finite(value, item: str):
    """Refuse NaN and infinite numbers (also inside comma lists) of a ``--param`` item."""
    if isinstance(value, tuple):
        return tuple(_finite(v, item) for v in value)
    if isinstance(value, float) and not math.isfinite(value):
        raise CliError(f"--param {item}: {value} is not a finite number")
    return value


def _explore_params(items: list[str]) -> dict:
    params = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise CliError(f"--param expects key=value, got {item!r}")
        params[key.strip().replace("-", "_")] = _finite(_parse_value(value), item)
    for key in ("directions", "periods", "digits"):  # always lists
        if key in params and not isinstance(params[key], (tuple, list)):
            params[key] = (params[key],)
    return params


def _cmd_tools(args: argparse.Namespace) -> int:
    """Print the tool registry (explore/tools.py): names, defaults, help."""
    from explorable_jpeg.explore.tools import REACH, SPECS

    for tool in SPECS.values():
        print(f"{tool.name}: {tool.label} — {tool.help}")
        if tool.reach is not None:
            print(f"    reach={tool.reach}  ({REACH.help})")
        for p in tool.params:
            print(f"    {p.name}={p.default!r}  ({p.kind}) {p.help}")
    return 0


def _cmd_explore(args: argparse.Namespace) -> int:
    from explorable_jpeg.explore import TOOLS, Explorer

    multi = args.tool in ("random", "digit")
    if multi:
        try:
            Path(args.output).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CliError(
                f"cannot create output directory {args.output}: {exc.strerror}"
            ) from None
    else:
        _ensure_writable(args.output)
    if args.z_out:
        _ensure_writable(args.z_out)
    if args.tool not in TOOLS:
        raise CliError(f"unknown tool {args.tool!r}; choose one of {', '.join(TOOLS)}")
    code, corrupt = _read_code(args, args.input)
    mask = _load_image(args.mask)
    params = _explore_params(args.param or [])
    if args.scribble:
        if args.tool != "scribble":
            raise CliError("--scribble is for --tool scribble")
        scribble = _load_image_rgba(args.scribble)
        if scribble.shape[:2] != (code.height, code.width):
            raise CliError(f"{args.scribble} must be {code.width}x{code.height}")
        if scribble.ndim == 3 and scribble.shape[-1] == 4:  # drawn pixels: alpha > 0
            params["labels"] = (scribble[..., 3] > 0).astype(np.int64)
            scribble = scribble[..., :3]
        params["scribble"] = scribble
    elif args.tool == "scribble" and params.get("mode", "colour") in ("colour", "color"):
        raise CliError("--tool scribble in colour mode needs --scribble SCRIBBLE.png")
    if args.source:
        if args.tool not in ("imprint", "dictionary"):
            raise CliError("--source is for --tool imprint or dictionary")
        params["source"] = _load_image(args.source)
    decoder = _load_decoder(args)
    if not decoder.z_channels:
        raise CliError("exploration needs the gan model")
    z = load_z(args.z_in, code, decoder.z_shape(code)) if args.z_in else None
    explorer = Explorer(decoder, code, z)
    if args.load:
        explorer.load(args.load)
    bars: list[tqdm] = []  # created at the first progress report: a refusal stays one line

    def progress(fraction: float, message: str) -> None:
        if not bars:
            fmt = "{l_bar}{bar}| {postfix}"
            bars.append(tqdm(total=1000, desc=args.tool, file=sys.stderr, bar_format=fmt))
        bars[0].n = int(1000 * fraction)
        bars[0].set_postfix_str(message, refresh=False)
        bars[0].refresh()

    if args.tool != "uniform":
        params.update(progress=progress, budget_s=args.budget)
        if args.iters is not None:
            params["max_iters"] = args.iters
        if args.reach is not None:
            params["reach"] = args.reach
    try:
        result = explorer.apply(args.tool, mask, **params)
        if bars:
            progress(1.0, "done")
    finally:
        for bar in bars:
            bar.close()
    if corrupt:
        for image in [result.image, *getattr(result, "alternatives", {}).values()]:
            if image is not None:
                _verify_recovered(code, image, args.input)
    if multi:
        out_dir = Path(args.output)
        names = {}
        for name, image in result.alternatives.items():
            fname = name.replace(" ", "_") + ".png"
            _save_png(image, str(out_dir / fname))
            names[name] = fname
        if args.tool == "digit":
            summary = {"probabilities": result.scores, "ranking": list(result.scores)}
            (out_dir / "probabilities.json").write_text(json.dumps(summary, indent=2) + "\n")
    else:
        _save_png(result.image, args.output)
    if args.z_out:
        if explorer.field is not None:
            logger.warning("--z-out holds z only; this edit also moved the exploration field "
                           "(use --save to keep the whole state)")  # fmt: skip
        save_z(args.z_out, explorer.z, code)
    if args.save:
        explorer.save(args.save)
    if result.info:
        logger.info("%s: %s", args.tool, result.info)
    return 0


def _load_image_rgba(path: str) -> np.ndarray:
    """Like :func:`_load_image` but keeps an alpha channel (scribbles mark drawn pixels)."""
    try:
        with Image.open(path) as im:
            im.load()
            if im.mode in ("RGBA", "LA", "PA") or "transparency" in im.info:
                return np.asarray(im.convert("RGBA"))
            return as_uint8_image(im)
    except FileNotFoundError:
        raise CliError(f"no such file: {path}") from None
    except (Image.UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise CliError(f"cannot read image {path}: {exc}") from None


def _validate_args(args: argparse.Namespace) -> None:
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
    if getattr(args, "param", None):
        _explore_params(args.param)  # NaN/inf and malformed items, before reading anything


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


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="explorable-jpeg",
        description="Explore the images a JPEG file could have been; every output re-encodes "
        "to the same file.",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="log progress and details")
    sub = p.add_subparsers(dest="command", required=True)

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
    d.set_defaults(func=_cmd_decode)

    s = sub.add_parser("sample", help="write N diverse decodings (random z), named by seed")
    s.add_argument("input", help="input .jpg")
    s.add_argument("-n", type=int, default=8, help="number of decodings")
    s.add_argument("-o", "--output", required=True, help="output directory")
    s.add_argument("--seed", type=int, default=0, help="first seed")
    s.add_argument("--save-z", action="store_true", help="also write each z")
    s.add_argument("--model", choices=["gan"], default="gan")
    _model_args(s)
    _corrupt_arg(s)
    s.set_defaults(func=_cmd_sample)

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
    c.set_defaults(func=_cmd_check)

    k = sub.add_parser("compress", help="compress an image into a real JPEG with libjpeg")
    k.add_argument("input", help="input image (PNG, …)")
    k.add_argument("-q", "--quality", type=int, default=10, help="IJG quality 1–100")
    k.add_argument("--subsampling", choices=sorted(SUBSAMPLING_FACTORS), default="4:2:0")
    k.add_argument("--gray", action="store_true", help="write a grayscale JPEG")
    k.add_argument("--progressive", action="store_true")
    k.add_argument("-o", "--output", required=True, help="output .jpg")
    k.set_defaults(func=_cmd_compress)

    t = sub.add_parser("tools", help="list the exploration tools, their parameters and defaults")
    t.set_defaults(func=_cmd_tools)

    e = sub.add_parser("explore", help="edit a decoding with an exploration tool")
    e.add_argument("input", help="input .jpg")
    from explorable_jpeg.explore.tools import TOOLS

    e.add_argument("--tool", required=True, help=", ".join(TOOLS) + " (`tools` lists them)")
    e.add_argument("--mask", required=True, help="selection PNG, white = selected")
    e.add_argument("--param", action="append", metavar="K=V", help="tool parameter (repeatable)")
    e.add_argument("--scribble", help="scribble image (RGBA: drawn pixels have alpha > 0)")
    e.add_argument("--source", help="source image for imprint / dictionary")
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
        help="how far the tool may leave what the network would produce: 0 = only "
        "the network's images, 1 = any image the file allows (default: the tool's; "
        "see `explorable-jpeg tools`)",
    )
    e.add_argument("--load", help="start from an exploration file (or a z file)")
    e.add_argument("--save", help="write the exploration file (z, field, history, alternatives)")
    e.add_argument("-o", "--output", required=True, help="output .png (random, digit: a directory)")
    e.add_argument("--model", choices=["gan"], default="gan")
    _model_args(e)
    _corrupt_arg(e)
    e.set_defaults(func=_cmd_explore)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        _validate_args(args)
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


if __name__ == "__main__":
    sys.exit(main())
