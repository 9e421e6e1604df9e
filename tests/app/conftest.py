"""Fixtures for the app tests: one bundled decoder for the whole session, example files."""

from __future__ import annotations

from pathlib import Path

import pytest

from explorable_jpeg_app.ui import EXAMPLES_DIR


@pytest.fixture(scope="session")
def decoder():
    """The bundled gan decoder (trained z layers: the tools change the image)."""
    from explorable_jpeg.decoding.decoder import Decoder

    return Decoder.from_pretrained(variant="gan", device="cpu")


@pytest.fixture
def example_jpeg() -> Path:
    return EXAMPLES_DIR / "mountains_q15.jpg"
