"""GAN phases: ``gan_luma``, then ``gan_chroma`` with the (new) luma net fixed.

Initialisation: ``[gan] init`` — an npz run dir (``l1/`` or ``gan/``) or a weights folder
(``weights/l1`` or ``weights/gan``); empty means this run's ``l1/``. ``[gan] chroma_init``
takes the chroma net from another source (e.g. an earlier gan's). Networks get z inputs
(64 channels per block); z weights absent from the source start at zero, so training starts
exactly at the source decoder. Per generator step (losses: :mod:`.losses`):

1. ``n_critic`` critic steps, each on a fresh batch: real pair (code, truth's unrounded
   coefficients), fake pair (code, ψ(q, z), z ~ U[−1, 1]^64 per block), WGAN-GP (λ = 10)
   plus a small drift term; Adam (β = 0.5, 0.9), warm-up, no clipping by default.
2. z* by ``z_steps`` Adam steps on |ψ(q, z) − x|₁ (networks frozen).
3. One batched forward with z ∈ {0, z*, z1, z2}:
   ``L_G = w_zero·L1(z=0) + w_map·L1(z*) + w_adv·(−E D(fakes z*, z1, z2))
   + w_range·L_range + w_div·L_div(z1, z2) + w_perc·L_perc(z1)``; Adam with warm-up and
   clipping. The first ``critic_warmup`` steps skip 2–3 (a fresh critic for a trained
   generator).

Chroma: the same with the chroma critic; the chroma net is conditioned on the luma decoded
with z1 by the fixed luma net (or, with probability ``p_gt_luma``, the true luma); the range
loss is taken after conversion to RGB. With ``n_critic = 0`` or ``w_adv = 0`` this is the
map phase of gan v1 (``zmap.py`` at git tag ``v1-train-l1-zmap` (commit ca6ac83)`).
Outputs ``<run_dir>/gan/{luma,chroma}.npz`` + ``config.json``.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path

import torch
from torch import nn

from explorable_jpeg.jpeg.tables import ijg_tables
from explorable_jpeg.models import ChromaNet, ChromaNetConfig, LumaNet, LumaNetConfig
from explorable_jpeg.models.blocks import Z_CHANNELS as Z
from explorable_jpeg.models.blocks import load_with_zero_z
from explorable_jpeg.models.luma import coefficients_to_pixels
from explorable_jpeg.ops.color import ycbcr_to_rgb

from . import losses as L
from .batch import Batch, probe_batch, repeat, sample_batch
from .checkpoint import load_decoder_weights, load_npz_state, save_npz
from .config import config_to_dict
from .critic import (
    chroma_code_channels,
    chroma_critic,
    chroma_critic_input,
    luma_code_channels,
    luma_critic,
    luma_critic_input,
)
from .distributed import broadcast_module
from .ema import averaged, make_ema, update_ema
from .grow import grow_luma
from .l1_phase import chroma_condition, project_chroma
from .loop import (
    Context,
    PhaseRun,
    ProbeBaseline,
    optimizer_step,
    probe_baseline,
    psnr,
    warmup_constant,
)

logger = logging.getLogger("explorable_jpeg_train")


def _with_z(cls, ccls, cfg: dict, state: dict) -> nn.Module:
    """The ``cls`` network of ``cfg`` with z inputs, ``state`` loaded, missing z weights 0."""
    return load_with_zero_z(cls(ccls(**{**cfg, "z_channels": Z})), state)


def init_source(ctx: Context) -> Path:
    return Path(ctx.cfg.gan.init) if ctx.cfg.gan.init else ctx.run_dir / "l1"


def load_init(ctx: Context, part: str) -> nn.Module:
    """The ``part`` ("luma"/"chroma") network of the init source (for chroma, of
    ``[gan] chroma_init`` when set), with z inputs."""
    src = init_source(ctx)
    if part == "chroma" and ctx.cfg.gan.chroma_init:
        src = Path(ctx.cfg.gan.chroma_init)
    cfg, states = load_decoder_weights(src)
    if part not in states:
        raise FileNotFoundError(f"{src} has no {part} weights (run the l1_{part} phase first)")
    cls, ccls = (LumaNet, LumaNetConfig) if part == "luma" else (ChromaNet, ChromaNetConfig)
    logger.info("%s: initialised from %s (%s)", part, src, cfg[part])
    net = _with_z(cls, ccls, cfg[part], states[part])
    if part == "luma" and ctx.cfg.gan.grow:
        m = ctx.cfg.model
        net = grow_luma(net, LumaNetConfig(m.luma_channels, m.luma_blocks, Z), ctx.cfg.seed)
        logger.info("luma: grown to %s", net.config)
    return net


def write_gan_dir(ctx: Context, luma: nn.Module | None, chroma: nn.Module | None) -> None:
    out = ctx.run_dir / "gan"
    out.mkdir(parents=True, exist_ok=True)
    if luma is not None:
        save_npz(luma, out / "luma.npz")
    if chroma is not None:
        save_npz(chroma, out / "chroma.npz")
    cfg_path = out / "config.json"
    cfg = json.loads(cfg_path.read_text()) if cfg_path.is_file() else {}
    for part, net in (("luma", luma), ("chroma", chroma)):
        if net is not None:
            cfg[part] = dataclasses.asdict(net.config)
    cfg["training"] = config_to_dict(ctx.cfg)
    cfg["init"] = str(init_source(ctx))
    cfg_path.write_text(json.dumps(cfg, indent=2))


def _adam(params, lr, betas):
    return torch.optim.Adam(params, lr=lr, betas=tuple(betas))


def _rand_z(shape, gen, device) -> torch.Tensor:
    return torch.rand(shape, generator=gen, device=device) * 2 - 1


# ---------------------------------------------------------------- luma


def luma_decode(net: LumaNet, q, table, z):
    """Offsets ``(B, 64, h, w)`` and pixels ``(B, H, W)`` of ψ_Y(q, M, z)."""
    off = net.offsets(q, table, z)
    return off, coefficients_to_pixels(q + off, table)


def luma_probe(
    net: LumaNet, p: Batch, gen: torch.Generator, ref: ProbeBaseline, lp=None, n_z: int = 4
) -> dict:
    """PSNR gains over the bin centre (``ref``) at z = 0 and random z, the per-pixel std over
    ``n_z`` random z (gray levels) and, with a perceptual metric ``lp`` (ST-LPIPS), its mean
    at z = 0 and over the random z."""
    with torch.no_grad():
        zs = [torch.zeros(p.q.shape[0], Z, *p.q.shape[-2:], device=p.q.device)]
        zs += [_rand_z(zs[0].shape, gen, p.q.device) for _ in range(n_z)]
        pix = [luma_decode(net, p.q, p.table, z)[1] for z in zs]
        rand = torch.stack(pix[1:])
        row = {
            "probe_gain_z0_db": psnr(pix[0], p.y) - ref.psnr,
            "probe_gain_zrand_db": sum(psnr(x, p.y) for x in pix[1:]) / n_z - ref.psnr,
            "probe_std_zrand": float(rand.std(0).mean()),
        }
        if lp is not None:
            row["probe_stlpips_z0"] = lp.batch(pix[0], p.y)
            row["probe_stlpips_zrand"] = sum(lp.batch(x, p.y) for x in pix[1:]) / n_z
            row["probe_stlpips_bin_centre"] = ref.stlpips
        return row


class _LumaParts:
    """The luma phase's pieces of :func:`_train`: candidates are (offsets, pixels)."""

    chroma = False

    def __init__(self, G: LumaNet, pixels: bool) -> None:
        self.G, self.pixels = G, pixels

    def prepare(self, b: Batch, z: torch.Tensor, gen: torch.Generator) -> None:
        self.code = luma_code_channels(b.q, b.table)

    def decode(self, b: Batch, z: torch.Tensor, k: int = 1):
        off, pix = luma_decode(self.G, repeat(b.q, k), repeat(b.table, k), z)
        return pix, off

    def target(self, b: Batch) -> torch.Tensor:
        return b.y

    def real(self, b: Batch) -> torch.Tensor:
        return luma_critic_input(self.code, b.offsets, b.y if self.pixels else None)

    def fake(self, b: Batch, image, aux, k: int) -> torch.Tensor:
        return luma_critic_input(repeat(self.code, k), aux, image if self.pixels else None)

    def range(self, b: Batch, image: torch.Tensor) -> torch.Tensor:
        return L.range_loss(image)

    def table(self, b: Batch) -> torch.Tensor:
        return b.table

    def reference_table(self, device) -> torch.Tensor:
        return torch.as_tensor(ijg_tables(10)[0], device=device)

    def rgb(self, b: Batch, image: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(candidate, truth) of the first ``k`` crops as the perceptual term sees them."""
        return image[:k], b.y[:k]


class _ChromaParts:
    """The chroma phase's pieces of :func:`_train`: candidates are projected (Cb, Cr); the
    chroma net sees the luma the fixed luma net decodes with the same z (or the true luma)."""

    chroma = True

    def __init__(self, G: ChromaNet, luma: LumaNet, p_gt_luma: float) -> None:
        self.G, self.luma, self.p_gt = G, luma, p_gt_luma

    def prepare(self, b: Batch, z: torch.Tensor, gen: torch.Generator) -> None:
        self.y_in = chroma_condition(self.luma, b, gen, self.p_gt, z)
        self.code = chroma_code_channels(self.y_in, b.chroma_up, b.chroma_table, b.factors)

    def decode(self, b: Batch, z: torch.Tensor, k: int = 1):
        return chroma_decode(self.G, self.y_in, b, z, k), None

    def target(self, b: Batch) -> torch.Tensor:
        return b.ycc[:, 1:]

    def real(self, b: Batch) -> torch.Tensor:
        return chroma_critic_input(self.code, b.ycc[:, 1:], b.chroma_up)

    def fake(self, b: Batch, image, aux, k: int) -> torch.Tensor:
        return chroma_critic_input(repeat(self.code, k), image, repeat(b.chroma_up, k))

    def range(self, b: Batch, image: torch.Tensor) -> torch.Tensor:
        return L.rgb_range_loss(repeat(self.y_in, image.shape[0] // b.y.shape[0]), image)

    def table(self, b: Batch) -> torch.Tensor:
        return b.chroma_table

    def reference_table(self, device) -> torch.Tensor:
        return torch.as_tensor(ijg_tables(10)[1], device=device)

    def rgb(self, b: Batch, image: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(candidate, truth) of the first ``k`` crops in RGB: the candidate chroma with the
        luma the chroma net was conditioned on, the truth's own YCbCr."""
        cand = ycbcr_to_rgb(torch.cat([self.y_in[:k, None], image[:k]], 1))
        return cand, ycbcr_to_rgb(b.ycc[:k])


def _train(ctx: Context, run: PhaseRun, G, D, parts, save_outputs, probe=None) -> None:
    """The GAN loop shared by both phases (module docstring, steps 1–3); ``probe(net)`` adds
    the probe metrics every ``eval_every`` steps and ``save_outputs(net)`` writes the run's
    generator — the weight average with ``[gan] ema`` (``ema.py``), else ``G`` itself."""
    cfg, g, dev = ctx.cfg, ctx.cfg.gan, ctx.device
    opt_g = _adam(G.parameters(), g.lr_g, g.betas_g)
    opt_d = _adam(D.parameters(), g.lr_d, g.betas_d)
    run.register(
        {"luma" if not parts.chroma else "chroma": G, "critic": D}, {"opt_g": opt_g, "opt_d": opt_d}
    )
    ema = make_ema(G, g.ema)
    run.attach_ema("generator_ema", ema)
    save_g = lambda: save_outputs(averaged(G, ema))  # noqa: E731
    use_critic = g.n_critic > 0 and g.w_adv > 0
    perc = L.PerceptualLoss(g.perc_net, dev) if g.w_perc > 0 else None
    if g.div_cap_scale not in ("none", "table"):
        raise ValueError(f"div_cap_scale must be 'none' or 'table', not {g.div_cap_scale!r}")
    ref_table = parts.reference_table(dev) if g.div_cap_scale == "table" else None
    g_params, d_params = list(G.parameters()), list(D.parameters())

    def zshape(b: Batch) -> tuple[int, ...]:
        return (b.q.shape[0], Z, *b.q.shape[-2:])

    while run.running():
        row: dict = {}
        if use_critic:  # ---- critic steps
            G.requires_grad_(False)
            D.requires_grad_(True)
            for _ in range(g.n_critic):
                b = sample_batch(ctx.images, cfg.data, run.gen, run.cpu_gen, parts.chroma)
                z = _rand_z(zshape(b), run.gen, dev)
                parts.prepare(b, z, run.gen)
                with torch.no_grad():
                    image, aux = parts.decode(b, z)
                real, fake = parts.real(b), parts.fake(b, image, aux, 1)
                d_real, d_fake = D(torch.cat([real, fake])).chunk(2)
                gp = L.gradient_penalty(D, real, fake, run.gen)
                loss_d = L.critic_loss(d_real, d_fake, gp, g.gp_weight, g.drift)
                lr_d = warmup_constant(run.step, g.lr_d, g.warmup)
                optimizer_step(opt_d, loss_d, d_params, g.clip_d, ctx.dist, lr_d)
            row.update(
                d_loss=loss_d.item(), wdist=(d_real.mean() - d_fake.mean()).item(), gp=gp.item()
            )
        if run.step < g.critic_warmup:  # the generator waits for a fresh critic
            if run.step % cfg.log_every == 0:
                run.log(row)
            run.end_step(save_g)
            continue
        # ---- generator step
        b = sample_batch(ctx.images, cfg.data, run.gen, run.cpu_gen, parts.chroma)
        n = b.q.shape[0]
        z1, z2 = _rand_z(zshape(b), run.gen, dev), _rand_z(zshape(b), run.gen, dev)
        parts.prepare(b, z1, run.gen)
        target = parts.target(b)
        G.requires_grad_(False)
        z_map = L.find_z(
            lambda z, b=b: parts.decode(b, z)[0], target, zshape(b), g.z_steps, g.z_lr, run.gen
        )
        G.requires_grad_(True)
        D.requires_grad_(False)
        zz = torch.cat([torch.zeros(zshape(b), device=dev), z_map, z1, z2])
        image, aux = parts.decode(b, zz, 4)
        x0, xm, x1, x2 = image.chunk(4)
        l_zero, l_map = L.l1(x0, target), L.l1(xm, target)
        l_range = parts.range(b, image)
        cap = g.div_cap_chroma if parts.chroma and g.div_cap_chroma > 0 else g.div_cap
        if ref_table is not None:
            cap = L.table_scaled_cap(cap, parts.table(b), ref_table)
        l_div = L.diversity_loss(x1, x2, z1, z2, cap, g.div_reduce)
        loss_g = g.w_zero * l_zero + g.w_map * l_map + g.w_range * l_range + g.w_div * l_div
        if perc is not None:
            l_perc = perc(*parts.rgb(b, x1, min(g.perc_batch, n)))
            loss_g = loss_g + g.w_perc * l_perc
            row["perc"] = l_perc.item()
        if use_critic and run.step >= g.adv_start:
            fake = parts.fake(b, image[n:], None if aux is None else aux[n:], 3)
            l_adv = L.generator_adversarial_loss(D(fake))
            loss_g = loss_g + g.w_adv * l_adv
            row["g_adv"] = l_adv.item()
        lr_g = warmup_constant(run.step - g.critic_warmup, g.lr_g, g.warmup)
        gnorm = optimizer_step(opt_g, loss_g, g_params, g.clip_g, ctx.dist, lr_g)
        update_ema(ema, G)
        row.update(
            g_loss=loss_g.item(),
            l1_z0=l_zero.item(),
            l1_zmap=l_map.item(),
            l1_zrand=L.l1(x1, target).item(),
            range=l_range.item(),
            div_ratio=-l_div.item(),
            g_grad_norm=gnorm,
        )
        if probe is not None and ctx.dist.is_main and run.step % cfg.eval_every == 0:
            row.update(probe(averaged(G, ema)))
        if run.step % cfg.log_every == 0:
            run.log(row)
        run.end_step(save_g)
    run.save(save_g)
    run.close()


def run_gan_luma(ctx: Context) -> None:
    cfg, g = ctx.cfg, ctx.cfg.gan
    run = PhaseRun(ctx, "gan_luma", g.luma_steps, g.luma_minutes)
    G = load_init(ctx, "luma").to(ctx.device)
    D = luma_critic(g.critic).to(ctx.device)
    broadcast_module(G, ctx.dist)
    broadcast_module(D, ctx.dist)
    chroma_src = ctx.cfg.gan.chroma_init or init_source(ctx)
    has_chroma = "chroma" in load_decoder_weights(chroma_src)[1]
    if has_chroma and ctx.dist.is_main and not (ctx.run_dir / "gan" / "chroma.npz").is_file():
        write_gan_dir(ctx, None, load_init(ctx, "chroma"))  # gan/ stays a complete run dir
    probe_b = probe_batch(
        ctx.probe_images, cfg.probe_crop or cfg.data.crop, cfg.probe_batch, cfg.probe_quality
    )
    probe_gen = torch.Generator(device=ctx.device)
    lp = ctx.perceptual() if ctx.dist.is_main else None
    ref = probe_baseline(probe_b, lp)

    def probe(net: LumaNet) -> dict:
        probe_gen.manual_seed(0)
        return luma_probe(net, probe_b, probe_gen, ref, lp)

    parts = _LumaParts(G, g.critic.pixels)
    _train(ctx, run, G, D, parts, lambda net: write_gan_dir(ctx, net, None), probe)


# ---------------------------------------------------------------- chroma


def chroma_decode(net: ChromaNet, y_in, b: Batch, z, k: int = 1) -> torch.Tensor:
    """Projected chroma ``(k·B, 2, H, W)`` for ``z (k·B, 64, h, w)`` (batch repeated k×)."""
    up = repeat(b.chroma_up, k)
    ct = repeat(b.chroma_table, k)
    res = net(repeat(y_in, k)[:, None], up, ct, b.factors, z)
    return project_chroma(up + res, repeat(b.q_cb, k), repeat(b.q_cr, k), ct, b.factors)


def run_gan_chroma(ctx: Context) -> None:
    g = ctx.cfg.gan
    run = PhaseRun(ctx, "gan_chroma", g.chroma_steps, g.chroma_minutes)
    gan_dir = ctx.run_dir / "gan"
    luma = LumaNet(LumaNetConfig(**json.loads((gan_dir / "config.json").read_text())["luma"]))
    luma.load_state_dict(load_npz_state(gan_dir / "luma.npz"))
    luma = luma.to(ctx.device).eval().requires_grad_(False)
    G = load_init(ctx, "chroma").to(ctx.device)
    D = chroma_critic(g.critic).to(ctx.device)
    broadcast_module(G, ctx.dist)
    broadcast_module(D, ctx.dist)
    parts = _ChromaParts(G, luma, g.p_gt_luma)
    _train(ctx, run, G, D, parts, lambda net: write_gan_dir(ctx, None, net))
