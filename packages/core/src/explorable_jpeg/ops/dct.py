"""Orthonormal 8×8 block DCT-II as batched matrix products (numpy and torch).

The JPEG forward transform of a level-shifted block ``X`` (8×8) is ``C X Cᵀ`` with

    C[k, n] = α(k) · cos((2n + 1) k π / 16),   α(0) = √(1/8),  α(k>0) = ½,

which is orthonormal (``C Cᵀ = I``), so the inverse is ``Cᵀ Y C``. Blocks are stored as
``(..., by, bx, 8, 8)`` in natural (row = vertical frequency u, column = horizontal v)
order, the layout jpeglib uses.

Example:
    >>> import numpy as np
    >>> x = np.random.rand(16, 24)
    >>> np.allclose(unblockify(idct_blocks(dct_blocks(blockify(x)))), x)
    True
"""

from __future__ import annotations

import math
from typing import TypeVar

import numpy as np
import torch

BLOCK = 8


def dct_matrix(size: int = BLOCK) -> np.ndarray:
    """Return the orthonormal ``size``-point DCT-II matrix C (float64, shape (size, size)):
    ``C[k, n] = α(k) · cos((2n + 1) k π / (2·size))``, α(0) = √(1/size), α(k>0) = √(2/size)
    (JPEG's is ``size = 8``)."""
    k = np.arange(size)[:, None]
    n = np.arange(size)[None, :]
    c = np.cos((2 * n + 1) * k * math.pi / (2 * size))
    c[0] *= math.sqrt(1 / size)
    c[1:] *= math.sqrt(2 / size)
    return c


ArrayT = TypeVar("ArrayT", np.ndarray, torch.Tensor)
"""A numpy array or a torch tensor: these functions return the kind they are given."""

DCT_MATRIX: np.ndarray = dct_matrix()  # (8, 8) float64


def _torch_matrix(like: torch.Tensor) -> torch.Tensor:
    return torch.as_tensor(DCT_MATRIX, dtype=like.dtype, device=like.device)


def blockify(plane: ArrayT) -> ArrayT:
    """Split ``(..., H, W)`` (H, W multiples of 8) into ``(..., H/8, W/8, 8, 8)`` blocks."""
    h, w = plane.shape[-2:]
    if h % BLOCK or w % BLOCK:
        raise ValueError(f"plane size {h}x{w} is not a multiple of {BLOCK}")
    lead = plane.shape[:-2]
    b = plane.reshape(*lead, h // BLOCK, BLOCK, w // BLOCK, BLOCK)
    nd: int = len(b.shape)
    perm = (*range(nd - 4), nd - 4, nd - 2, nd - 3, nd - 1)
    return b.transpose(*perm) if isinstance(b, np.ndarray) else b.permute(*perm)


def unblockify(blocks: ArrayT) -> ArrayT:
    """Inverse of :func:`blockify`: ``(..., by, bx, 8, 8)`` → ``(..., 8·by, 8·bx)``."""
    by, bx = blocks.shape[-4:-2]
    lead = blocks.shape[:-4]
    nd: int = len(blocks.shape)
    perm = (*range(nd - 4), nd - 4, nd - 2, nd - 3, nd - 1)
    b = blocks.transpose(*perm) if isinstance(blocks, np.ndarray) else blocks.permute(*perm)
    return b.reshape(*lead, by * BLOCK, bx * BLOCK)


def dct_blocks(blocks: ArrayT) -> ArrayT:
    """Forward orthonormal DCT of every 8×8 block: ``C X Cᵀ`` (numpy or torch, differentiable)."""
    if isinstance(blocks, torch.Tensor):
        c = _torch_matrix(blocks)
        return c @ blocks @ c.T
    return DCT_MATRIX @ blocks @ DCT_MATRIX.T


def idct_blocks(coefficients: ArrayT) -> ArrayT:
    """Inverse orthonormal DCT of every 8×8 block: ``Cᵀ Y C`` (numpy or torch)."""
    if isinstance(coefficients, torch.Tensor):
        c = _torch_matrix(coefficients)
        return c.T @ coefficients @ c
    return DCT_MATRIX.T @ coefficients @ DCT_MATRIX


def blocks_to_channels(blocks: ArrayT) -> ArrayT:
    """``(..., by, bx, 8, 8)`` → ``(..., 64, by, bx)``; channel index = 8·u + v."""
    by, bx = blocks.shape[-4:-2]
    lead = blocks.shape[:-4]
    flat = blocks.reshape(*lead, by, bx, BLOCK * BLOCK)
    nd: int = len(flat.shape)
    perm = (*range(nd - 3), nd - 1, nd - 3, nd - 2)
    return flat.transpose(*perm) if isinstance(flat, np.ndarray) else flat.permute(*perm)


def channels_to_blocks(channels: ArrayT) -> ArrayT:
    """``(..., 64, by, bx)`` → ``(..., by, bx, 8, 8)``; inverse of :func:`blocks_to_channels`."""
    nd: int = len(channels.shape)
    perm = (*range(nd - 3), nd - 2, nd - 1, nd - 3)
    c = channels.transpose(*perm) if isinstance(channels, np.ndarray) else channels.permute(*perm)
    return c.reshape(*c.shape[:-1], BLOCK, BLOCK)
