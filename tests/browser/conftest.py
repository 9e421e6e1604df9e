"""Real-browser tests: the app served in this process, driven by headless Chromium.

Selected only by ``nox -s browser`` (``-m browser``); ``nox -s tests`` deselects them with
``-m "not browser"``. Nothing here skips: a missing browser or driver is a failure.
"""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import pytest

SCREENSHOTS = Path(__file__).resolve().parents[2] / "results" / "browser"
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-dev-shm-usage",
    "--window-size=1400,2200",
)


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: drives the app in a real headless browser")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def app_url():
    import torch

    from explorable_jpeg.decoding.decoder import Decoder
    from explorable_jpeg_app import create_app, launch

    decoder = Decoder.from_pretrained(variant="gan", device="cpu")
    with torch.no_grad():  # small seeded z weights: z must change the output (see tests/app)
        gen = torch.Generator().manual_seed(0)
        for name, p in decoder.named_parameters():
            if "z_proj.weight" in name:
                p.copy_(torch.randn(p.shape, generator=gen) * 0.1)
    app = create_app(decoder=decoder)
    port = _free_port()
    launch(app, server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    yield f"http://127.0.0.1:{port}/"
    app.close()


@pytest.fixture(scope="module")
def driver():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    chromedriver = shutil.which("chromedriver")
    assert binary and chromedriver, "install Debian's chromium and chromium-driver"
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    drv = webdriver.Chrome(service=Service(chromedriver), options=options)
    drv.set_page_load_timeout(120)
    yield drv
    drv.quit()


@pytest.fixture
def shots():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
