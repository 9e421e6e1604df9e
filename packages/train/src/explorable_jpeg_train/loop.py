"""What every phase shares: budgets, seeding, checkpoints, logging, gradient steps.

A phase runs while its step limit (``*_steps``, 0 = none) and time budget (``*_minutes``,
counted across resumed sessions) last. Independently, a *session* may stop early
(``session_minutes`` / ``session_steps`` of the run config, for short GPU windows): the
checkpoint is written and ``SessionEnd`` is raised; ``--resume`` continues at that step.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import logging
import math
import time
from pathlib import Path

import torch

from . import checkpoint as ckpt
from .config import PHASES, RunConfig, config_to_dict
from .distributed import DistInfo, average_gradients

logger = logging.getLogger("explorable_jpeg_train")


class SessionEnd(Exception):
    """The session's own budget ran out; a checkpoint was written."""


@dataclasses.dataclass
class Context:
    cfg: RunConfig
    run_dir: Path
    device: torch.device
    dist: DistInfo
    images: list
    probe_images: list
    meta: dict | None = None  # checkpoint metadata when resuming
    session_start: float = dataclasses.field(default_factory=time.time)
    session_steps: int = 0  # steps run in this session (all phases)
    session_minutes: float = 0.0
    session_step_limit: int = 0
    _perceptual: object = None  # STLPIPS, False when unavailable, None before the first use

    def perceptual(self):
        """The probe's perceptual metric (ST-LPIPS, :class:`.metrics.STLPIPS`) or None when
        ``stlpips-pytorch`` is not installed here (logged once; a GPU box may lack it)."""
        if self._perceptual is None:
            from .metrics import STLPIPS

            try:
                self._perceptual = STLPIPS(str(self.device))
            except RuntimeError as exc:
                logger.warning("probe without ST-LPIPS: %s", exc)
                self._perceptual = False
        return self._perceptual or None

    @property
    def done(self) -> list[str]:
        return list((self.meta or {}).get("done", []))

    def mark_done(self, phase: str) -> None:
        path = self.run_dir / ckpt.CKPT_JSON
        # the file also holds what save_checkpoint adds (optimizer groups, generator devices)
        on_disk = json.loads(path.read_text()) if path.is_file() else {}
        self.meta = {**on_disk, **(self.meta or {})}
        self.meta["done"] = [*self.done, phase]
        self.meta["phase"] = None
        if phase_budget(self.cfg, phase) is not None:
            self.meta["state_of"] = phase  # checkpoint.npz still holds this phase's state
        self._write_meta()

    def _write_meta(self) -> None:
        if self.dist.is_main:
            (self.run_dir / ckpt.CKPT_JSON).write_text(json.dumps(self.meta, indent=2))


def reopen_finished(cfg: RunConfig, meta: dict | None) -> tuple[dict | None, str | None]:
    """``--resume`` with a raised budget continues a finished phase: the phase whose state
    the checkpoint still holds (the last one trained) is taken off ``done`` when the budget
    of ``cfg`` (``*_steps`` / ``*_minutes``) is not yet spent at the saved step and time;
    it then resumes at that step like an interrupted phase (its learning-rate schedule
    follows the new budget). Returns ``(meta, reopened phase or None)``."""
    if not meta or meta.get("phase") is not None:
        return meta, None
    done = list(meta.get("done", []))
    state_of = meta.get("state_of")
    if state_of is None:  # checkpoints written before state_of: the last phase trained
        trained = [p for p in done if phase_budget(cfg, p) is not None]
        state_of = trained[-1] if trained else None
    budget = phase_budget(cfg, state_of) if state_of in cfg.phases else None
    if budget is None or budget_spent(*budget, meta.get("step", 0), meta.get("elapsed", 0.0)):
        return meta, None
    return {**meta, "done": [p for p in done if p != state_of], "phase": state_of}, state_of


def phase_budget(cfg: RunConfig, phase: str) -> tuple[int, float] | None:
    """``(steps, minutes)`` limits of a training phase (0: none); None for ``export``."""
    return {
        "l1_luma": (cfg.l1.luma_steps, cfg.l1.luma_minutes),
        "l1_chroma": (cfg.l1.chroma_steps, cfg.l1.chroma_minutes),
        "gan_luma": (cfg.gan.luma_steps, cfg.gan.luma_minutes),
        "gan_chroma": (cfg.gan.chroma_steps, cfg.gan.chroma_minutes),
    }.get(phase)


