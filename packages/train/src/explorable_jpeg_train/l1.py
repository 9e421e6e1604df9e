"""Minimal L1 training of the luma and chroma networks (time-budgeted, resumable-free).

    python -m explorable_jpeg_train.l1 --data DIR --out OUT --luma-minutes 5 --chroma-minutes 3

Luma objective:  L_Y = mean |IDCT(M · ψ_Y(q, M)) + 128 − Y|   (pixels, [0, 255] scale).
Chroma objective: L_C = mean |P(U(c̄) + ψ_C(Ŷ, U(c̄), M_C)) − C|  over Cb and Cr, where
U(c̄) is the up-sampled bin-centre chroma and P the exact box-average projection.
Recipe (DESIGN §4): Adam, warm-up then cosine decay, gradient-norm clipping at 1.0,
zero-initialised output layers (training starts at the bin-centre decode).
Writes ``luma.npz``/``chroma.npz`` (float32 state dicts, no pickle), ``config.json`` and
``log.csv`` into OUT; ``explorable_jpeg_train.export`` turns them into fp16 safetensors.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import time
from pathlib import Path

import numpy as np
import torch

from explorable_jpeg.consistency.projection import project_tensor
from explorable_jpeg.models import ChromaNet, ChromaNetConfig, LumaNet, LumaNetConfig
from explorable_jpeg.models.luma import coefficients_to_pixels
from explorable_jpeg.ops.dct import blocks_to_channels, idct_blocks, unblockify
from explorable_jpeg.ops.sampling import upsample_display

from .data import load_folder, random_crops
from .synth import SAMPLING_CHOICES, SAMPLING_WEIGHTS, make_codes, random_tables

logger = logging.getLogger("explorable_jpeg_train")


def lr_at(step: int, frac: float, base: float, warmup: int) -> float:
    """Linear warm-up over ``warmup`` steps, then cosine decay to 10% by ``frac = 1``."""
    w = min(1.0, (step + 1) / warmup)
    return base * w * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(frac, 1.0))))


def bin_centre_chroma(q: torch.Tensor, table: torch.Tensor, factors, size) -> torch.Tensor:
    """Up-sampled bin-centre chroma ``(B, H, W)`` from ``q (B, by, bx, 8, 8)``."""
    plane = unblockify(idct_blocks(q * table[:, None, None])) + 128.0
    return upsample_display(plane.clamp(0, 255), *factors)[..., : size[0], : size[1]]


def train_luma(args, images, device, gen, cpu_gen, log):
    net = LumaNet(LumaNetConfig(channels=args.luma_channels, blocks=args.luma_blocks)).to(device)
    opt = torch.optim.Adam(net.parameters(), lr=args.lr)
    t0, step = time.time(), 0
    budget = args.luma_minutes * 60
    while time.time() - t0 < budget:
        rgb = random_crops(images, args.batch, args.crop, cpu_gen)
        lt, ct = random_tables(args.batch, gen, device)
        ycc, qy, *_ = make_codes(rgb, lt, ct, (1, 1))
        q = blocks_to_channels(qy)
        out = coefficients_to_pixels(net(q, lt), lt)
        loss = (out - ycc[:, 0]).abs().mean()
        for g in opt.param_groups:
            g["lr"] = lr_at(step, (time.time() - t0) / budget, args.lr, args.warmup)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        if step % args.log_every == 0:
            with torch.no_grad():
                base = (coefficients_to_pixels(q, lt) - ycc[:, 0]).abs().mean()
            log("luma", step, time.time() - t0, loss.item(), base.item())
        step += 1
    return net


def train_chroma(args, images, luma_net, device, gen, cpu_gen, log):
    net = ChromaNet(ChromaNetConfig(channels=args.chroma_channels, blocks=args.chroma_blocks))
    net = net.to(device)
    opt = torch.optim.Adam(net.parameters(), lr=args.lr)
    t0, step = time.time(), 0
    budget = args.chroma_minutes * 60
    probs = torch.tensor(SAMPLING_WEIGHTS)
    while time.time() - t0 < budget:
        factors = SAMPLING_CHOICES[int(torch.multinomial(probs, 1, generator=cpu_gen))]
        rgb = random_crops(images, args.batch, args.crop, cpu_gen)
        lt, ct = random_tables(args.batch, gen, device)
        ycc, qy, qcb, qcr, _ = make_codes(rgb, lt, ct, factors)
        size = ycc.shape[-2:]
        with torch.no_grad():
            y_hat = coefficients_to_pixels(luma_net(blocks_to_channels(qy), lt), lt)
            use_gt = torch.rand(args.batch, 1, 1, generator=gen, device=device) < 0.5
            y_in = torch.where(use_gt, ycc[:, 0], y_hat).clamp(0, 255)
            up = torch.stack([bin_centre_chroma(qq, ct, factors, size) for qq in (qcb, qcr)], 1)
        res = net(y_in[:, None], up, ct, factors)
        pred = up + res
        proj = torch.stack(
            [project_tensor(pred[:, i], qq, ct, factors) for i, qq in enumerate((qcb, qcr))], 1
        )
        loss = (proj - ycc[:, 1:]).abs().mean()
        for g in opt.param_groups:
            g["lr"] = lr_at(step, (time.time() - t0) / budget, args.lr, args.warmup)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        if step % args.log_every == 0:
            with torch.no_grad():
                base_proj = torch.stack(
                    [project_tensor(up[:, i], qq, ct, factors) for i, qq in enumerate((qcb, qcr))],
                    1,
                )
                base = (base_proj - ycc[:, 1:]).abs().mean()
            log(f"chroma{factors}", step, time.time() - t0, loss.item(), base.item())
        step += 1
    return net


def save_npz(module: torch.nn.Module, path: Path) -> None:
    state = {k: v.detach().float().cpu().numpy() for k, v in module.state_dict().items()}
    np.savez(path, **state)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--data", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--luma-minutes", type=float, default=5.0)
    p.add_argument("--chroma-minutes", type=float, default=3.0)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--crop", type=int, default=128)
    p.add_argument("--lr", type=float, default=2e-4)
    p.add_argument("--warmup", type=int, default=200)
    p.add_argument("--luma-channels", type=int, default=96)
    p.add_argument("--luma-blocks", type=int, default=5)
    p.add_argument("--chroma-channels", type=int, default=64)
    p.add_argument("--chroma-blocks", type=int, default=3)
    p.add_argument("--log-every", type=int, default=100)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    torch.backends.cudnn.benchmark = True
    device = torch.device(args.device)
    torch.manual_seed(args.seed)
    gen = torch.Generator(device=device).manual_seed(args.seed)
    cpu_gen = torch.Generator().manual_seed(args.seed + 1)  # crops, sampling choices
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    images = load_folder(args.data, device)
    logger.info("%d training images on %s", len(images), device)
    rows = []

    def log(phase, step, sec, loss, base):
        rows.append((phase, step, round(sec, 1), loss, base))
        logger.info(
            "%s step %d %.0fs L1 %.4f (bin centre %.4f, gain %.4f)",
            phase,
            step,
            sec,
            loss,
            base,
            base - loss,
        )
        with open(out / "log.csv", "w") as f:
            f.write("phase,step,seconds,l1,bin_centre_l1\n")
            f.writelines(",".join(map(str, r)) + "\n" for r in rows)

    luma = train_luma(args, images, device, gen, cpu_gen, log)
    save_npz(luma, out / "luma.npz")
    chroma = train_chroma(args, images, luma.eval(), device, gen, cpu_gen, log)
    save_npz(chroma, out / "chroma.npz")
    cfg = {
        "luma": {"channels": args.luma_channels, "blocks": args.luma_blocks, "z_channels": 0},
        "chroma": {"channels": args.chroma_channels, "blocks": args.chroma_blocks, "z_channels": 0},
        "training": vars(args),
    }
    (out / "config.json").write_text(json.dumps(cfg, indent=2))


if __name__ == "__main__":
    main()
