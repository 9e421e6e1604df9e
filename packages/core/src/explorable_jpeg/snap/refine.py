"""The retry of snap's last failing MCUs: gradient descent on the fallback planes of each
MCU towards the consistent set ∩ the RGB cube (:func:`refine`), most promising MCUs first
(:func:`retry_order`)."""

from __future__ import annotations

import math

import numpy as np
import torch

from explorable_jpeg.consistency.projection import component_coefficients, to_canvas
from explorable_jpeg.consistency.reachability import free_blocks
from explorable_jpeg.jpeg.code import JpegCode
from explorable_jpeg.ops.color import ycbcr_to_rgb
from explorable_jpeg.snap.bins import image_excess


def retry_order(failing: np.ndarray, img: np.ndarray, code: JpegCode) -> np.ndarray:
    """Failing MCUs worth a retry, most promising first.

    MCUs on the right/bottom edge come first (edge replication is where the fast stages are
    weakest), then the others by decreasing worst excess in quantization steps.
    """
    rows, cols = code.mcu_grid
    worst = np.zeros((rows, cols))
    for ex, comp in zip(image_excess(img, code), code.components, strict=True):
        steps = (ex / (8.0 * comp.table)).max(axis=(-2, -1))
        by, bx = steps.shape
        v, h = comp.v_samp, comp.h_samp
        pad = np.zeros((rows * v, cols * h))
        pad[:by, :bx] = steps
        worst = np.maximum(worst, pad.reshape(rows, v, cols, h).max(axis=(1, 3)))
    r, c = failing[:, 0], failing[:, 1]
    edge = (r == rows - 1) | (c == cols - 1)
    return failing[np.lexsort((-worst[r, c], ~edge))]


def refine(
    planes: np.ndarray,
    codes: list[JpegCode],
    steps: int = 150,
    margin: float = 0.15,
    lr: float = 0.3,
) -> np.ndarray:
    """Gradient descent on float planes towards the consistent set ∩ the RGB cube.

    Minimises ``Σ relu(|c − q| − (½ − m))² + Σ relu(x_rgb − 254.5)² + relu(0.5 − x_rgb)²``
    where ``c`` are the coefficients of the *edge-replicated* planes, as the encoder sees
    them. Unlike the closed-form projection this handles the MCUs at the right and bottom
    edges, where padding ties the padded samples to the image's last row/column. Used on
    single MCUs (crops of the code) that the fast stages could not make exact.

    Args:
        planes: ``(N, C, h, w)`` targets, one per code of ``codes`` (codes of the same size
            and sampling, e.g. MCUs of one shape), optimised together in one batch.
    """
    with torch.inference_mode(False), torch.enable_grad():
        return _refine(planes, codes, steps, margin, lr)


def _refine(
    planes: np.ndarray, codes: list[JpegCode], steps: int, margin: float, lr: float
) -> np.ndarray:
    code = codes[0]
    x = torch.tensor(np.asarray(planes, dtype=np.float64), requires_grad=True)
    qs = [
        torch.as_tensor(
            np.stack([c.components[i].coefficients for c in codes]), dtype=torch.float64
        )
        for i in range(len(code.components))
    ]
    adam = Adam(x, lr)
    keep = [
        torch.as_tensor(~np.stack([free_blocks(c)[i] for c in codes]), dtype=torch.float64)[
            ..., None, None
        ]
        for i in range(len(code.components))
    ]
    for _ in range(steps):
        canvas = to_canvas(x, code)
        loss = x.new_zeros(())
        for i, q in enumerate(qs):
            c = component_coefficients(canvas[:, i], code, i)
            excess = torch.relu((c - q).abs() - (0.5 - margin)).pow(2)
            loss = loss + (excess * keep[i]).sum()
        rgb = ycbcr_to_rgb(x) if code.is_color else x
        loss = loss + (torch.relu(rgb - 254.5).pow(2) + torch.relu(0.5 - rgb).pow(2)).sum()
        if loss.item() < 1e-10:
            break
        x.grad = None
        loss.backward()
        adam.step()
    return x.detach().numpy()


class Adam:
    """Adam (Kingma & Ba; β = (0.9, 0.999), ε = 1e-8) on one tensor, the same arithmetic as
    ``torch.optim.Adam``'s single-tensor path (same results to the bit):

        m ← β₁m + (1 − β₁)g,  v ← β₂v + (1 − β₂)g²,
        x ← x − lr/(1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε).

    ``torch.optim`` is not used because constructing its first optimizer imports
    ``torch._dynamo`` (1.9 s on 2 CPU cores), a third of a small decode's time."""

    def __init__(
        self,
        x: torch.Tensor,
        lr: float,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
    ):
        self.x, self.lr, self.betas, self.eps = x, lr, betas, eps
        self.m = torch.zeros_like(x)
        self.v = torch.zeros_like(x)
        self.t = 0

    @torch.no_grad()
    def step(self) -> None:
        b1, b2 = self.betas
        self.t += 1
        g = self.x.grad
        if g is None:  # the loss did not reach x: no step
            return
        self.m.lerp_(g, 1 - b1)
        self.v.mul_(b2).addcmul_(g, g, value=1 - b2)
        denom = (self.v.sqrt() / math.sqrt(1 - b2**self.t)).add_(self.eps)
        self.x.addcdiv_(self.m, denom, value=-self.lr / (1 - b1**self.t))
