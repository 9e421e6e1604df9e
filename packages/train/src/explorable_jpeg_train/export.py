"""Export a training run (``luma.npz``/``chroma.npz`` + ``config.json``) as fp16 safetensors.

    python -m explorable_jpeg_train.export RUN_DIR OUT_DIR [--card CARD.md] [--ensemble 2]
    python -m explorable_jpeg_train.export GAN_RUN_DIR OUT_DIR --only-gan --gan-card CARD.md

An L1 run (z_channels 0) gives ``OUT_DIR/l1`` and ``OUT_DIR/gan`` (the L1 model converted
with zero z weights); a run with z (a ``gan/`` run dir) gives ``OUT_DIR/gan``. Each folder holds
``config.json``, fp16 ``model.safetensors`` and, if given, the model card as ``README.md``.
``--ensemble N`` writes the l1 decoder's default self-ensemble (``config.json``'s
``"ensemble"``, see ``Decoder.decode``); the gan variant always gets 1.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from explorable_jpeg.decoding.decoder import Decoder


def load_run(run: Path, ensemble: int = 1) -> Decoder:
    """The decoder of a run folder; ``ensemble``: its default self-ensemble (l1 only)."""
    cfg = json.loads((run / "config.json").read_text())
    variant = "gan" if cfg["luma"].get("z_channels", 0) else "l1"
    dec = Decoder.from_config(
        {"variant": variant, "luma": cfg["luma"], "chroma": cfg["chroma"],
         "ensemble": ensemble if variant == "l1" else 1}
    )  # fmt: skip
    state = {}
    for part in ("luma", "chroma"):
        with np.load(run / f"{part}.npz", allow_pickle=False) as npz:
            state.update({f"{part}.{k}": torch.from_numpy(npz[k]) for k in npz.files})
    dec.load_state_dict(state, strict=True)
    return dec


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("run", type=Path)
    p.add_argument("out", type=Path)
    p.add_argument("--card", type=Path, help="model card (markdown) copied as README.md")
    p.add_argument("--gan-card", type=Path, help="model card for the gan variant")
    p.add_argument("--only-gan", action="store_true", help="(implied by a run with z)")
    p.add_argument(
        "--ensemble", type=int, default=1, choices=[1, 2, 4, 8], help="l1's default self-ensemble"
    )
    args = p.parse_args()
    model = load_run(args.run, args.ensemble)
    card = args.card.read_text() if args.card else None
    gan_card = args.gan_card.read_text() if args.gan_card else card
    if model.variant == "gan":
        model.save_pretrained(args.out / "gan", gan_card)
        return
    model.save_pretrained(args.out / "l1", card)
    model.to_gan().save_pretrained(args.out / "gan", gan_card)


if __name__ == "__main__":
    main()
