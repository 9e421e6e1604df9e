"""Train the digit classifier of the class-exploration tool on CPU (a few minutes).

    python -m explorable_jpeg_train.digits --data /work/shared/datasets/digits/digits.png \\
        --out packages/core/src/explorable_jpeg/weights/digits --minutes 4

Data: OpenCV's ``digits.png``, 2000×1000 px = 50 rows × 100 columns of 20×20 digits,
white on black; class ``d`` occupies rows ``5d … 5d+4`` (500 per class). The last row of
every class (100 digits per class, 1,000 in all, other writers' strokes than most of the
training rows) is held out for testing and never trained on.

Augmentation (per sample, so that the classifier works on digits inside photos, decoded
from JPEG, inside a loosely drawn box):
- geometry: scale 0.65–1.15 of the box, aspect 0.75–1.3, rotation ±12°, shear ±0.15,
  shift ±12% (affine ``grid_sample`` straight to the ``S × S`` input);
- stroke width: 3×3 dilation or erosion (each with p = ¼) on a ×2 up-sampled digit;
- intensity: foreground f and background b uniform on [0, 1] with |f − b| ≥ 0.15 (covers
  inversion and low contrast), a linear background gradient, Gaussian noise σ ≤ 0.04;
- blur: Gaussian σ ∈ [0, 1.3] px;
- JPEG: with p = ½, compressed with PIL at quality 5–60 at a random size 24–64 px.

Printed digits (``--pool``, made by :mod:`explorable_jpeg_train.digit_pool`): real JPEG
files of digits printed on photos and real consistency projections of the digit tool's
candidates, with soft labels ``q``. A share ``--pool-share`` of every batch comes from the
pool (shifted by up to 2 px, light noise); its last 10% is held out.

Loss: cross-entropy, ``−Σ_k q_k log p_k`` (handwritten: one-hot with label smoothing 0.05;
pool: ``q = λ e_new + (1 − λ) e_old``); AdamW, one-cycle cosine LR, optionally starting
from ``--init`` weights. Reports held-out accuracy on clean test digits, on augmented ones
(fixed seed) and on the pool's held-out plain decodings, and writes the card.
"""

from __future__ import annotations

import argparse
import io
import logging
import math
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from explorable_jpeg.models.digit import DigitNet, DigitNetConfig

logger = logging.getLogger("explorable_jpeg_train")

DIGIT = 20  # px, side of one digit in digits.png
GRID = (50, 100)  # rows, columns of digits
ROWS_PER_CLASS = 5


