"""``explore``: edit a decoding with one exploration tool (the registry's ``SPECS``)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Any

import numpy as np
from tqdm import tqdm

from explorable_jpeg.cli.files import (
    ensure_writable,
    load_decoder,
    load_image,
    make_dir,
    read_code,
    save_png,
    verify_recovered,
)
from explorable_jpeg.cli.params import parse_params
from explorable_jpeg.decoding.zfile import load_z, save_z
from explorable_jpeg.errors import CliError
from explorable_jpeg.explore.tools import SPECS, TOOLS, ToolSpec
from explorable_jpeg.jpeg.code import JpegCode

logger = logging.getLogger("explorable_jpeg")


def _tools_taking(name: str) -> str:
    """``a, b or c``: the tools with a parameter ``name``."""
    tools = [t.name for t in SPECS.values() if name in t.accepted()]
    return " or ".join([", ".join(tools[:-1]), tools[-1]] if len(tools) > 1 else tools)


def _images(args: argparse.Namespace, tool: ToolSpec, code: JpegCode, params: dict) -> None:
    """``--scribble`` and ``--source`` into ``params`` (the images the tool's spec takes)."""
    accepted = tool.accepted()
    if args.scribble:
        if "scribble" not in accepted:
            raise CliError(f"--scribble is for --tool {_tools_taking('scribble')}")
        scribble = load_image(args.scribble, keep_alpha=True)
        if scribble.shape[:2] != (code.height, code.width):
            raise CliError(f"{args.scribble} must be {code.width}x{code.height}")
        if scribble.ndim == 3 and scribble.shape[-1] == 4:  # drawn pixels: alpha > 0
            params["labels"] = (scribble[..., 3] > 0).astype(np.int64)
            scribble = scribble[..., :3]
        params["scribble"] = scribble
    elif "scribble" in accepted and params.get("mode", accepted["mode"].default) in (
        "colour",
        "color",
    ):
        raise CliError(f"--tool {tool.name} in colour mode needs --scribble SCRIBBLE.png")
    if args.source:
        if "source" not in accepted:
            raise CliError(f"--source is for --tool {_tools_taking('source')}")
        params["source"] = load_image(args.source)


def _save(args: argparse.Namespace, tool: ToolSpec, result: Any) -> None:
    if not tool.multi:
        save_png(result.image, args.output)
        return
    out_dir = make_dir(args.output)
    for name, image in result.alternatives.items():
        save_png(image, str(out_dir / (name.replace(" ", "_") + ".png")))
    if result.scores:  # ranked alternatives (digit): the classifier's probabilities
        summary = {"probabilities": result.scores, "ranking": list(result.scores)}
        (out_dir / "probabilities.json").write_text(json.dumps(summary, indent=2) + "\n")


def cmd_explore(args: argparse.Namespace) -> int:
    """Apply ``--tool`` in ``--mask``; write the image (several tools: a directory)."""
    from explorable_jpeg.explore.explorer import Explorer

    tool = SPECS.get(args.tool)
    if tool is not None and tool.multi:
        make_dir(args.output)
    else:
        ensure_writable(args.output)
    if args.z_out:
        ensure_writable(args.z_out)
    if tool is None:
        raise CliError(f"unknown tool {args.tool!r}; choose one of {', '.join(TOOLS)}")
    code, corrupt = read_code(args, args.input)
    mask = load_image(args.mask)
    params: dict[str, Any] = parse_params(tool.name, args.param or [])
    _images(args, tool, code, params)
    decoder = load_decoder(args)
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
            bars.append(tqdm(total=1000, desc=tool.name, file=sys.stderr, bar_format=fmt))
        bars[0].n = int(1000 * fraction)
        bars[0].set_postfix_str(message, refresh=False)
        bars[0].refresh()

    if tool.reach is not None:  # an optimising tool
        params.update(progress=progress, budget_s=args.budget)
        if args.iters is not None:
            params["max_iters"] = args.iters
        if args.reach is not None:
            params["reach"] = args.reach
    try:
        result = explorer.apply(tool.name, mask, **params)
        if bars:
            progress(1.0, "done")
    finally:
        for bar in bars:
            bar.close()
    if corrupt:
        for image in [result.image, *getattr(result, "alternatives", {}).values()]:
            if image is not None:
                verify_recovered(code, image, args.input)
    _save(args, tool, result)
    if args.z_out:
        if explorer.field is not None:
            logger.warning("--z-out holds z only; this edit also moved the exploration field "
                           "(use --save to keep the whole state)")  # fmt: skip
        save_z(args.z_out, explorer.z, code)
    if args.save:
        explorer.save(args.save)
    if result.info:
        logger.info("%s: %s", tool.name, result.info)
    return 0
