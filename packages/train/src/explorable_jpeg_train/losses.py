"""Losses of the GAN phase (all images on the [0, 255] scale).

Notation: x the truth, ψ(q, z) the decoder's output for code q and control z, D the
conditional critic (:mod:`.critic`), c(·) the critic's input built from the code and a
candidate. Generator objective per step (weights in ``[gan]`` of the config)::

    L_G = w_zero·|ψ(q, 0) − x|₁ + w_map·|ψ(q, z*) − x|₁ + w_adv·L_adv
          + w_range·L_range + w_div·L_div + w_perc·L_perc

* z = 0 stays the distortion-optimal (L1) decoding, so the app's default view is the
  best single guess; z* (map loss) keeps the truth reachable for the exploration tools;
  random z must look real to the critic (L_adv) and differ from each other (L_div).
* Diversity term (chosen over the paper's structure-tensor loss): the diversity-sensitive
  (mode-seeking) regulariser of Yang et al. 2019 / Mao et al. 2019, capped::

      L_div = − mean_i min( mean|ψ(q_i, z1) − ψ(q_i, z2)| / mean|z1 − z2| , τ )

  per image i (τ = ``div_cap`` gray levels per unit of z). It rewards *any* visible change
  caused by z, is cheap (one extra forward), needs no running percentiles, and cannot
  collapse: the ratio is zero exactly when z is ignored. The cap keeps it from pushing
  outputs to the bin edges once z already matters; the critic decides *which* changes look
  real. The structure-tensor loss instead ties three z directions to gradient statistics
  (useful for sliders) but only for spatially uniform z, and leaves the other 61 free.
  With ``div_cap_scale = "table"`` the cap of crop i follows its quantisation table,
  ``τ_i = τ · min(1, mean(T_i) / mean(T_QF10))`` (T_QF10 the IJG table at quality 10, of
  the luma or chroma tables as the phase): the code leaves less room at a high quality, so
  z should change less there (with one τ for all qualities random z cost 2–3 dB against
  the l1 model at QF 30–50 and added visible noise to QF 75+ files).
  With ``div_reduce = "batch"`` the cap applies to the batch mean instead,
  ``L_div = − min(mean_i ratio_i, τ)``: the net may leave smooth crops nearly unchanged
  by z and put the texture where it is plausible, as long as the average reaches τ.
* Perceptual term at a random z (optional, ``w_perc > 0``): the shift-tolerant LPIPS
  distance (Ghildyal & Liu 2022) of the first ``perc_batch`` random-z decodings to the
  truth, ``L_perc = mean_i d_ST-LPIPS(ψ(q_i, z1_i), x_i)`` (RGB in [−1, 1]; gray repeated).
  The VGG network by default, so that the AlexNet ST-LPIPS the evaluation reports is not
  the quantity being minimised. It tells the generator which textures are close to *some*
  plausible truth, where the critic alone (weak on short CPU runs) put noise on smooth
  objects.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from explorable_jpeg.ops.color import ycbcr_to_rgb


def gradient_penalty(
    critic: Callable[[torch.Tensor], torch.Tensor],
    real: torch.Tensor,
    fake: torch.Tensor,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """WGAN-GP penalty ``E[(‖∇_x̃ D(x̃)‖₂ − 1)²]``, ``x̃ = ε·real + (1 − ε)·fake``.

    ``real``, ``fake``: full critic inputs ``(B, …)`` (code channels included, as in the
    paper: the gradient is taken w.r.t. the whole conditional input); ε ~ U[0, 1] per sample.
    Differentiable w.r.t. the critic's parameters (double backward).
    """
    eps = torch.rand(
        (real.shape[0],) + (1,) * (real.dim() - 1),
        generator=generator,
        device=real.device,
        dtype=real.dtype,
    )
    mix = (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(mix).sum(), mix, create_graph=True)
    norm = grad.flatten(1).norm(dim=1)
    return ((norm - 1.0) ** 2).mean()


def critic_loss(
    d_real: torch.Tensor,
    d_fake: torch.Tensor,
    penalty: torch.Tensor,
    gp_weight: float = 10.0,
    drift: float = 0.0,
) -> torch.Tensor:
    """WGAN-GP critic loss ``E[D(fake)] − E[D(real)] + λ·GP + ε_drift·E[D(real)²]``."""
    loss = d_fake.mean() - d_real.mean() + gp_weight * penalty
    if drift:
        loss = loss + drift * (d_real**2).mean()
    return loss


def generator_adversarial_loss(d_fake: torch.Tensor) -> torch.Tensor:
    """``L_adv = −E[D(ψ(q, z))]``."""
    return -d_fake.mean()


def range_loss(x: torch.Tensor, lo: float = 0.0, hi: float = 255.0) -> torch.Tensor:
    """Mean hinge distance outside ``[lo, hi]``: ``mean(max(0, x − hi, lo − x))``."""
    return (torch.relu(x - hi) + torch.relu(lo - x)).mean()


def rgb_range_loss(luma: torch.Tensor, chroma: torch.Tensor) -> torch.Tensor:
    """Range loss after colour conversion: ``luma (B, H, W)``, ``chroma (B, 2, H, W)``
    → RGB (JFIF, [0, 255]) → :func:`range_loss`."""
    return range_loss(ycbcr_to_rgb(torch.cat([luma[:, None], chroma], 1)))


class PerceptualLoss:
    """``L_perc`` of the module docstring with the frozen ST-LPIPS network ``net``
    (:func:`.metrics.load_stlpips_net`; ``RuntimeError`` when stlpips-pytorch is missing)."""

    def __init__(self, net: str = "vgg", device: str | torch.device = "cpu") -> None:
        from .metrics import load_stlpips_net

        self.net = load_stlpips_net(net, str(device))

    def __call__(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """Mean distance of ``a`` to ``b``: ``(B, H, W)`` gray or ``(B, 3, H, W)`` RGB in
        [0, 255]; differentiable w.r.t. ``a`` (not clamped: the range loss handles that)."""

        def t(x: torch.Tensor) -> torch.Tensor:
            x = x[:, None].expand(-1, 3, -1, -1) if x.dim() == 3 else x
            return x / 127.5 - 1.0

        return self.net(t(a), t(b.detach())).mean()


def l1(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (a - b).abs().mean()


def diversity_ratio(
    out1: torch.Tensor, out2: torch.Tensor, z1: torch.Tensor, z2: torch.Tensor
) -> torch.Tensor:
    """Per-image ``mean|out1 − out2| / mean|z1 − z2|`` (gray levels per unit z), ``(B,)``."""
    num = (out1 - out2).abs().flatten(1).mean(1)
    den = (z1 - z2).abs().flatten(1).mean(1).clamp_min(1e-6)
    return num / den


def diversity_loss(
    out1: torch.Tensor,
    out2: torch.Tensor,
    z1: torch.Tensor,
    z2: torch.Tensor,
    cap: float | torch.Tensor,
    reduce: str = "image",
) -> torch.Tensor:
    """``L_div = −mean_i min(ratio_i, cap)`` (``reduce="image"``) or
    ``−min(mean_i ratio_i, cap)`` (``reduce="batch"``), see the module docstring; minimise.
    ``cap``: one number, or one per crop ``(B,)`` (``reduce="image"`` only)."""
    ratio = diversity_ratio(out1, out2, z1, z2)
    if reduce == "batch":
        if isinstance(cap, torch.Tensor):
            raise ValueError("a per-crop cap needs div_reduce = 'image'")
        return -ratio.mean().clamp_max(cap)
    if reduce != "image":
        raise ValueError(f"div_reduce must be 'image' or 'batch', not {reduce!r}")
    return -torch.minimum(ratio, torch.as_tensor(cap, dtype=ratio.dtype)).mean()


def table_scaled_cap(cap: float, tables: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Per-crop cap ``τ_i = τ · min(1, mean(T_i) / mean(T_ref))``; ``tables (B, 8, 8)``."""
    scale = tables.flatten(1).float().mean(1) / reference.float().mean()
    return cap * scale.clamp_max(1.0)


def find_z(
    decode: Callable[[torch.Tensor], torch.Tensor],
    target: torch.Tensor,
    shape: tuple[int, ...],
    steps: int,
    lr: float,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Inner search of the map loss: ``z* ≈ argmin_z |decode(z) − target|₁``.

    ``steps`` Adam steps on ``w`` with ``z = tanh(w)``, from ``z ~ U[−1, 1]``. The caller
    freezes the networks (``requires_grad_(False)``); the result is detached.
    """
    z0 = torch.rand(shape, generator=generator, device=target.device) * 2 - 1
    w = torch.atanh(z0.clamp(-0.95, 0.95)).requires_grad_(True)
    opt = torch.optim.Adam([w], lr=lr)
    for _ in range(steps):
        loss = l1(decode(torch.tanh(w)), target)
        (g,) = torch.autograd.grad(loss, [w])
        w.grad = g
        opt.step()
    return torch.tanh(w).detach()
