"""Teach the explorable (gan) decoder's control signal z to reach the truth (map phase).

    python -m explorable_jpeg_train.zmap --init RUN_DIR --data DIR --out OUT --minutes 3

Starts from an L1 run (``luma.npz``/``chroma.npz``), adds z inputs with zero weights (so it
starts exactly at the L1 decoder) and minimises, per batch,

    L = |ψ(q, 0) − x|₁ + |ψ(q, z*) − x|₁,    z* = argmin_z |ψ(q, z) − x|₁ (K Adam steps),

over luma and (projected) chroma. The first term keeps z = 0 at the distortion-optimal
decoding; the second (the paper's map loss, here without the adversarial and structure
terms of the full GAN phase) makes the truth reachable through z, which is what the
exploration tools need: gradients of any objective w.r.t. z move the decoding towards
plausible images of the consistent set. z* starts from U[−1, 1] (z = tanh(w)).
Writes ``luma.npz``, ``chroma.npz``, ``config.json`` (z_channels 64) and ``log.csv`` every
``--save-every`` seconds, so an interrupted run keeps its last checkpoint.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import numpy as np
import torch

from explorable_jpeg.consistency.projection import project_tensor
from explorable_jpeg.models import ChromaNet, ChromaNetConfig, LumaNet, LumaNetConfig
from explorable_jpeg.models.luma import coefficients_to_pixels
from explorable_jpeg.ops.dct import blocks_to_channels

from .data import load_folder, random_crops
from .l1 import bin_centre_chroma, lr_at, save_npz
from .synth import SAMPLING_CHOICES, SAMPLING_WEIGHTS, make_codes, random_tables

logger = logging.getLogger("explorable_jpeg_train")


def load_l1_as_gan(run: Path, device) -> tuple[LumaNet, ChromaNet, dict]:
    cfg = json.loads((run / "config.json").read_text())
    nets = []
    for part, cls, ccls in (
        ("luma", LumaNet, LumaNetConfig),
        ("chroma", ChromaNet, ChromaNetConfig),
    ):
        c = dict(cfg[part])
        c["z_channels"] = 64
        net = cls(ccls(**c))
        with np.load(run / f"{part}.npz", allow_pickle=False) as npz:
            state = {k: torch.from_numpy(npz[k]) for k in npz.files}
        missing, unexpected = net.load_state_dict(state, strict=False)
        assert not unexpected and all("z_proj" in k for k in missing), (missing, unexpected)
        for name, p in net.named_parameters():
            if "z_proj" in name:
                torch.nn.init.zeros_(p)
        nets.append(net.to(device))
    return nets[0], nets[1], cfg


def decode_batch(luma, chroma, codes, z):
    """Differentiable batch decoding: luma pixels ``(B, H, W)``, projected chroma (B, 2, H, W)."""
    qy, qcb, qcr, lt, ct, factors, up = codes
    y = coefficients_to_pixels(luma(qy, lt, z), lt)
    res = chroma(y.clamp(0, 255)[:, None], up, ct, factors, z)
    pred = up + res
    c = torch.stack(
        [project_tensor(pred[:, i], q, ct, factors) for i, q in enumerate((qcb, qcr))], 1
    )
    return y, c


def l1_loss(y, c, target):
    return (y - target[:, 0]).abs().mean() + (c - target[:, 1:]).abs().mean()


def find_z(luma, chroma, codes, target, shape, steps: int, lr: float, gen) -> torch.Tensor:
    """``argmin_z`` of the L1 error by ``steps`` Adam steps on ``w`` (z = tanh w)."""
    z0 = torch.rand(shape, generator=gen, device=target.device) * 2 - 1
    w = torch.atanh(z0.clamp(-0.95, 0.95)).requires_grad_(True)
    opt = torch.optim.Adam([w], lr=lr)
    for _ in range(steps):
        y, c = decode_batch(luma, chroma, codes, torch.tanh(w))
        loss = l1_loss(y, c, target)
        opt.zero_grad(set_to_none=True)
        (g,) = torch.autograd.grad(loss, [w])
        w.grad = g
        opt.step()
    return torch.tanh(w).detach()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--init", required=True, type=Path, help="L1 run dir (luma.npz, chroma.npz)")
    p.add_argument("--data", required=True)
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--minutes", type=float, default=3.0)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--crop", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--warmup", type=int, default=100)
    p.add_argument("--z-steps", type=int, default=5)
    p.add_argument("--z-lr", type=float, default=0.3)
    p.add_argument("--save-every", type=float, default=30.0, help="seconds")
    p.add_argument("--log-every", type=int, default=50)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    device = torch.device(args.device)
    torch.manual_seed(args.seed)
    gen = torch.Generator(device=device).manual_seed(args.seed)
    cpu_gen = torch.Generator().manual_seed(args.seed + 1)
    args.out.mkdir(parents=True, exist_ok=True)
    images = load_folder(args.data, device)
    luma, chroma, cfg = load_l1_as_gan(args.init, device)
    params = list(luma.parameters()) + list(chroma.parameters())
    opt = torch.optim.Adam(params, lr=args.lr)
    probs = torch.tensor(SAMPLING_WEIGHTS)
    rows: list[tuple] = []

    def save() -> None:
        save_npz(luma, args.out / "luma.npz")
        save_npz(chroma, args.out / "chroma.npz")
        out_cfg = {
            "luma": {**cfg["luma"], "z_channels": 64},
            "chroma": {**cfg["chroma"], "z_channels": 64},
            "training": {k: str(v) for k, v in vars(args).items()},
            "init": cfg.get("training"),
        }
        (args.out / "config.json").write_text(json.dumps(out_cfg, indent=2))
        with open(args.out / "log.csv", "w") as f:
            f.write("step,seconds,l1_z0,l1_zmap,l1_zrandom\n")
            f.writelines(",".join(map(str, r)) + "\n" for r in rows)

    t0 = last_save = time.time()
    budget = args.minutes * 60
    step = 0
    while time.time() - t0 < budget:
        factors = SAMPLING_CHOICES[int(torch.multinomial(probs, 1, generator=cpu_gen))]
        rgb = random_crops(images, args.batch, args.crop, cpu_gen)
        lt, ct = random_tables(args.batch, gen, device)
        ycc, qy, qcb, qcr, _ = make_codes(rgb, lt, ct, factors)
        size = ycc.shape[-2:]
        up = torch.stack([bin_centre_chroma(q, ct, factors, size) for q in (qcb, qcr)], 1)
        codes = (blocks_to_channels(qy), qcb, qcr, lt, ct, factors, up)
        zshape = (args.batch, 64, size[0] // 8, size[1] // 8)
        for net in (luma, chroma):
            net.requires_grad_(False)
        z_map = find_z(luma, chroma, codes, ycc, zshape, args.z_steps, args.z_lr, gen)
        for net in (luma, chroma):
            net.requires_grad_(True)
        y0, c0 = decode_batch(luma, chroma, codes, torch.zeros(zshape, device=device))
        ym, cm = decode_batch(luma, chroma, codes, z_map)
        l0, lm = l1_loss(y0, c0, ycc), l1_loss(ym, cm, ycc)
        loss = l0 + lm
        for g in opt.param_groups:
            g["lr"] = lr_at(step, (time.time() - t0) / budget, args.lr, args.warmup)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        if step % args.log_every == 0:
            with torch.no_grad():
                zr = torch.rand(zshape, generator=gen, device=device) * 2 - 1
                lr_ = l1_loss(*decode_batch(luma, chroma, codes, zr), ycc).item()
            rows.append((step, round(time.time() - t0, 1), l0.item(), lm.item(), lr_))
            logger.info(
                "step %d %.0fs L1(z=0) %.4f L1(z*) %.4f L1(z random) %.4f",
                step,
                time.time() - t0,
                l0.item(),
                lm.item(),
                lr_,
            )
        if time.time() - last_save > args.save_every:
            save()
            last_save = time.time()
        step += 1
    save()


if __name__ == "__main__":
    main()
