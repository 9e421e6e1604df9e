"""The eight flips and transpositions of an image, in the pixel and in the DCT domain.

A JPEG code can be flipped or transposed without decoding it (``jpegtran -flip``, ``-transpose``
work the same way): for 8×8 DCT blocks ``C[u, v]`` (u vertical, v horizontal frequency)

* horizontal flip: block columns reversed, ``C'[u, v] = (−1)^v · C[u, v]``;
* vertical flip: block rows reversed, ``C'[u, v] = (−1)^u · C[u, v]``;
* transposition: block grid transposed, ``C'[u, v] = C[v, u]``, and so is the table ``M``.

Transform ``k ∈ {0, …, 7}`` applies the transposition if ``k & 4``, then the vertical flip if
``k & 2``, then the horizontal flip if ``k & 1``; :func:`coefficients_inverse` undoes it.
The signs are exact, so a quantized code maps to a quantized code of the transformed image.

Self-ensemble (:meth:`explorable_jpeg.Decoder.decode` with ``ensemble > 1``) decodes the
transformed codes, maps each result back and averages:

    X̂ = (1/K) Σ_k T_k⁻¹( ψ(T_k(q), T_k(M)) ).

Each term lies in the quantization bins, and the bins are convex, so the mean is consistent too.
"""

from __future__ import annotations

import torch

ENSEMBLE_SIZES = (1, 2, 4, 8)
# Transforms used for each ensemble size: 2 = identity + rotation by 180°, 4 = all flips.
# Order measured on val/eval2 at 384 px, QF 10 (l1 v3): rotation beats transposition as the
# second view (+0.044 vs +0.039 dB on eval2).
_ORDER = (0, 3, 1, 2, 4, 7, 5, 6)


def transforms(size: int, transpose: bool = True) -> tuple[int, ...]:
    """The transforms ``k`` of an ensemble of ``size`` (1, 2, 4 or 8).

    ``transpose=False`` (a component sampled differently across and down, e.g. 4:2:2 chroma,
    whose transposition would be a sampling the network has not seen) keeps the flips only,
    so at most 4 views.
    """
    if size not in ENSEMBLE_SIZES:
        raise ValueError(f"ensemble must be one of {ENSEMBLE_SIZES}, got {size!r}")
    ks = [k for k in _ORDER if transpose or not k & 4]
    return tuple(ks[:size])


def _signs(dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    return torch.tensor([1.0, -1.0] * 4, dtype=dtype, device=device)


def coefficients_forward(q: torch.Tensor, k: int) -> torch.Tensor:
    """Transform ``k`` of coefficient channels ``(B, 64, by, bx)`` (channel ``8u + v``)."""
    if k == 0:
        return q
    b, _, h, w = q.shape
    x = q.reshape(b, 8, 8, h, w)
    s = _signs(q.dtype, q.device)
    if k & 4:
        x = x.permute(0, 2, 1, 4, 3)
    if k & 2:
        x = x.flip(3) * s[None, :, None, None, None]
    if k & 1:
        x = x.flip(4) * s[None, None, :, None, None]
    return x.reshape(b, 64, x.shape[3], x.shape[4])


def coefficients_inverse(x: torch.Tensor, k: int) -> torch.Tensor:
    """Undo :func:`coefficients_forward` (``coefficients_inverse(coefficients_forward(q, k), k)
    == q``)."""
    if k == 0:
        return x
    b, _, h, w = x.shape
    y = x.reshape(b, 8, 8, h, w)
    s = _signs(x.dtype, x.device)
    if k & 1:
        y = y.flip(4) * s[None, None, :, None, None]
    if k & 2:
        y = y.flip(3) * s[None, :, None, None, None]
    if k & 4:
        y = y.permute(0, 2, 1, 4, 3)
    return y.reshape(b, 64, y.shape[3], y.shape[4])


def table_forward(table: torch.Tensor, k: int) -> torch.Tensor:
    """The quantization table ``(..., 8, 8)`` of the transformed code (transposed if ``k & 4``)."""
    return table.transpose(-1, -2) if k & 4 else table


def grid_forward(x: torch.Tensor, k: int) -> torch.Tensor:
    """Transform ``k`` of the spatial axes (last two) of a plane or of per-block channels
    (pixels, z): no signs, channels untouched."""
    if k & 4:
        x = x.transpose(-1, -2)
    if k & 2:
        x = x.flip(-2)
    if k & 1:
        x = x.flip(-1)
    return x


def grid_inverse(x: torch.Tensor, k: int) -> torch.Tensor:
    """Undo :func:`grid_forward`."""
    if k & 1:
        x = x.flip(-1)
    if k & 2:
        x = x.flip(-2)
    if k & 4:
        x = x.transpose(-1, -2)
    return x
