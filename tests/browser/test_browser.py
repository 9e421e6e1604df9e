"""In a real browser: load the app, upload a JPEG, paint a stroke, apply a tool, and see
the output change with the badge still saying 'consistent'."""

from __future__ import annotations

import pytest

from explorable_jpeg_app.ui import EXAMPLES_DIR

from .conftest import (
    badge,
    choose_tool,
    open_full_size,
    ours_src,
    paint_stroke,
    toast_text,
    wait,
)

pytestmark = pytest.mark.browser


def test_upload_paint_apply_changes_output_and_stays_consistent(app_url, driver, shots):
    driver.get(app_url)
    upload = wait(
        driver,
        lambda d: next(iter(d.find_elements("css selector", "#upload input[type=file]")), None),
        what="file input",
    )
    driver.save_screenshot(str(shots / "01_opened.png"))

    upload.send_keys(str(EXAMPLES_DIR / "mountains_q15.jpg"))
    wait(driver, lambda d: badge(d) == "true", what="decode + badge")
    open_full_size(driver)
    before = wait(driver, ours_src, 20, "the full-size image")
    driver.save_screenshot(str(shots / "02_decoded.png"))

    choose_tool(driver, "Scribble")
    budget = driver.find_element("css selector", "#budget input[type=number]")
    budget.clear()
    budget.send_keys("3")
    paint_stroke(driver)
    driver.save_screenshot(str(shots / "03_stroke.png"))

    driver.find_element("css selector", "#apply-btn").click()
    wait(driver, lambda d: ours_src(d) not in (None, before), what="output to change")
    wait(driver, lambda d: badge(d) == "true", what="badge after the tool")
    errors = [e.text for e in driver.find_elements("css selector", ".toast-body.error")]
    assert not errors, errors
    driver.save_screenshot(str(shots / "04_applied.png"))

    driver.find_element("css selector", "#undo-btn").click()
    wait(driver, lambda d: ours_src(d) == before, what="undo to restore the first decode")
    driver.save_screenshot(str(shots / "05_undone.png"))


def test_bad_upload_shows_a_message_not_a_traceback(app_url, driver, shots, tmp_path):
    driver.get(app_url)
    upload = wait(
        driver,
        lambda d: next(iter(d.find_elements("css selector", "#upload input[type=file]")), None),
        what="file input",
    )
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg")
    upload.send_keys(str(bad))
    text = toast_text(driver)
    driver.save_screenshot(str(shots / "06_bad_upload.png"))
    assert "Traceback" not in text
    assert "jpeg" in text.lower(), text
