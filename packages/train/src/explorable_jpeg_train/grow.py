"""Function-preserving growth of a trained luma net into a wider and deeper one.

A net of ``C₀`` channels × ``N₀`` blocks is embedded in one of ``C ≥ C₀`` × ``N ≥ N₀``:

* every old weight is copied to the block ``[:C₀, :C₀]`` of its new layer;
* weights *from* a new channel *into* an old one are zero (old features never read new
  ones), weights into new channels are freshly initialised (new features read everything);
* the ``N − N₀`` new residual blocks come last with a zero second convolution, so
  ``x + conv₂(·) = x``: they start as the identity;
* the output layer reads only the old channels (new columns zero);
* with z inputs (a gan net), each old block's ``W_z`` is copied into its first ``C₀`` rows;
  rows feeding new channels (and new blocks' ``W_z``) keep their fresh initialisation —
  they reach only new channels, which the old ones do not read.

So ``grown(q, M) = small(q, M)`` exactly at the start (``tests/train/test_training.py``),
and every zero weight gets a non-zero gradient (its input or output is non-zero): training
starts from the small net's quality and can only add what the larger net has room for,
instead of climbing from the bin-centre decoding as a fresh large net must.
"""

from __future__ import annotations

import torch

from explorable_jpeg.models import LumaNet, LumaNetConfig

NEW_OUT_SCALE = 0.1  # new residual-stream channels start small


def _embed(dst: torch.nn.Conv2d, src: torch.nn.Conv2d, zero_cross: bool) -> None:
    o, i = src.weight.shape[:2]
    with torch.no_grad():
        if zero_cross:
            dst.weight[:o, i:] = 0
        dst.weight[:o, :i] = src.weight
        if dst.bias is not None and src.bias is not None:
            dst.bias[:o] = src.bias


def grow_luma(small: LumaNet, config: LumaNetConfig, seed: int = 0) -> LumaNet:
    """``small`` embedded in a fresh ``LumaNet(config)``; see the module docstring."""
    s = small.config
    if s.z_channels != config.z_channels:
        raise ValueError(f"z_channels differ: {s.z_channels} vs {config.z_channels}")
    if config.channels < s.channels or config.blocks < s.blocks:
        raise ValueError(
            f"cannot grow {s.channels}×{s.blocks} into {config.channels}×{config.blocks}"
        )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        big = LumaNet(config)
    c0 = s.channels
    _embed(big.head, small.head, zero_cross=False)
    for k, block in enumerate(big.body):
        with torch.no_grad():
            if k < s.blocks:
                old = small.body[k]
                _embed(block.conv1, old.conv1, zero_cross=True)
                _embed(block.conv2, old.conv2, zero_cross=True)
                if old.z_proj is not None:
                    _embed(block.z_proj, old.z_proj, zero_cross=False)
                block.conv2.weight[c0:] *= NEW_OUT_SCALE
                block.conv2.bias[c0:] *= NEW_OUT_SCALE
            else:
                block.conv2.weight.zero_()
                block.conv2.bias.zero_()
    with torch.no_grad():
        big.tail.weight.zero_()
        big.tail.bias.zero_()
    _embed(big.tail, small.tail, zero_cross=True)
    return big
