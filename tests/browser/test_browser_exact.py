"""In a real browser, pixel-exact: Undo brings back the very same image, an Apply changes
only the painted selection, a broken upload keeps what was shown, and a clicked alternative
becomes the displayed image. Pixels are read from the ``<img>`` the page shows."""

from __future__ import annotations

import io
import urllib.request

import numpy as np
import pytest
import torch
from PIL import Image

from explorable_jpeg_app.ui import EXAMPLES_DIR

from .test_browser import _badge, _choose_tool, _ours_src, _paint_stroke, _wait

pytestmark = pytest.mark.browser

RING_PX = 16  # the change may spread this far beyond the stroke (dilation, blending)


def _pixels(src: str) -> np.ndarray:
    """The image an ``<img src>`` shows, as an (H, W, 3) uint8 array (PNG: lossless)."""
    with urllib.request.urlopen(src, timeout=60) as r:
        return np.asarray(Image.open(io.BytesIO(r.read())).convert("RGB"))


def _canvas(driver):
    return next(c for c in driver.find_elements("css selector", "#editor canvas")
                if c.size["width"] > 50)  # fmt: skip


def _shot(element) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(element.screenshot_as_png)).convert("RGB"))


def _open_example(driver, app_url: str) -> None:
    driver.get(app_url)
    upload = _wait(
        driver,
        lambda d: next(iter(d.find_elements("css selector", "#upload input[type=file]")), None),
        what="file input",
    )
    upload.send_keys(str(EXAMPLES_DIR / "mountains_q15.jpg"))
    _wait(driver, lambda d: _ours_src(d) and _badge(d) == "true", what="decode + badge")


def _set_budget(driver, seconds: int) -> None:
    budget = driver.find_element("css selector", "#budget input[type=number]")
    budget.clear()
    budget.send_keys(str(seconds))


def _run(flags: np.ndarray) -> tuple[int, int]:
    """The longest run of True in a 1-D array, as [start, stop)."""
    idx = np.flatnonzero(flags)
    assert idx.size, "no run found"
    runs = np.split(idx, np.flatnonzero(np.diff(idx) > 1) + 1)
    best = max(runs, key=len)
    return int(best[0]), int(best[-1]) + 1


def _stroke_mask(c0: np.ndarray, c1: np.ndarray, shown: np.ndarray) -> np.ndarray:
    """The painted stroke in image pixels: where the canvas changed when painting, mapped
    from the image's rectangle on the canvas (found as the non-white area) to the image.
    The mapping is checked: the canvas crop, resized, must match the shown image."""
    h, w = shown.shape[:2]
    ch = c0.shape[0]
    ink = (255 - c0.astype(int)).max(axis=2) > 12
    x0, x1 = _run(ink[int(ch * 0.3) : int(ch * 0.7)].mean(axis=0) > 0.9)
    y0, y1 = _run(ink[:, x0:x1].mean(axis=1) > 0.9)
    crop = Image.fromarray(c0[y0:y1, x0:x1]).resize((w, h), Image.BILINEAR)
    mapping_err = np.abs(np.asarray(crop, float) - shown).mean()
    assert mapping_err < 5, f"image not found on the canvas (mean error {mapping_err:.1f})"
    painted = np.abs(c1.astype(int) - c0).max(axis=2)[y0:y1, x0:x1] > 30
    stroke = Image.fromarray(painted.astype(np.uint8) * 255).resize((w, h), Image.NEAREST)
    return np.asarray(stroke) > 0


def _dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    t = torch.tensor(mask, dtype=torch.float32)[None, None]
    k = 2 * radius + 1
    return torch.nn.functional.max_pool2d(t, k, stride=1, padding=radius)[0, 0].numpy() > 0


def _toast_text(driver) -> str:
    toast = _wait(
        driver,
        lambda d: next(
            (t for t in d.find_elements("css selector", "[data-testid='toast-body']") if t.text),
            None,
        ),
        what="toast",
    )
    return toast.text


