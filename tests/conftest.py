"""Shared fixtures: small synthetic 'natural' images and the committed JPEG fixtures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

FIXTURES = Path(__file__).parent / "fixtures"


def natural_image(height: int, width: int, seed: int = 0, color: bool = True) -> np.ndarray:
    """A deterministic image with smooth shading, edges, stripes and fine noise (uint8)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    base = 90 + 60 * np.sin(xx / (7 + 5 * rng.random())) * np.cos(yy / (11 + 5 * rng.random()))
    base += 40 * (
        (xx - width * rng.random()) ** 2 + (yy - height * rng.random()) ** 2
        < (min(height, width) / 3) ** 2
    )
    base += 25 * (np.sin((xx + 2 * yy) / 2.3) > 0.3)
    base += rng.normal(0, 6, size=base.shape)
    if not color:
        return np.clip(base, 0, 255).astype(np.uint8)
    tint = np.stack([base * 1.1 + 10, base * 0.9 + 20 * np.sin(yy / 9), base * 0.7 + 60], axis=-1)
    tint += rng.normal(0, 3, size=tint.shape)
    return np.clip(tint, 0, 255).astype(np.uint8)


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES


@pytest.fixture
def rgb_image() -> np.ndarray:
    return natural_image(48, 72, seed=1)


@pytest.fixture
def gray_image() -> np.ndarray:
    return natural_image(40, 56, seed=2, color=False)


@pytest.fixture(scope="module")
def one_torch_thread():
    """Tiny convolutions run faster on one thread (and the machine is shared); restores the
    thread count after the module."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