def budget_spent(steps: int, minutes: float, step: int, seconds: float) -> bool:
    """The stopping rule of :meth:`PhaseRun.running`."""
    return bool((steps and step >= steps) or (minutes and seconds >= minutes * 60.0))


def warmup_constant(step: int, base: float, warmup: int) -> float:
    return base * min(1.0, (step + 1) / max(warmup, 1))


def warmup_cosine(step: int, frac: float, base: float, warmup: int) -> float:
    """Linear warm-up over ``warmup`` steps, then cosine decay to 10% at ``frac = 1``."""
    w = min(1.0, (step + 1) / max(warmup, 1))
    return base * w * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(frac, 1.0))))


def optimizer_step(opt, loss, params, clip: float, info: DistInfo, lr: float) -> float:
    """zero_grad → backward → average over ranks → clip → step; returns the grad norm."""
    for g in opt.param_groups:
        g["lr"] = lr
    opt.zero_grad(set_to_none=True)
    loss.backward()
    average_gradients(params, info)
    if clip > 0:
        norm = float(torch.nn.utils.clip_grad_norm_(params, clip))
    else:
        norm = float(torch.sqrt(sum((p.grad**2).sum() for p in params if p.grad is not None)))
    opt.step()
    return norm


class PhaseRun:
    """Budget, generators, checkpoint timer and CSV/TensorBoard log of one phase."""

    def __init__(self, ctx: Context, phase: str, steps: int, minutes: float) -> None:
        self.ctx, self.phase = ctx, phase
        self.max_steps, self.budget = steps, minutes * 60.0
        cfg, rank = ctx.cfg, ctx.dist.rank
        base = cfg.seed * 7919 + 1000 * rank + 100 * PHASES.index(phase)
        torch.manual_seed(base)
        self.gen = torch.Generator(device=ctx.device).manual_seed(base + 1)  # tables, z, ε
        self.cpu_gen = torch.Generator().manual_seed(base + 2)  # crops, sampling choices
        self.step, self.elapsed = 0, 0.0
        self.modules: dict = {}
        self.optimizers: dict = {}
        self.t0 = self.last_save = time.time()
        self.elapsed0 = 0.0
        self.writer = None
        self.log_path = ctx.run_dir / f"log_{phase}.csv"

    @property
    def resuming(self) -> bool:
        return bool(self.ctx.meta and self.ctx.meta.get("phase") == self.phase)

    def register(self, modules: dict, optimizers: dict) -> None:
        """Track what the checkpoint holds; restore it when resuming this phase."""
        self.modules, self.optimizers = modules, optimizers
        if self.resuming:
            meta = ckpt.load_checkpoint(
                self.ctx.run_dir,
                modules,
                optimizers,
                {"gen": self.gen, "cpu_gen": self.cpu_gen},
                self.ctx.cfg.seed,
            )
            self.step, self.elapsed0 = int(meta["step"]), float(meta["elapsed"])
            logger.info(
                "%s: resumed at step %d (%.0f s done)", self.phase, self.step, self.elapsed0
            )
        self.t0 = self.last_save = time.time()
        if self.ctx.dist.is_main and self.ctx.cfg.tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.writer = SummaryWriter(str(self.ctx.run_dir / "tb" / self.phase))
            except ImportError:
                self.writer = None

    def attach_ema(self, name: str, ema) -> None:
        """Checkpoint a weight average (``ema.py``) under ``name``: restored when resuming a
        checkpoint that holds it, else it starts from the (resumed) net's weights."""
        if ema is None:
            return
        self.modules[name] = ema
        if self.resuming and not ckpt.load_module_if_saved(self.ctx.run_dir, name, ema):
            logger.info("%s: the checkpoint has no %s; the average starts here", self.phase, name)

    @property
    def seconds(self) -> float:
        return self.elapsed0 + time.time() - self.t0

    def frac(self) -> float:
        """Progress in [0, 1]: by steps when a step limit is set, else by time."""
        if self.max_steps:
            return self.step / self.max_steps
        return self.seconds / self.budget if self.budget else 1.0

    def running(self) -> bool:
        stop = budget_spent(self.max_steps, self.budget / 60.0, self.step, self.seconds)
        return not self._agree(stop)

    def _agree(self, flag: bool) -> bool:
        """All ranks stop together (rank clocks differ)."""
        if not self.ctx.dist.enabled:
            return flag
        t = torch.tensor([float(flag)], device=self.ctx.device)
        torch.distributed.all_reduce(t, op=torch.distributed.ReduceOp.MAX)
        return bool(t.item())

    def end_step(self, save_outputs) -> None:
        """After each step: count, checkpoint on the timer, end the session if due."""
        self.step += 1
        ctx = self.ctx
        ctx.session_steps += 1
        session_over = (ctx.session_step_limit and ctx.session_steps >= ctx.session_step_limit) or (
            ctx.session_minutes and time.time() - ctx.session_start >= ctx.session_minutes * 60
        )
        session_over = self._agree(bool(session_over))
        due = time.time() - self.last_save >= ctx.cfg.save_every_s
        if due or session_over:
            self.save(save_outputs)
        if session_over:
            raise SessionEnd(f"{self.phase} step {self.step}")

    def save(self, save_outputs) -> None:
        self.last_save = time.time()
        if not self.ctx.dist.is_main:
            return
        meta = {
            "phase": self.phase,
            "step": self.step,
            "elapsed": self.seconds,
            "done": self.ctx.done,
            "saved_at": time.strftime("%Y-%m-%d %H:%M:%S"),
            "config": config_to_dict(self.ctx.cfg),
        }
        ckpt.save_checkpoint(
            self.ctx.run_dir,
            meta,
            self.modules,
            self.optimizers,
            {"gen": self.gen, "cpu_gen": self.cpu_gen},
        )
        self.ctx.meta = meta
        save_outputs()
        logger.info("%s: checkpoint at step %d", self.phase, self.step)

    def log(self, row: dict) -> None:
        if not self.ctx.dist.is_main:
            return
        row = {"step": self.step, "seconds": round(self.seconds, 2), **row}
        append_csv_row(self.log_path, row)
        if self.writer is not None:
            for k, v in row.items():
                if k not in ("step", "seconds") and isinstance(v, (int, float)):
                    self.writer.add_scalar(k, v, self.step)
        text = " ".join(
            f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in row.items()
        )
        logger.info("%s %s", self.phase, text)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