def test_apply_changes_only_the_selection_and_undo_restores_it_exactly(app_url, driver, shots):
    """After Apply: mean |after - before| inside the stroke > 2 grey levels and, beyond a
    16 px ring around it, < 1 grey level; after Undo the shown pixels equal the first ones."""
    _open_example(driver, app_url)
    src0 = _ours_src(driver)
    before = _pixels(src0).astype(float)
    _choose_tool(driver, "Scribble")
    _set_budget(driver, 3)
    canvas = _canvas(driver)
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", canvas)
    c0 = _shot(canvas)
    _paint_stroke(driver)
    c1 = _shot(canvas)
    stroke = _stroke_mask(c0, c1, before)
    assert stroke.mean() > 0.005, "the stroke did not reach the canvas"

    driver.find_element("css selector", "#apply-btn").click()
    _wait(driver, lambda d: _ours_src(d) not in (None, src0), what="output to change")
    _wait(driver, lambda d: _badge(d) == "true", what="badge after the tool")
    after = _pixels(_ours_src(driver)).astype(float)
    assert after.shape == before.shape
    diff = np.abs(after - before).mean(axis=2)
    far = ~_dilate(stroke, RING_PX)
    assert diff[stroke].mean() > 2, f"no change under the stroke ({diff[stroke].mean():.2f})"
    assert diff[far].mean() < 1, f"changed far outside the stroke ({diff[far].mean():.2f})"
    driver.save_screenshot(str(shots / "07_exact_applied.png"))

    applied_src = _ours_src(driver)
    driver.find_element("css selector", "#undo-btn").click()
    _wait(driver, lambda d: _ours_src(d) not in (None, applied_src), what="undo to show")
    np.testing.assert_array_equal(_pixels(_ours_src(driver)), before.astype(np.uint8))


def test_truncated_jpeg_keeps_the_shown_images_and_says_so_without_a_path(
    app_url, driver, shots, tmp_path
):
    _open_example(driver, app_url)
    ours = _pixels(_ours_src(driver))
    plain = _pixels(driver.find_element("css selector", "#plain img").get_attribute("src"))
    data = (EXAMPLES_DIR / "mountains_q15.jpg").read_bytes()
    bad = tmp_path / "cut_short.jpg"
    bad.write_bytes(data[: len(data) // 2])
    clear = driver.find_element(
        "css selector", "#upload button[aria-label='Clear'], #upload button[title='Clear']"
    )
    clear.click()  # the box shows the loaded file; clearing it brings back the file input
    upload = _wait(
        driver,
        lambda d: next(iter(d.find_elements("css selector", "#upload input[type=file]")), None),
        timeout=20,
        what="file input again",
    )
    upload.send_keys(str(bad))
    text = _toast_text(driver)
    driver.save_screenshot(str(shots / "08_truncated_upload.png"))
    status = driver.find_element("css selector", "#status").text
    for shown in (text, status):
        assert "/tmp" not in shown and "Traceback" not in shown, shown
    assert "incomplete" in text.lower() or "truncated" in text.lower(), text
    _wait(driver, lambda d: _ours_src(d), timeout=20, what="our image still shown")
    np.testing.assert_array_equal(_pixels(_ours_src(driver)), ours)
    shown_plain = driver.find_element("css selector", "#plain img").get_attribute("src")
    np.testing.assert_array_equal(_pixels(shown_plain), plain)


def test_clicking_an_alternative_shows_it(app_url, driver, shots):
    _open_example(driver, app_url)
    src0 = _ours_src(driver)
    _choose_tool(driver, "Random alternatives")
    _set_budget(driver, 3)
    driver.find_element("css selector", "#apply-btn").click()
    thumbs = _wait(
        driver,
        lambda d: (
            [i for i in d.find_elements("css selector", "#gallery img") if i.is_displayed()] or None
        ),
        what="alternatives in the gallery",
    )
    assert len(thumbs) >= 2, len(thumbs)
    _wait(driver, lambda d: _badge(d) == "true", what="badge after the tool")
    pick = thumbs[1]
    wanted = _pixels(pick.get_attribute("src"))
    shown_before = _ours_src(driver)
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", pick)
    pick.click()
    _wait(driver, lambda d: _ours_src(d) not in (None, shown_before, src0), what="switch")
    driver.save_screenshot(str(shots / "09_alternative.png"))
    np.testing.assert_array_equal(_pixels(_ours_src(driver)), wanted)
