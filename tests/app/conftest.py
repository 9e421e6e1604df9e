"""Fixtures for the app tests: one bundled decoder for the whole module, example files."""

from __future__ import annotations

from pathlib import Path

import pytest

from explorable_jpeg_app.ui import EXAMPLES_DIR


@pytest.fixture(scope="session")
def decoder():
    from explorable_jpeg.decoder import Decoder

    return Decoder.from_pretrained(variant="gan", device="cpu")


@pytest.fixture
def example_jpeg() -> Path:
    return EXAMPLES_DIR / "mountains_q15.jpg"


@pytest.fixture(scope="session")
def z_decoder(decoder):
    """The bundled gan decoder with small seeded random z weights, so that z changes the
    output (the bundled weights' z layers are still zero until the GAN phase is trained)."""
    import copy

    import torch

    dec = copy.deepcopy(decoder)
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, p in dec.named_parameters():
            if "z_proj.weight" in name:
                p.copy_(torch.randn(p.shape, generator=gen) * 0.1)
    return dec.eval()
