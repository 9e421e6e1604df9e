"""Shared fixtures: small synthetic 'natural' images and the committed JPEG fixtures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest

if TYPE_CHECKING:
    from explorable_jpeg.decoding.decoder import Decoder

FIXTURES = Path(__file__).parent / "fixtures"
#: the datasets beside the checkout (``../shared/datasets``, as the noxfile's sessions use them)
SHARED_DATASETS = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"


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


def random_decoder(z: bool = True, seed: int = 0, scale: float = 0.5) -> Decoder:
    """A small decoder (16 channels, one block) with random (non-zero) output layers: offsets
    far from the bin centres; ``z``: the gan variant with 64 z channels per block."""
    import torch

    from explorable_jpeg.decoding.decoder import Decoder
    from explorable_jpeg.models import ChromaNet, ChromaNetConfig, LumaNet, LumaNetConfig

    torch.manual_seed(seed)
    zc = 64 if z else 0
    dec = Decoder(
        LumaNet(LumaNetConfig(16, 1, zc)),
        ChromaNet(ChromaNetConfig(16, 1, zc)),
        "gan" if z else "l1",
    )
    with torch.no_grad():
        for p in dec.parameters():
            p.add_(torch.randn_like(p) * scale)
    return dec.eval()


def pillow_jpeg(seed: int = 0, quality: int = 50, size=(48, 64), **kw) -> bytes:
    """A JPEG written by Pillow of :func:`natural_image` ``size`` (not libjpeg's cjpeg)."""
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(natural_image(*size, seed=seed)).save(buf, format="JPEG", quality=quality, **kw)
    return buf.getvalue()


def corrupt_entropy(data: bytes) -> bytes:
    """Flip bytes inside the entropy-coded data until libjpeg warns about corrupt data."""
    from explorable_jpeg import read_jpeg
    from explorable_jpeg.errors import CorruptJpegDataError, CorruptJpegError

    sos = data.find(b"\xff\xda")
    start = sos + 2 + int.from_bytes(data[sos + 2 : sos + 4], "big")
    for seed in range(50):
        rng = np.random.default_rng(seed)
        d = bytearray(data)
        for k in rng.integers(start + 4, len(data) - 4, 3):
            d[k] = 0x55 if d[k] != 0x55 else 0x2A  # never 0xFF: no new markers
        try:
            read_jpeg(bytes(d))
        except CorruptJpegDataError:
            return bytes(d)
        except CorruptJpegError:
            continue
    raise AssertionError("no corrupting flip found")


def run_fresh_python(code: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a new interpreter (nothing imported before it); fails the test with
    its stderr when it exits non-zero."""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES


@pytest.fixture
def digits_png() -> Path:
    """OpenCV's ``digits.png`` (50 rows × 100 cells of 20 × 20, five rows per class) from the
    shared datasets; the test is skipped where they are not beside the checkout."""
    path = SHARED_DATASETS / "digits" / "digits.png"
    if not path.is_file():
        pytest.skip(f"digits dataset not available ({path})")
    return path


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