def load_digits(path: str | Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(train_x, train_y, test_x, test_y)``; x float32 ``(N, 20, 20)`` on [0, 1]."""
    img = np.asarray(Image.open(path).convert("L"), dtype=np.float32) / 255.0
    rows, cols = GRID
    if img.shape != (rows * DIGIT, cols * DIGIT):
        raise ValueError(f"{path}: expected {cols * DIGIT}x{rows * DIGIT}, got {img.shape[::-1]}")
    cells = img.reshape(rows, DIGIT, cols, DIGIT).transpose(0, 2, 1, 3)  # (50, 100, 20, 20)
    labels = np.repeat(np.arange(rows) // ROWS_PER_CLASS, cols).reshape(rows, cols)
    test_rows = np.arange(rows) % ROWS_PER_CLASS == ROWS_PER_CLASS - 1
    return (
        cells[~test_rows].reshape(-1, DIGIT, DIGIT),
        labels[~test_rows].reshape(-1),
        cells[test_rows].reshape(-1, DIGIT, DIGIT),
        labels[test_rows].reshape(-1),
    )


def _gauss_blur(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """Per-sample Gaussian blur of ``(B, 1, S, S)`` with ``sigma (B,)`` (σ ≈ 0 → identity)."""
    r = 3
    t = torch.arange(-r, r + 1, dtype=x.dtype)
    k = torch.exp(-(t[None] ** 2) / (2 * sigma[:, None].clamp_min(1e-3) ** 2))
    k = k / k.sum(1, keepdim=True)  # (B, 7)
    b = x.shape[0]
    xp = F.pad(x, (r, r, r, r), mode="replicate").transpose(0, 1)  # (1, B, S+2r, S+2r)
    xp = F.conv2d(xp, k[:, None, None, :], groups=b)
    xp = F.conv2d(xp, k[:, None, :, None], groups=b)
    return xp.transpose(0, 1)


def _jpeg(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """JPEG round trip of one ``(S, S)`` image on [0, 1] at a random size and quality."""
    s = x.shape[0]
    side = int(rng.integers(24, 65))
    im = Image.fromarray(np.clip(x * 255 + 0.5, 0, 255).astype(np.uint8)).resize(
        (side, side), Image.BILINEAR
    )
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=int(rng.integers(5, 61)))
    out = Image.open(io.BytesIO(buf.getvalue())).convert("L").resize((s, s), Image.BILINEAR)
    return np.asarray(out, dtype=np.float32) / 255.0


def augment(digits: np.ndarray, size: int, rng: np.random.Generator) -> torch.Tensor:
    """Photo-like views ``(B, 1, size, size)`` on [0, 1] of white-on-black digits."""
    b = len(digits)
    x = torch.from_numpy(digits)[:, None]
    x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
    stroke = rng.random(b)
    dil, ero = stroke < 0.25, (stroke >= 0.25) & (stroke < 0.5)
    x[dil] = F.max_pool2d(x[dil], 3, 1, 1)
    x[ero] = -F.max_pool2d(-x[ero], 3, 1, 1)
    scale = rng.uniform(0.65, 1.15, b)
    aspect = np.exp(rng.uniform(math.log(0.75), math.log(1.3), b))
    angle = np.deg2rad(rng.uniform(-12, 12, b))
    shear = rng.uniform(-0.15, 0.15, b)
    shift = rng.uniform(-0.12, 0.12, (b, 2))
    # output coords u ∈ [−1, 1]² → digit coords: A u + t, A = R · Sh / (scale · aspect)
    cos, sin = np.cos(angle), np.sin(angle)
    sx, sy = 1 / (scale * np.sqrt(aspect)), np.sqrt(aspect) / scale
    theta = np.zeros((b, 2, 3), dtype=np.float32)
    theta[:, 0, 0] = cos * sx
    theta[:, 0, 1] = (-sin + shear * cos) * sy
    theta[:, 1, 0] = sin * sx
    theta[:, 1, 1] = (cos + shear * sin) * sy
    theta[:, :, 2] = shift
    grid = F.affine_grid(torch.from_numpy(theta), (b, 1, size, size), align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    fg, bg = rng.random(b), rng.random(b)
    low = np.abs(fg - bg) < 0.15
    fg[low] = np.where(bg[low] > 0.5, bg[low] - 0.15 - 0.5 * rng.random(low.sum()), bg[low] + 0.15)
    fg = np.clip(fg, 0, 1)
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, size), torch.linspace(-1, 1, size), indexing="ij")
    g = torch.from_numpy(rng.uniform(-0.12, 0.12, (b, 2)).astype(np.float32))
    grad = g[:, 0, None, None] * yy + g[:, 1, None, None] * xx
    fg_t = torch.from_numpy(fg.astype(np.float32))[:, None, None, None]
    bg_t = torch.from_numpy(bg.astype(np.float32))[:, None, None, None]
    x = bg_t + grad[:, None] + (fg_t - bg_t) * x
    x = _gauss_blur(x, torch.from_numpy(rng.uniform(0, 1.3, b).astype(np.float32)))
    sigma = torch.from_numpy(rng.uniform(0, 0.04, b).astype(np.float32))[:, None, None, None]
    x = x + sigma * torch.from_numpy(rng.standard_normal(x.shape).astype(np.float32))
    x = x.clamp(0, 1)
    for i in np.flatnonzero(rng.random(b) < 0.5):
        x[i, 0] = torch.from_numpy(_jpeg(x[i, 0].numpy(), rng))
    return x


def load_pool(path: str | Path) -> tuple[torch.Tensor, torch.Tensor]:
    """``(inputs (N, 1, S, S), soft labels (N, 10))`` of a :mod:`.digit_pool` file."""
    z = np.load(path)
    x = torch.from_numpy(z["x"].astype(np.float32))[:, None]
    lam = torch.from_numpy(z["lam"].astype(np.float32))
    q = torch.zeros(len(x), 10)
    q[torch.arange(len(x)), torch.from_numpy(z["old"].astype(np.int64))] += 1 - lam
    q[torch.arange(len(x)), torch.from_numpy(z["new"].astype(np.int64))] += lam
    return x, q


def pool_batch(x: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
    """Pool inputs shifted by up to 2 px (edge-replicated) with Gaussian noise σ ≤ 0.02."""
    b, _, s, _ = x.shape
    pad = F.pad(x, (2, 2, 2, 2), mode="replicate")
    dy, dx = rng.integers(0, 5, b), rng.integers(0, 5, b)
    out = torch.stack([pad[i, :, dy[i] : dy[i] + s, dx[i] : dx[i] + s] for i in range(b)])
    sigma = torch.from_numpy(rng.uniform(0, 0.02, b).astype(np.float32))[:, None, None, None]
    return out + sigma * torch.randn_like(out)


def evaluate(net: DigitNet, x: torch.Tensor, y: np.ndarray) -> float:
    """Accuracy of ``net`` on inputs ``(N, 1, S, S)``."""
    net.eval()
    with torch.no_grad():
        pred = torch.cat([net.forward_square(c).argmax(-1) for c in x.split(500)])
    return float((pred.numpy() == y).mean())


def pool_accuracy(net: DigitNet, x: torch.Tensor, q: torch.Tensor) -> float:
    """Accuracy on the pool's plain decodings (λ = 0: the printed digit itself)."""
    plain = q.max(-1).values > 0.999
    return evaluate(net, x[plain], q[plain].argmax(-1).numpy())


def clean_inputs(digits: np.ndarray, size: int) -> torch.Tensor:
    """Test digits as they come (white on black), resized to the input size."""
    return F.interpolate(
        torch.from_numpy(digits)[:, None], size=(size, size), mode="bilinear", antialias=True
    )


def card(
    clean: float,
    augmented: float,
    args: argparse.Namespace,
    n_params: int,
    steps: int,
    printed: float | None = None,
) -> str:
    """The model card (README.md) of the weights."""
    pool = ""
    if args.pool:
        pool = f"""- Printed digits: `--pool` (`python -m explorable_jpeg_train.digit_pool --photos
  photos/train --exclude Aqua.png,BytheWater.png,Dragonfly_by_Bolly.png --files 12000`):
  12,000 real JPEG files (quality 5–30, 4:2:0) of digits printed on training photos in
  DejaVu Serif, DejaVu Sans Mono, Liberation Mono (all styles) and Aileron — not the fonts
  `benchmarks/reach_digits.py` tests with — with their plain decodings and consistency
  projections of the digit tool's candidates (soft labels); {args.pool_share:.0%} of
  every batch. Last 10% held out.
"""
    init = f" --init {args.init}" if args.init else ""
    pool_args = f" --pool pool.npz --pool-share {args.pool_share:g}" if args.pool else ""
    printed_row = (
        f"| printed digits, plain decodings (pool held out, 1,200) | {printed:.1%} |\n"
        if printed is not None
        else ""
    )
    return f"""# Digit classifier (explorable-jpeg, class exploration)

Small CNN ({n_params:,} parameters), input: a gray crop of any size, resized to fit
32×32 (aspect kept, edge padding) and standardised per image. Output: 10 logits.
It ranks the digit tool's alternatives (and drives it at reach 0).

- Data: OpenCV `digits.png` (5,000 handwritten 20×20 digits, 500 per class).
  Held out: the last of the 5 rows of each class (1,000 digits, never trained on).
{pool}- Augmentation: scale, aspect, rotation, shear, shift, stroke width (dilate/erode),
  foreground/background intensities (inversion, low contrast), background gradient,
  noise, blur, JPEG (quality 5–60).
- Training: `python -m explorable_jpeg_train.digits --data digits.png --out DIR
  --minutes {args.minutes:g} --seed {args.seed} --lr {args.lr:g}{init}{pool_args}` on CPU:
  {steps} steps of {args.batch} samples (time-budgeted on a shared, busy 2-core CPU).

| held-out set | accuracy |
|---|---|
| handwritten, clean (white on black, 32×32; 1,000) | {clean:.1%} |
| handwritten, augmented (photo-like, fixed seed; 1,000) | {augmented:.1%} |
{printed_row}
Limitations: single digits only; Western handwritten and printed digits; seven-segment
digits are outside its training distribution.
"""


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--data", required=True, help="digits.png")
    p.add_argument("--out", required=True, help="output folder (config + safetensors + card)")
    p.add_argument("--minutes", type=float, default=4.0, help="wall-clock training budget")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--pool", default=None, help="printed-digit pool (.npz, digit_pool)")
    p.add_argument("--pool-share", type=float, default=0.5)
    p.add_argument("--init", default=None, help="weights folder to start from")
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    tx, ty, vx, vy = load_digits(args.data)
    net = DigitNet.from_pretrained(args.init) if args.init else DigitNet(DigitNetConfig())
    size = net.config.size
    px, pq = (
        load_pool(args.pool) if args.pool else (torch.zeros(0, 1, size, size), torch.zeros(0, 10))
    )
    cut = len(px) - len(px) // 10  # the last 10% held out
    ptx, ptq, pvx, pvq = px[:cut], pq[:cut], px[cut:], pq[cut:]
    n_pool = int(round(args.batch * args.pool_share)) if args.pool else 0
    n_params = sum(p.numel() for p in net.parameters())
    logger.info("train %d, test %d digits; %d parameters", len(tx), len(vx), n_params)
    test_aug = augment(vx, size, np.random.default_rng(12345))
    test_clean = clean_inputs(vx, size)
    opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=1e-4)
    budget, t0, step = args.minutes * 60, time.time(), 0
    while (frac := (time.time() - t0) / budget) < 1:
        lr = (
            args.lr
            * min(1.0, (step + 1) / 100)
            * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * frac)))
        )
        for group in opt.param_groups:
            group["lr"] = lr
        idx = rng.integers(0, len(tx), args.batch - n_pool)
        x = augment(tx[idx], size, rng)
        net.train()
        loss = F.cross_entropy(
            net.forward_square(x), torch.from_numpy(ty[idx]), label_smoothing=0.05
        ) * (1 - n_pool / args.batch)
        if n_pool:
            j = rng.integers(0, len(ptx), n_pool)
            logp = net.forward_square(pool_batch(ptx[j], rng)).log_softmax(-1)
            loss = loss - (ptq[j] * logp).sum(-1).mean() * (n_pool / args.batch)
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        if step % 200 == 0:
            acc = evaluate(net, test_aug, vy)
            pacc = pool_accuracy(net, pvx, pvq) if n_pool else float("nan")
            logger.info("step %d  %.0fs  loss %.3f  lr %.2e  held-out aug acc %.3f  pool %.3f",
                        step, time.time() - t0, loss.item(), lr, acc, pacc)  # fmt: skip
    clean, aug = evaluate(net, test_clean, vy), evaluate(net, test_aug, vy)
    logger.info("done: %d steps; held-out accuracy clean %.4f, augmented %.4f", step, clean, aug)
    printed = pool_accuracy(net, pvx, pvq) if n_pool else None
    net.save_pretrained(args.out, card=card(clean, aug, args, n_params, step, printed))


if __name__ == "__main__":
    main()