@dataclasses.dataclass
class ProbeBaseline:
    """The probe batch's bin-centre decoding scores, computed once per phase: the reference
    of the logged gains (PSNR) and of ``probe_stlpips_bin_centre``."""

    psnr: float
    stlpips: float | None


def probe_baseline(probe, lp=None) -> ProbeBaseline:
    """:class:`ProbeBaseline` of a luma probe batch (``q``, ``table``, ``y``); ``lp`` the
    perceptual metric or None."""
    from explorable_jpeg.models.luma import coefficients_to_pixels

    with torch.no_grad():
        base = coefficients_to_pixels(probe.q, probe.table)
    return ProbeBaseline(psnr(base, probe.y), None if lp is None else lp.batch(base, probe.y))


def append_csv_row(path: Path, row: dict) -> None:
    """Append ``row`` under the file's header. Rows differ in their keys (probe metrics every
    ``eval_every`` steps, ``g_adv`` from ``adv_start`` on): a key the header lacks rewrites the
    file once with the wider header, earlier rows getting empty cells, so every column stays
    under its own name."""
    fields: list[str] = []
    if path.exists():
        with open(path, newline="") as f:
            fields = next(csv.reader(f), [])
    new = [k for k in row if k not in fields]
    if new:
        old: list[dict] = []
        if fields:
            with open(path, newline="") as f:
                old = list(csv.DictReader(f))
        fields = fields + new
        tmp = path.with_suffix(".tmp")
        with open(tmp, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=fields)
            w.writeheader()
            w.writerows(old)
        tmp.replace(path)
    with open(path, "a", newline="") as f:
        csv.DictWriter(f, fieldnames=fields).writerow(row)


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    """Mean over images of ``10·log10(255² / MSE)``; ``a``, ``b``: ``(B, …)``."""
    mse = ((a - b) ** 2).flatten(1).mean(1).clamp_min(1e-10)
    return float((10 * torch.log10(255.0**2 / mse)).mean())
