"""Real-browser tests: the app served in this process, driven by headless Chromium.

Selected only by ``nox -s browser`` (``-m browser``); ``nox -s tests`` deselects them with
``-m "not browser"``. Nothing here skips: a missing browser or driver is a failure.

The helpers the tests share (waiting, reading the shown pixels, choosing a tool, painting a
stroke, the viewport) are here too; the tests import them from this module.
"""

from __future__ import annotations

import io
import shutil
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from explorable_jpeg_app.ui import EXAMPLES_DIR

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


# ------------------------------------------------------------------------------------------
# helpers shared by the browser tests
# ------------------------------------------------------------------------------------------


def wait(driver, condition: Callable, timeout: float = 120, what: str = "condition") -> Any:
    """Poll ``condition(driver)`` until it is truthy (its value) or fail after ``timeout``."""
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.5).until(condition, what)


def viewport(driver, width: int, height: int, mobile: bool = False) -> None:
    """Emulate a screen of exactly ``width × height`` CSS pixels (phone: touch layout)."""
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile},
    )


def reset_viewport(driver) -> None:
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def open_full_size(driver) -> None:
    """Unfold "Full-size images and zoom" (its images are in the page only when open)."""
    if not driver.find_elements("css selector", "#ours"):
        driver.find_element("css selector", "#full-size button, #full-size .label-wrap").click()
        wait(driver, lambda d: d.find_elements("css selector", "#ours"), 20, "full-size images")


def ours_src(driver) -> str | None:
    """The ``src`` of the full-size current image (lossless PNG), None before a file."""
    imgs = driver.find_elements("css selector", "#ours img")
    return imgs[0].get_attribute("src") if imgs else None


def badge(driver) -> str:
    found = driver.find_elements("css selector", "#consistency-badge")
    return found[0].get_attribute("data-consistent") if found else ""


def status(driver) -> str:
    return driver.find_element("css selector", "#status").text


def fetch(src: str, tries: int = 5) -> bytes:
    """The bytes the page's ``src`` (an image, a download link) serves. Gradio answered 403
    once, right after a page load, for a file it served a moment later: a refused read is
    tried again (``tries`` in all)."""
    for attempt in range(tries):
        try:
            with urllib.request.urlopen(src, timeout=60) as r:
                return r.read()
        except urllib.error.HTTPError as exc:
            if exc.code != 403 or attempt == tries - 1:
                raise
            time.sleep(1.0)
    raise AssertionError("unreachable")


def pixels(src: str, tries: int = 5) -> np.ndarray:
    """The image an ``<img src>`` shows, as an (H, W, 3) uint8 array (PNG: lossless)."""
    return np.asarray(Image.open(io.BytesIO(fetch(src, tries))).convert("RGB"))


def choose_tool(driver, label: str) -> None:
    """Pick a tool in the Gradio dropdown: type to filter, then click the option."""
    from selenium.webdriver.common.keys import Keys

    box = driver.find_element("css selector", "#tool input")
    box.click()
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(label)
    option = wait(
        driver,
        lambda d: next(
            (
                o
                for o in d.find_elements("css selector", "[role='option'], ul.options li")
                if o.text.strip().endswith(label) and o.is_displayed()
            ),
            None,
        ),
        timeout=20,
        what=f"option {label!r}",
    )
    option.click()
    wait(
        driver,
        lambda d: label in d.find_element("css selector", "#tool input").get_attribute("value"),
        timeout=20,
        what=f"tool {label!r} chosen",
    )


def canvas(driver):
    """The sketchpad's drawing canvas (the image the selection is painted on)."""
    return wait(
        driver,
        lambda d: next(
            (c for c in d.find_elements("css selector", "#editor canvas") if c.size["width"] > 50),
            None,
        ),
        what="sketchpad canvas",
    )


def paint_stroke(driver, at: tuple[float, float] = (-1 / 8, -1 / 10)) -> None:
    """A zig-zag stroke on the sketchpad, starting at ``at`` (fractions of the canvas from
    its centre)."""
    from selenium.webdriver.common.action_chains import ActionChains

    c = canvas(driver)
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", c)
    time.sleep(0.5)
    w, h = c.size["width"], c.size["height"]
    actions = ActionChains(driver)
    actions.move_to_element_with_offset(c, int(w * at[0]), int(h * at[1])).click_and_hold()
    for k in range(12):
        actions.move_by_offset(w // 40, (-1) ** k * 4).pause(0.03)
    for _ in range(8):
        actions.move_by_offset(-w // 60, 5).pause(0.03)
    actions.release().perform()


def shot(element) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(element.screenshot_as_png)).convert("RGB"))


def open_example(driver, app_url: str, name: str = "mountains_q15.jpg") -> None:
    """A fresh page with ``name`` uploaded (its decode and badge shown)."""
    driver.get(app_url)
    upload = wait(
        driver,
        lambda d: next(iter(d.find_elements("css selector", "#upload input[type=file]")), None),
        what="file input",
    )
    upload.send_keys(str(EXAMPLES_DIR / name))
    wait(driver, lambda d: badge(d) == "true", what="decode + badge")
    open_full_size(driver)
    wait(driver, lambda d: ours_src(d), 20, "the full-size image")


def set_budget(driver, seconds: int) -> None:
    budget = driver.find_element("css selector", "#budget input[type=number]")
    budget.clear()
    budget.send_keys(str(seconds))


def longest_run(flags: np.ndarray) -> tuple[int, int]:
    """The longest run of True in a 1-D array, as [start, stop)."""
    idx = np.flatnonzero(flags)
    assert idx.size, "no run found"
    runs = np.split(idx, np.flatnonzero(np.diff(idx) > 1) + 1)
    best = max(runs, key=len)
    return int(best[0]), int(best[-1]) + 1


def stroke_mask(c0: np.ndarray, c1: np.ndarray, shown: np.ndarray) -> np.ndarray:
    """The painted stroke in image pixels: where the canvas changed when painting, mapped
    from the image's rectangle on the canvas (found as the non-white area) to the image.
    The mapping is checked: the canvas crop, resized, must match the shown image."""
    h, w = shown.shape[:2]
    ch = c0.shape[0]
    ink = (255 - c0.astype(int)).max(axis=2) > 12
    x0, x1 = longest_run(ink[int(ch * 0.3) : int(ch * 0.7)].mean(axis=0) > 0.9)
    y0, y1 = longest_run(ink[:, x0:x1].mean(axis=1) > 0.9)
    crop = Image.fromarray(c0[y0:y1, x0:x1]).resize((w, h), Image.BILINEAR)
    mapping_err = np.abs(np.asarray(crop, float) - shown).mean()
    assert mapping_err < 8, f"image not found on the canvas (mean error {mapping_err:.1f})"
    painted = np.abs(c1.astype(int) - c0).max(axis=2)[y0:y1, x0:x1] > 30
    stroke = Image.fromarray(painted.astype(np.uint8) * 255).resize((w, h), Image.NEAREST)
    return np.asarray(stroke) > 0


def dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    t = torch.tensor(mask, dtype=torch.float32)[None, None]
    k = 2 * radius + 1
    return torch.nn.functional.max_pool2d(t, k, stride=1, padding=radius)[0, 0].numpy() > 0


def toast_text(driver) -> str:
    toast = wait(
        driver,
        lambda d: next(
            (t for t in d.find_elements("css selector", "[data-testid='toast-body']") if t.text),
            None,
        ),
        what="toast",
    )
    return toast.text
