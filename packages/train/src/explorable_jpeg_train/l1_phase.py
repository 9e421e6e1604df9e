"""L1 phases (config-driven): ``l1_luma`` then ``l1_chroma`` with the luma net fixed.

Luma:   L_Y = mean |IDCT(M · ψ_Y(q, M)) + 128 − Y|          (pixels, [0, 255])
Chroma: L_C = mean |P(U(c̄) + ψ_C(Ŷ, U(c̄), M_C)) − C|      over Cb, Cr
(U: up-sampling of the bin-centre chroma, P: exact box-average projection; Ŷ the decoded
luma or, with probability ``p_gt_luma``, the true one). Recipe of DESIGN §4: Adam with
warm-up, cosine decay to 10%, gradient-norm clipping, zero-initialised output layers.
Outputs ``<run_dir>/l1/{luma,chroma}.npz`` + ``config.json`` (the format of ``export``).
"""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path

import torch

from explorable_jpeg.consistency.projection import project_tensor
from explorable_jpeg.models import ChromaNet, ChromaNetConfig, LumaNet, LumaNetConfig
from explorable_jpeg.models.luma import coefficients_to_pixels

from .batch import probe_batch, sample_batch
from .checkpoint import load_decoder_weights, load_npz_state, save_npz
from .config import config_to_dict
from .distributed import broadcast_module
from .ema import averaged, make_ema, update_ema
from .grow import grow_luma
from .loop import Context, PhaseRun, optimizer_step, probe_baseline, psnr, warmup_cosine

logger = logging.getLogger("explorable_jpeg_train")


def write_run_config(out: Path, luma: torch.nn.Module, chroma_cfg, ctx: Context) -> None:
    cfg = {
        "luma": dataclasses.asdict(luma.config),
        "chroma": dataclasses.asdict(chroma_cfg),
        "training": config_to_dict(ctx.cfg),
    }
    (out / "config.json").write_text(json.dumps(cfg, indent=2))


def initial_net(ctx: Context, part: str) -> torch.nn.Module:
    """A fresh ``part`` ("luma"/"chroma") net from ``[model]``, or, with ``[l1] init``, the
    init source's net (its architecture and weights: fine-tuning)."""
    m = ctx.cfg.model
    if not ctx.cfg.l1.init:
        if part == "luma":
            return LumaNet(LumaNetConfig(m.luma_channels, m.luma_blocks, 0))
        return ChromaNet(ChromaNetConfig(m.chroma_channels, m.chroma_blocks, 0))
    cfg, states = load_decoder_weights(ctx.cfg.l1.init)
    cls, ccls = (LumaNet, LumaNetConfig) if part == "luma" else (ChromaNet, ChromaNetConfig)
    arch = cfg[part]
    if arch.get("z_channels", 0):
        raise ValueError(f"l1.init {ctx.cfg.l1.init}: {part} has z inputs; use an l1 source")
    net = cls(ccls(**arch))
    net.load_state_dict(states[part])
    logger.info("%s: fine-tuning from %s (%s)", part, ctx.cfg.l1.init, arch)
    if part == "luma" and ctx.cfg.l1.grow:
        net = grow_luma(net, LumaNetConfig(m.luma_channels, m.luma_blocks, 0), ctx.cfg.seed)
        logger.info("luma: grown to %s", net.config)
    return net


def project_chroma(pred, q_cb, q_cr, table, factors) -> torch.Tensor:
    return torch.stack(
        [project_tensor(pred[:, i], q, table, factors) for i, q in enumerate((q_cb, q_cr))], 1
    )


