"""Pack what the GAN's perceptual term needs for a GPU box that has only torch and numpy.

The VGG ST-LPIPS network of ``stlpips-pytorch`` (the training-time perceptual term; AlexNet
stays the held-out metric) is 59 MB in float32 and does not fit the 64 MiB a device call may
carry next to the training photos. This script writes into ``DIR`` (default
``data_cache/gpu_perc``):

* ``pylib/stlpips_pytorch/`` — the package's Python sources (no weights);
* ``vgg_st_int8.npz`` — its weights, each conv kernel ``W`` (out-channels ``o``) stored as
  ``q = round(W / s)`` in int8 with one scale per output channel ``s_o = max|W_o| / 127``
  (14.7 MB); biases, blur filters and the linear heads stay float32;
* ``train/``, ``extra/`` — the training photos as lossless WebP (28.5 + 7.1 MB instead of
  37.8 + 9.0 MB of PNG), with ``--photos``.

On the box, ``--unpack DIR`` rebuilds the float32 state dict ``W ≈ s_o·q`` and saves it where
the package looks for it (``pylib/stlpips_pytorch/weights/vST0.0/vgg_shift_tolerant.pth``);
put ``DIR/pylib`` first on ``PYTHONPATH``. ``--check`` compares the distances of the
quantised network with the original's on random-crop pairs (run where the package is
installed).

    python packages/train/scripts/pack_perceptual.py --photos           # pack
    python packages/train/scripts/pack_perceptual.py --unpack           # on the GPU box
    python packages/train/scripts/pack_perceptual.py --check            # quantisation error
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
from pathlib import Path

import numpy as np

WEIGHTS = Path("weights") / "vST0.0" / "vgg_shift_tolerant.pth"


def package_dir() -> Path:
    spec = importlib.util.find_spec("stlpips_pytorch")
    if spec is None or spec.origin is None:
        raise SystemExit("stlpips-pytorch is not installed here")
    return Path(spec.origin).parent


def quantise(state: dict) -> dict[str, np.ndarray]:
    """int8 per output channel for 4-D kernels with more than 1000 weights."""
    out: dict[str, np.ndarray] = {}
    for k, v in state.items():
        a = v.detach().cpu().numpy().astype(np.float32)
        if a.ndim == 4 and a.size > 1000 and not k.endswith("filt"):
            s = np.abs(a).reshape(a.shape[0], -1).max(1).clip(1e-12) / 127.0
            out[k + "::q"] = np.round(a / s[:, None, None, None]).astype(np.int8)
            out[k + "::s"] = s.astype(np.float32)
        else:
            out[k] = a
    return out


def dequantise(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    state = {}
    for k, a in arrays.items():
        if k.endswith("::s"):
            continue
        if k.endswith("::q"):
            name = k[:-3]
            state[name] = a.astype(np.float32) * arrays[name + "::s"][:, None, None, None]
        else:
            state[k] = a
    return state


def pack(root: Path, photos: bool) -> None:
    import torch

    src = package_dir()
    lib = root / "pylib" / "stlpips_pytorch"
    if lib.exists():
        shutil.rmtree(lib)
    shutil.copytree(src, lib, ignore=shutil.ignore_patterns("weights", "__pycache__", ".DS_Store"))
    state = torch.load(src / WEIGHTS, map_location="cpu")
    np.savez_compressed(root / "vgg_st_int8.npz", **quantise(state))
    if photos:
        from PIL import Image

        for name, folder in (("train", "data_cache/train"), ("extra", "data_cache/train_extra")):
            dst = root / name
            dst.mkdir(parents=True, exist_ok=True)
            for p in sorted(Path(folder).glob("*.png")):
                q = dst / (p.stem + ".webp")
                if not q.exists():
                    with Image.open(p) as im:
                        im.save(q, lossless=True, quality=100, method=6)
    total = sum(f.stat().st_size for f in root.rglob("*") if f.is_file())
    print(f"{root}: {total / 2**20:.1f} MiB")


def unpack(root: Path) -> Path:
    import torch

    with np.load(root / "vgg_st_int8.npz") as z:
        state = {k: torch.from_numpy(v) for k, v in dequantise(dict(z)).items()}
    path = root / "pylib" / "stlpips_pytorch" / WEIGHTS
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, path)
    return path


def check(root: Path, n: int = 24) -> None:
    import torch

    from explorable_jpeg_train.metrics import load_stlpips_net

    ref = load_stlpips_net("vgg")
    q = load_stlpips_net("vgg")
    with np.load(root / "vgg_st_int8.npz") as z:
        state = {k: torch.from_numpy(v) for k, v in dequantise(dict(z)).items()}
    q.load_state_dict(state, strict=False)
    g = torch.Generator().manual_seed(0)
    a = torch.rand(n, 3, 96, 96, generator=g) * 2 - 1
    b = (a + 0.2 * torch.randn(n, 3, 96, 96, generator=g)).clamp(-1, 1)
    a.requires_grad_(True)
    d0 = ref(a, b).flatten()
    (g0,) = torch.autograd.grad(d0.sum(), a)
    d1 = q(a, b).flatten()
    (g1,) = torch.autograd.grad(d1.sum(), a)
    rel = ((d1 - d0).abs() / d0).max().item()
    cos = torch.nn.functional.cosine_similarity(g0.flatten(), g1.flatten(), 0).item()
    print(f"max relative distance error {rel:.2e}, gradient cosine {cos:.5f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dir", nargs="?", default="data_cache/gpu_perc", type=Path)
    ap.add_argument("--photos", action="store_true", help="also pack the photos as WebP")
    ap.add_argument("--unpack", action="store_true")
    ap.add_argument("--check", action="store_true")
    a = ap.parse_args()
    if a.unpack:
        print(unpack(a.dir))
    elif a.check:
        check(a.dir)
    else:
        a.dir.mkdir(parents=True, exist_ok=True)
        pack(a.dir, a.photos)


if __name__ == "__main__":
    main()
