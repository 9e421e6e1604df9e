"""Chroma down-sampling (the encoder's box average) and up-sampling (for display).

A JPEG encoder with sampling factors (h, v) for a component and (h_max, v_max) over all
components first averages boxes of ``fy × fx = (v_max/v) × (h_max/h)`` full-resolution
samples. The consistency model of a full-resolution chroma plane ``x`` is therefore

    D(x)[i, j] = mean over the box (fy·i … fy·i+fy−1, fx·j … fx·j+fx−1) of x,

and the minimum-norm correction that changes ``D(x)`` by ``d`` adds ``d[i, j]`` to every
sample of box (i, j) (:func:`box_upsample`).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from explorable_jpeg.ops.dct import ArrayT


def box_downsample(plane: ArrayT, fy: int, fx: int) -> ArrayT:
    """Mean over ``fy × fx`` boxes of ``(..., H, W)`` (H, W multiples of the factors)."""
    if fy == 1 and fx == 1:
        return plane
    h, w = plane.shape[-2:]
    lead = plane.shape[:-2]
    b = plane.reshape(*lead, h // fy, fy, w // fx, fx)
    if isinstance(b, torch.Tensor):
        return b.mean(dim=(-3, -1))
    return b.mean(axis=(-3, -1))


def box_upsample(plane: ArrayT, fy: int, fx: int) -> ArrayT:
    """Replicate every sample of ``(..., h, w)`` into an ``fy × fx`` box (nearest up-sampling)."""
    if fy == 1 and fx == 1:
        return plane
    if isinstance(plane, torch.Tensor):
        return plane.repeat_interleave(fy, dim=-2).repeat_interleave(fx, dim=-1)
    return np.repeat(np.repeat(plane, fy, axis=-2), fx, axis=-1)


def _triangle_up2(x: torch.Tensor, dim: int) -> torch.Tensor:
    """libjpeg's 'fancy' ×2 up-sampling along ``dim``: outputs ¾·x[i] + ¼·x[i∓1]."""
    n = x.shape[dim]
    prev = torch.cat([x.narrow(dim, 0, 1), x.narrow(dim, 0, n - 1)], dim=dim)
    nxt = torch.cat([x.narrow(dim, 1, n - 1), x.narrow(dim, n - 1, 1)], dim=dim)
    even = 0.75 * x + 0.25 * prev
    odd = 0.75 * x + 0.25 * nxt
    out = torch.stack([even, odd], dim=dim + 1 if dim >= 0 else dim)
    shape = list(x.shape)
    shape[dim] = 2 * n
    return out.reshape(shape)


def upsample_display(plane: ArrayT, fy: int, fx: int) -> ArrayT:
    """Up-sample a chroma plane ``(..., h, w)`` by (fy, fx) for display.

    Factors of 2 use libjpeg's triangle ("fancy") filter, which is what libjpeg's own
    decoder shows; other factors replicate samples. Accepts numpy or torch.
    """
    is_np = isinstance(plane, np.ndarray)
    # as_tensor of a tensor is that tensor (same dtype, no copy)
    x = torch.as_tensor(plane, dtype=torch.float64) if is_np else torch.as_tensor(plane)
    if fy == 2 and x.shape[-2] > 1:
        x = _triangle_up2(x, -2)
    elif fy > 1:
        x = x.repeat_interleave(fy, dim=-2)
    if fx == 2 and x.shape[-1] > 1:
        x = _triangle_up2(x, -1)
    elif fx > 1:
        x = x.repeat_interleave(fx, dim=-1)
    if isinstance(plane, np.ndarray):
        return x.numpy()
    return x


def pad_replicate(plane: ArrayT, height: int, width: int) -> ArrayT:
    """Pad ``(..., H, W)`` at the bottom/right to (height, width) by repeating the edge."""
    h, w = plane.shape[-2:]
    if h == height and w == width:
        return plane
    if isinstance(plane, torch.Tensor):
        lead = plane.shape[:-2]
        x = plane.reshape(-1, 1, h, w)
        x = F.pad(x, (0, width - w, 0, height - h), mode="replicate")
        return x.reshape(*lead, height, width)
    pad = [(0, 0)] * (plane.ndim - 2) + [(0, height - h), (0, width - w)]
    return np.pad(plane, pad, mode="edge")
