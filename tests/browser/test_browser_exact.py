"""In a real browser, pixel-exact: Undo brings back the very same image, an Apply changes
only the painted selection, a broken upload keeps what was shown, and a clicked alternative
becomes the displayed image. Pixels are read from the ``<img>`` the page shows."""

from __future__ import annotations

import numpy as np
import pytest

from explorable_jpeg_app.ui import EXAMPLES_DIR

from .conftest import (
    badge,
    canvas,
    choose_tool,
    dilate,
    open_example,
    ours_src,
    paint_stroke,
    pixels,
    set_budget,
    shot,
    stroke_mask,
    toast_text,
    wait,
)

pytestmark = pytest.mark.browser

RING_PX = 16  # the change may spread this far beyond the stroke (dilation, blending)


def test_apply_changes_only_the_selection_and_undo_restores_it_exactly(app_url, driver, shots):
    """After Apply: mean |after - before| inside the stroke > 2 grey levels and, beyond a
    16 px ring around it, < 1 grey level; after Undo the shown pixels equal the first ones."""
    open_example(driver, app_url)
    src0 = ours_src(driver)
    before = pixels(src0).astype(float)
    choose_tool(driver, "Scribble")
    set_budget(driver, 3)
    pad = canvas(driver)
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", pad)
    c0 = shot(pad)
    paint_stroke(driver)
    c1 = shot(pad)
    stroke = stroke_mask(c0, c1, before)
    assert stroke.mean() > 0.005, "the stroke did not reach the canvas"

    driver.find_element("css selector", "#apply-btn").click()
    wait(driver, lambda d: ours_src(d) not in (None, src0), what="output to change")
    wait(driver, lambda d: badge(d) == "true", what="badge after the tool")
    after = pixels(ours_src(driver)).astype(float)
    assert after.shape == before.shape
    diff = np.abs(after - before).mean(axis=2)
    far = ~dilate(stroke, RING_PX)
    assert diff[stroke].mean() > 2, f"no change under the stroke ({diff[stroke].mean():.2f})"
    assert diff[far].mean() < 1, f"changed far outside the stroke ({diff[far].mean():.2f})"
    driver.save_screenshot(str(shots / "07_exact_applied.png"))

    applied_src = ours_src(driver)
    driver.find_element("css selector", "#undo-btn").click()
    wait(driver, lambda d: ours_src(d) not in (None, applied_src), what="undo to show")
    np.testing.assert_array_equal(pixels(ours_src(driver)), before.astype(np.uint8))


def test_truncated_jpeg_keeps_the_shown_images_and_says_so_without_a_path(
    app_url, driver, shots, tmp_path
):
    open_example(driver, app_url)
    ours = pixels(ours_src(driver))
    plain = pixels(driver.find_element("css selector", "#plain img").get_attribute("src"))
    data = (EXAMPLES_DIR / "mountains_q15.jpg").read_bytes()
    bad = tmp_path / "cut_short.jpg"
    bad.write_bytes(data[: len(data) // 2])
    clear = driver.find_element(
        "css selector", "#upload button[aria-label='Clear'], #upload button[title='Clear']"
    )
    clear.click()  # the box shows the loaded file; clearing it brings back the file input
    upload = wait(
        driver,
        lambda d: next(iter(d.find_elements("css selector", "#upload input[type=file]")), None),
        timeout=20,
        what="file input again",
    )
    upload.send_keys(str(bad))
    text = toast_text(driver)
    driver.save_screenshot(str(shots / "08_truncated_upload.png"))
    status = driver.find_element("css selector", "#status").text
    for shown in (text, status):
        assert "/tmp" not in shown and "Traceback" not in shown, shown
    assert "incomplete" in text.lower() or "truncated" in text.lower(), text
    wait(driver, lambda d: ours_src(d), timeout=20, what="our image still shown")
    np.testing.assert_array_equal(pixels(ours_src(driver)), ours)
    shown_plain = driver.find_element("css selector", "#plain img").get_attribute("src")
    np.testing.assert_array_equal(pixels(shown_plain), plain)


def test_clicking_an_alternative_shows_it(app_url, driver, shots):
    open_example(driver, app_url)
    src0 = ours_src(driver)
    choose_tool(driver, "Random alternatives")
    set_budget(driver, 3)
    driver.find_element("css selector", "#apply-btn").click()
    thumbs = wait(
        driver,
        lambda d: (
            [i for i in d.find_elements("css selector", "#gallery img") if i.is_displayed()] or None
        ),
        what="alternatives in the gallery",
    )
    assert len(thumbs) >= 2, len(thumbs)
    wait(driver, lambda d: badge(d) == "true", what="badge after the tool")
    pick = thumbs[1]
    wanted = pixels(pick.get_attribute("src"))
    shown_before = ours_src(driver)
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", pick)
    driver.execute_script("arguments[0].click();", pick)  # its caption may lie over it
    wait(driver, lambda d: ours_src(d) not in (None, shown_before, src0), what="switch")
    driver.save_screenshot(str(shots / "09_alternative.png"))
    np.testing.assert_array_equal(pixels(ours_src(driver)), wanted)