def run_l1_luma(ctx: Context) -> None:
    cfg, m = ctx.cfg, ctx.cfg.model
    run = PhaseRun(ctx, "l1_luma", cfg.l1.luma_steps, cfg.l1.luma_minutes)
    out = ctx.run_dir / "l1"
    out.mkdir(parents=True, exist_ok=True)
    net = initial_net(ctx, "luma").to(ctx.device)
    broadcast_module(net, ctx.dist)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.l1.lr)
    run.register({"luma": net}, {"opt": opt})
    ema = make_ema(net, cfg.l1.ema)
    run.attach_ema("luma_ema", ema)
    chroma_cfg = (
        ChromaNetConfig(m.chroma_channels, m.chroma_blocks, 0)
        if not cfg.l1.init
        else ChromaNetConfig(**load_decoder_weights(cfg.l1.init)[0]["chroma"])
    )

    def save_outputs():
        save_npz(averaged(net, ema), out / "luma.npz")
        write_run_config(out, net, chroma_cfg, ctx)

    probe = probe_batch(
        ctx.probe_images, cfg.probe_crop or cfg.data.crop, cfg.probe_batch, cfg.probe_quality
    )
    lp = ctx.perceptual() if ctx.dist.is_main else None
    ref = probe_baseline(probe, lp)
    params = list(net.parameters())
    while run.running():
        b = sample_batch(ctx.images, cfg.data, run.gen, run.cpu_gen, chroma=False)
        with torch.autocast(ctx.device.type, torch.bfloat16, enabled=cfg.l1.amp):
            offsets = net.offsets(b.q, b.table)
        pix = coefficients_to_pixels(b.q + offsets.float(), b.table)
        loss = (pix - b.y).abs().mean()
        lr = warmup_cosine(run.step, run.frac(), cfg.l1.lr, cfg.l1.warmup)
        gnorm = optimizer_step(opt, loss, params, cfg.l1.clip, ctx.dist, lr)
        update_ema(ema, net)
        row = {"l1": loss.item(), "lr": lr, "grad_norm": gnorm}
        if run.step % cfg.eval_every == 0:
            with torch.no_grad():
                dec = coefficients_to_pixels(averaged(net, ema)(probe.q, probe.table), probe.table)
                row["probe_gain_db"] = psnr(dec, probe.y) - ref.psnr
                if lp is not None:
                    row["probe_stlpips"] = lp.batch(dec, probe.y)
                    row["probe_stlpips_bin_centre"] = ref.stlpips
        if run.step % cfg.log_every == 0:
            run.log(row)
        run.end_step(save_outputs)
    run.save(save_outputs)
    run.close()


def load_luma(path: Path, device) -> LumaNet:
    cfg = json.loads((path / "config.json").read_text())
    net = LumaNet(LumaNetConfig(**cfg["luma"]))
    net.load_state_dict(load_npz_state(path / "luma.npz"))
    return net.to(device).eval().requires_grad_(False)


def chroma_condition(luma_net, b, gen, p_gt: float, z=None) -> torch.Tensor:
    """Luma the chroma net is conditioned on: decoded (with ``z``) or, with prob. p, true."""
    with torch.no_grad():
        y_hat = coefficients_to_pixels(luma_net(b.q, b.table, z), b.table)
        use_gt = torch.rand(b.y.shape[0], 1, 1, generator=gen, device=b.y.device) < p_gt
        return torch.where(use_gt, b.y, y_hat).clamp(0, 255)


def run_l1_chroma(ctx: Context) -> None:
    cfg = ctx.cfg
    run = PhaseRun(ctx, "l1_chroma", cfg.l1.chroma_steps, cfg.l1.chroma_minutes)
    out = ctx.run_dir / "l1"
    luma = load_luma(out, ctx.device)
    net = initial_net(ctx, "chroma").to(ctx.device)
    broadcast_module(net, ctx.dist)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.l1.lr)
    run.register({"chroma": net}, {"opt": opt})

    def save_outputs():
        save_npz(net, out / "chroma.npz")
        write_run_config(out, luma, net.config, ctx)

    params = list(net.parameters())
    while run.running():
        b = sample_batch(ctx.images, cfg.data, run.gen, run.cpu_gen, chroma=True)
        y_in = chroma_condition(luma, b, run.gen, cfg.l1.p_gt_luma)
        res = net(y_in[:, None], b.chroma_up, b.chroma_table, b.factors)
        proj = project_chroma(b.chroma_up + res, b.q_cb, b.q_cr, b.chroma_table, b.factors)
        loss = (proj - b.ycc[:, 1:]).abs().mean()
        lr = warmup_cosine(run.step, run.frac(), cfg.l1.lr, cfg.l1.warmup)
        gnorm = optimizer_step(opt, loss, params, cfg.l1.clip, ctx.dist, lr)
        if run.step % cfg.log_every == 0:
            with torch.no_grad():
                base = project_chroma(b.chroma_up, b.q_cb, b.q_cr, b.chroma_table, b.factors)
                base_l1 = (base - b.ycc[:, 1:]).abs().mean().item()
            run.log({"l1": loss.item(), "bin_centre_l1": base_l1, "lr": lr, "grad_norm": gnorm})
        run.end_step(save_outputs)
    run.save(save_outputs)
    run.close()
