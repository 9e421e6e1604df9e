"""Interpolate two gan decoders trained from one start (a two-model "soup", no training).

    python -m explorable_jpeg_train.tools.soup A B OUT --t 0.25 [--parts luma]
        [--chroma-from C] [--card CARD.md]

Two gan runs started from the same l1 weights with the same seed and differing in one
setting (here the diversity cap ``τ``) stay in one basin, so every weight between them is
a working decoder:

    θ(t) = (1 − t)·θ_A + t·θ_B       (every weight of ``parts``, z projections included)

and ``t`` moves the decoder smoothly between the two runs' balance of fidelity and
variation. This is a weight-space ensemble in the sense of Wortsman et al., "Model soups"
(ICML 2022) and "Robust fine-tuning of zero-shot models" (WiSE-FT, CVPR 2022). The networks
not in ``parts`` come from ``A`` or, with ``--chroma-from C``, the chroma net from ``C``.
The largest relative distance ‖θ_B − θ_A‖ / ‖θ_A‖ over the tensors is returned and logged
(the z projections start at zero, so theirs is the largest: 0.42 for gan v6's two runs).
The mixed decoder's outputs pass ``check`` like any other: consistency comes from the snap,
not from the weights.
"""

from __future__ import annotations

import argparse
import copy
import logging
from pathlib import Path

import torch

from explorable_jpeg.decoding.decoder import Decoder, WeightsError

from .rebase import add_parts_and_card, parse_parts

log = logging.getLogger(__name__)


def soup(
    a: Decoder,
    b: Decoder,
    t: float,
    parts: tuple[str, ...] = ("luma",),
    chroma_from: Decoder | None = None,
) -> tuple[Decoder, float]:
    """``(1 − t)·a + t·b`` on every weight of ``parts``; the rest from ``a`` (chroma from
    ``chroma_from`` when given). Returns the new decoder (inputs untouched) and the largest
    relative distance ``‖θ_b − θ_a‖ / ‖θ_a‖`` over the mixed tensors."""
    if not 0.0 <= t <= 1.0:
        raise ValueError(f"t must lie in [0, 1] (an interpolation), got {t}")
    if chroma_from is not None and "chroma" in parts:
        raise ValueError("--chroma-from and a mixed chroma net exclude each other")
    out = copy.deepcopy(a)
    sb = b.state_dict()
    sc = chroma_from.state_dict() if chroma_from is not None else {}
    worst = 0.0
    with torch.no_grad():
        for name, p in out.named_parameters():
            part = name.split(".")[0]
            if part in parts:
                if name not in sb or sb[name].shape != p.shape:
                    raise WeightsError(f"{name}: the two decoders do not match")
                dist = (sb[name] - p).norm() / p.norm().clamp_min(1e-12)
                worst = max(worst, float(dist))
                p.lerp_(sb[name], t)
            elif part == "chroma" and chroma_from is not None:
                if name not in sc or sc[name].shape != p.shape:
                    raise WeightsError(f"{name}: the chroma net of --chroma-from does not fit")
                p.copy_(sc[name])
    return out.eval(), worst


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("a", type=Path, help="gan weights folder at t = 0")
    p.add_argument("b", type=Path, help="gan weights folder at t = 1")
    p.add_argument("out", type=Path, help="output folder")
    p.add_argument("--t", type=float, required=True, help="weight of B, in [0, 1]")
    p.add_argument("--chroma-from", type=Path, help="take the chroma net from this gan folder")
    add_parts_and_card(p)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    parts = parse_parts(p, args.parts)
    if not 0.0 <= args.t <= 1.0:
        p.error(f"--t must lie in [0, 1], got {args.t}")
    folders = [args.a, args.b] + ([args.chroma_from] if args.chroma_from else [])
    decs = [Decoder.from_folder(f) for f in folders]
    if any(d.variant != "gan" for d in decs):
        p.error("expected gan weights folders")
    try:
        out, worst = soup(decs[0], decs[1], args.t, parts, decs[2] if args.chroma_from else None)
    except ValueError as e:  # WeightsError included
        p.error(str(e))
    out.save_pretrained(args.out, args.card.read_text() if args.card else None)
    log.info(
        "wrote %s = %g·%s + %g·%s on %s (chroma from %s); largest relative distance %.3f",
        *(args.out, 1 - args.t, args.a, args.t, args.b, "+".join(parts)),
        *(args.chroma_from or args.a, worst),
    )


if __name__ == "__main__":
    main()
