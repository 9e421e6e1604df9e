"""Single entry point: run the phases of a TOML config, resumable.

    python -m explorable_jpeg_train packages/train/configs/gan.toml [--resume]
        [--set key=value ...] [--session-minutes M]
    torchrun --nproc_per_node N -m explorable_jpeg_train CONFIG.toml --resume

Phases run in the order the config lists them (``l1_luma``, ``l1_chroma``, ``gan_luma``,
``gan_chroma``, ``export``). Everything goes to ``run_dir``: ``checkpoint.{npz,json}``,
``log_<phase>.csv``, ``l1/`` and ``gan/`` (npz run dirs), ``weights/`` (export),
``config.toml.json`` (the resolved config). ``--resume`` continues from the checkpoint if
there is one (finished phases are skipped) and starts fresh otherwise; without it an
existing checkpoint is an error. ``--session-minutes`` ends this process cleanly (after a
checkpoint) when a GPU window is about to close; run the same command again to go on.
Training imports neither ``jpeglib`` nor ``safetensors``; ``export`` needs ``safetensors``
and is skipped with a note when it is missing (run it later on a CPU machine).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import torch

from .checkpoint import read_checkpoint_meta
from .config import config_to_dict, load_config
from .data import load_folder
from .distributed import barrier, cleanup, setup
from .loop import Context, SessionEnd, reopen_finished

logger = logging.getLogger("explorable_jpeg_train")


def run_export(ctx: Context) -> bool:
    """``<run_dir>/{l1,gan}`` → fp16 safetensors + config (+ card) under ``export.out``.

    Returns False (phase not done) when ``safetensors`` is missing."""
    if not ctx.dist.is_main:
        return True
    try:
        import safetensors  # noqa: F401
    except ImportError:
        logger.warning(
            "export skipped: safetensors is not installed here. On a CPU machine run: "
            "python -m explorable_jpeg_train %s --resume --set 'phases=[\"export\"]'",
            ctx.run_dir / "config.toml.json",
        )
        return False
    from .export import load_run

    cfg = ctx.cfg
    out = Path(cfg.export.out) if cfg.export.out else ctx.run_dir / "weights"
    cards = {
        v: Path(p).read_text() if p else None
        for v, p in (("l1", cfg.export.l1_card), ("gan", cfg.export.gan_card))
    }
    l1_dir, gan_dir = ctx.run_dir / "l1", ctx.run_dir / "gan"
    if (l1_dir / "chroma.npz").is_file():
        load_run(l1_dir, cfg.export.l1_ensemble).save_pretrained(out / "l1", cards["l1"])
        logger.info("exported %s", out / "l1")
    if (gan_dir / "chroma.npz").is_file():
        load_run(gan_dir).save_pretrained(out / "gan", cards["gan"])
        logger.info("exported %s", out / "gan")
    return True


def run_phase(name: str, ctx: Context) -> bool | None:
    from . import gan, l1_phase

    fn = {
        "l1_luma": l1_phase.run_l1_luma,
        "l1_chroma": l1_phase.run_l1_chroma,
        "gan_luma": gan.run_gan_luma,
        "gan_chroma": gan.run_gan_chroma,
        "export": run_export,
    }[name]
    return fn(ctx)


def needs_images(phases: list[str]) -> bool:
    return any(p != "export" for p in phases)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m explorable_jpeg_train",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("config", help="TOML config (or a run's config.toml.json)")
    p.add_argument("--resume", action="store_true", help="continue from run_dir's checkpoint")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--session-minutes", type=float, default=0.0)
    p.add_argument("--session-steps", type=int, default=0, help="(tests) stop after N steps")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", force=True)

    cfg = load_config(args.config, args.set)
    info, device = setup(cfg.device)
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cudnn.benchmark = True
    run_dir = Path(cfg.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    meta = read_checkpoint_meta(run_dir)
    if meta is not None and not args.resume:
        p.error(f"{run_dir} has a checkpoint: pass --resume, or choose another run_dir")
    if info.is_main:
        (run_dir / "config.toml.json").write_text(json.dumps(config_to_dict(cfg), indent=2))
    meta, reopened = reopen_finished(cfg, meta)
    if reopened:
        logger.info(
            "%s: finished at step %d, but this config's budget is larger: continuing it",
            reopened,
            meta["step"],
        )
    images = probe = []
    todo = [ph for ph in cfg.phases if ph not in (meta or {}).get("done", [])]
    if needs_images(todo):
        images = load_folder(cfg.data.train, device)
        # the probe batch comes from ``val`` or the main folder only, so runs with and without
        # extra folders log comparable learning curves
        probe = load_folder(cfg.data.val, device) if cfg.data.val else list(images)
        for folder in cfg.data.extra:
            images += load_folder(folder, device)
        logger.info(
            "%d training images on %s (rank %d/%d)", len(images), device, info.rank, info.world_size
        )
    ctx = Context(cfg, run_dir, device, info, images, probe, meta)
    ctx.session_minutes = args.session_minutes
    ctx.session_step_limit = args.session_steps
    t0 = time.time()
    try:
        for phase in cfg.phases:
            if phase in ctx.done:
                logger.info("%s: already done", phase)
                continue
            logger.info("%s: start", phase)
            finished = run_phase(phase, ctx)
            barrier(info)
            if finished is not False:
                ctx.mark_done(phase)
    except SessionEnd as end:
        logger.info("session ended at %s after %.0f s; rerun with --resume", end, time.time() - t0)
    finally:
        cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
