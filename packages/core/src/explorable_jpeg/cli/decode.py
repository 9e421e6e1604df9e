"""``decode`` (one file, or a batch with a progress bar) and ``sample`` (N random z)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from tqdm import tqdm

from explorable_jpeg.cli.files import (
    ensure_writable,
    expand_inputs,
    load_decoder,
    make_dir,
    read_code,
    save_png,
    verify_recovered,
)
from explorable_jpeg.errors import CliError, ExplorableJpegError

if TYPE_CHECKING:
    from explorable_jpeg.decoding.decoder import Decoder
    from explorable_jpeg.jpeg.code import JpegCode

logger = logging.getLogger("explorable_jpeg")


def _decode_one(
    args: argparse.Namespace,
    decoder: Decoder | None,
    src: Path,
    out: Path,
    read: tuple[JpegCode, bool] | None = None,
) -> None:
    # torch and the models load after the file was read: a refusal costs no model import
    import torch

    from explorable_jpeg.decoding.plain import decode_plain
    from explorable_jpeg.decoding.zfile import load_z, save_z

    code, corrupt = read_code(args, src) if read is None else read
    if code.orientation != 1:
        logger.info("%s: EXIF orientation %d is reported, not applied", src, code.orientation)
    if decoder is None:
        if args.z_in or args.z_out:
            raise CliError("--z-in/--z-out need a neural model (--model gan)")
        if args.ensemble not in (None, 1):
            raise CliError("--ensemble needs a neural model (--model l1 or gan)")
        image = decode_plain(code)
        if corrupt:
            verify_recovered(code, image, src)
        save_png(image, str(out))
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
        verify_recovered(code, image, src)
    save_png(image, str(out))
    if args.z_out and z is not None:  # the l1 model (no z) refused --z-out above
        save_z(args.z_out, z, code)


def cmd_decode(args: argparse.Namespace) -> int:
    """``decode IN -o OUT``: exit 2 if any file of a batch failed (each one reported)."""
    inputs = expand_inputs(args.input)
    batch = len(inputs) > 1 or Path(args.input).is_dir()
    if batch:
        if args.z_in or args.z_out:
            raise CliError("--z-in/--z-out work on a single input file")
        out_dir = make_dir(args.output)
        outputs = [out_dir / (p.stem + ".png") for p in inputs]
    else:
        ensure_writable(args.output)
        if args.z_out:
            ensure_writable(args.z_out)
        outputs = [Path(args.output)]
    # a single file is read (and refused) before the model loads: a forged or broken file
    # costs milliseconds, not the import of torch and the weights
    read = None if batch else read_code(args, inputs[0])
    decoder = None if args.model == "plain" else load_decoder(args)
    failed = 0
    for src, out in tqdm(
        list(zip(inputs, outputs, strict=True)),
        disable=not batch,
        desc="decode",
        unit="file",
        file=sys.stderr,
    ):
        try:
            _decode_one(args, decoder, src, out, read)
        except (ExplorableJpegError, OSError, CliError) as exc:
            if not batch:
                raise
            failed += 1
            tqdm.write(f"error: {src}: {exc}", file=sys.stderr)  # above the bar, not in it
    return 2 if failed else 0


def cmd_sample(args: argparse.Namespace) -> int:
    """``sample IN -n N -o DIR``: N decodings with random z, named by seed."""
    from explorable_jpeg.decoding.zfile import save_z

    code, corrupt = read_code(args, args.input)
    out_dir = make_dir(args.output)
    decoder = load_decoder(args)
    if not decoder.z_channels:
        raise CliError("the l1 model has no z and gives one decoding; use --model gan")
    stem = Path(args.input).stem
    for k in tqdm(range(args.n), desc="sample", unit="image", file=sys.stderr):
        seed = args.seed + k
        z = decoder.random_z(code, seed)
        image = decoder.decode(code, z=z)
        if corrupt:
            verify_recovered(code, image, args.input)
        save_png(image, str(out_dir / f"{stem}_seed{seed}.png"))
        if args.save_z:
            save_z(out_dir / f"{stem}_seed{seed}.z.safetensors", z, code)
    return 0
