"""Does test-time self-ensembling help the l1 decoder? (A measurement, not a feature.)

    PYTHONPATH=packages/core/src python benchmarks/self_ensemble.py data_cache/eval2 \\
        --qf 10 --max-side 384

The luma net's offsets are averaged over dihedral transforms of the code, each applied
exactly in the DCT domain and undone on the offsets: transpose (channels (u, v) → (v, u),
table transposed), horizontal flip (block order reversed, coefficient × (−1)^v), vertical
flip (× (−1)^u). An average of offsets in (−½, ½) stays in (−½, ½), so every decoding is
still consistent (asserted). Prints the mean PSNR-Y over the folder's images (gray JPEGs
written by Pillow/libjpeg) for 1, 2, 4 and 8 transforms; the luma cost grows in proportion.
2026-11-26, l1 v3, eval2 at 384 px: +0.04 / +0.07 / +0.08 dB at QF 10 and
+0.03 / +0.05 / +0.05 dB at QF 30 for 2 / 4 / 8 transforms.
"""

from __future__ import annotations

import argparse
import io
import logging
from pathlib import Path

import numpy as np
import torch
from PIL import Image

import explorable_jpeg as ej
from explorable_jpeg.decoding.decoder import Decoder

log = logging.getLogger(__name__)
PERM_T = torch.tensor([(i % 8) * 8 + i // 8 for i in range(64)])


def _sign(axis: str) -> torch.Tensor:
    k = torch.arange(64) // 8 if axis == "u" else torch.arange(64) % 8
    return (1 - 2 * (k % 2)).float()[None, :, None, None]


def transpose(x: torch.Tensor) -> torch.Tensor:
    return x[:, PERM_T].transpose(-1, -2)


def hflip(x: torch.Tensor) -> torch.Tensor:
    return x.flip(-1) * _sign("v")


def vflip(x: torch.Tensor) -> torch.Tensor:
    return x.flip(-2) * _sign("u")


ENSEMBLES = {
    1: [()],
    2: [(), (transpose,)],
    4: [(), (transpose,), (hflip,), (vflip,)],
    8: [(), (transpose,), (hflip,), (vflip,), (hflip, vflip), (transpose, hflip),
        (transpose, vflip), (transpose, hflip, vflip)],
}  # fmt: skip


class Ensemble(torch.nn.Module):
    """A luma net whose offsets are averaged over ``ops`` (sequences of transforms)."""

    def __init__(self, net: torch.nn.Module, ops) -> None:
        super().__init__()
        self.net, self.config, self.ops = net, net.config, ops

    def forward(self, q: torch.Tensor, table: torch.Tensor, z=None) -> torch.Tensor:
        total = torch.zeros_like(q)
        for seq in self.ops:
            qg, tg = q, table
            for op in seq:
                qg = op(qg)
                tg = tg.transpose(-1, -2) if op is transpose else tg
            off = self.net.offsets(qg, tg)
            for op in reversed(seq):
                off = op(off)
            total = total + off
        return q + total / len(self.ops)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("images", type=Path)
    ap.add_argument("--qf", type=int, default=10)
    ap.add_argument("--max-side", type=int, default=384)
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    dec = Decoder.from_pretrained(variant="l1")
    luma = dec.luma
    psnr: dict[int, list[float]] = {k: [] for k in ENSEMBLES}
    for path in sorted(args.images.glob("*.png")):
        im = Image.open(path).convert("L")
        if args.max_side and max(im.size) > args.max_side:
            s = max(im.size) / args.max_side
            im = im.resize((round(im.size[0] / s), round(im.size[1] / s)), Image.LANCZOS)
        truth = np.asarray(im).astype(np.float64)
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=args.qf)
        code = ej.read_jpeg(buf.getvalue())
        for k, ops in ENSEMBLES.items():
            dec.luma = Ensemble(luma, ops)
            out = dec.decode(code)
            assert ej.check(code, out).consistent, path
            mse = ((out.astype(np.float64) - truth) ** 2).mean()
            psnr[k].append(10 * np.log10(255.0**2 / mse))
    for k, values in psnr.items():
        log.info("%d transform(s): mean PSNR-Y %.3f dB (%+.3f)", k, np.mean(values),
                 np.mean(values) - np.mean(psnr[1]))  # fmt: skip


if __name__ == "__main__":
    main()
