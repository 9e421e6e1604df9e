"""In a real browser: load the app, upload a JPEG, paint a stroke, apply a tool, and see
the output change with the badge still saying 'consistent'."""

from __future__ import annotations

import time

import pytest

from explorable_jpeg_app.ui import EXAMPLES_DIR

pytestmark = pytest.mark.browser


def _wait(driver, condition, timeout=120, what="condition"):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.5).until(condition, what)


def _ours_src(driver) -> str | None:
    imgs = driver.find_elements("css selector", "#ours img")
    return imgs[0].get_attribute("src") if imgs else None


def _badge(driver) -> str:
    found = driver.find_elements("css selector", "#consistency-badge")
    return found[0].get_attribute("data-consistent") if found else ""


def _choose_tool(driver, label: str) -> None:
    """Pick a tool in the Gradio dropdown: type to filter, then click the option."""
    from selenium.webdriver.common.keys import Keys

    box = driver.find_element("css selector", "#tool input")
    box.click()
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(label)
    option = _wait(
        driver,
        lambda d: next(
            (
                o
                for o in d.find_elements("css selector", "[role='option'], ul.options li")
                if label in o.text and o.is_displayed()
            ),
            None,
        ),
        timeout=20,
        what=f"option {label!r}",
    )
    option.click()
    _wait(
        driver,
        lambda d: label in (d.find_element("css selector", "#tool input").get_attribute("value")),
        timeout=20,
        what=f"tool {label!r} chosen",
    )


def _paint_stroke(driver) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    canvas = _wait(
        driver,
        lambda d: next(
            (c for c in d.find_elements("css selector", "#editor canvas") if c.size["width"] > 50),
            None,
        ),
        what="sketchpad canvas",
    )
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", canvas)
    time.sleep(0.5)
    w, h = canvas.size["width"], canvas.size["height"]
    actions = ActionChains(driver)
    actions.move_to_element_with_offset(canvas, -w // 8, -h // 10).click_and_hold()
    for k in range(12):
        actions.move_by_offset(w // 40, (-1) ** k * 4).pause(0.03)
    for _ in range(8):
        actions.move_by_offset(-w // 60, 5).pause(0.03)
    actions.release().perform()


def test_upload_paint_apply_changes_output_and_stays_consistent(app_url, driver, shots):
    driver.get(app_url)
    upload = _wait(
        driver,
        lambda d: next(iter(d.find_elements("css selector", "#upload input[type=file]")), None),
        what="file input",
    )
    driver.save_screenshot(str(shots / "01_opened.png"))

    upload.send_keys(str(EXAMPLES_DIR / "mountains_q15.jpg"))
    _wait(driver, lambda d: _ours_src(d) and _badge(d) == "true", what="decode + badge")
    before = _ours_src(driver)
    driver.save_screenshot(str(shots / "02_decoded.png"))

    _choose_tool(driver, "Scribble")
    budget = driver.find_element("css selector", "#budget input[type=number]")
    budget.clear()
    budget.send_keys("3")
    _paint_stroke(driver)
    driver.save_screenshot(str(shots / "03_stroke.png"))

    driver.find_element("css selector", "#apply-btn").click()
    _wait(driver, lambda d: _ours_src(d) not in (None, before), what="output to change")
    _wait(driver, lambda d: _badge(d) == "true", what="badge after the tool")
    errors = [e.text for e in driver.find_elements("css selector", ".toast-body.error")]
    assert not errors, errors
    driver.save_screenshot(str(shots / "04_applied.png"))

    driver.find_element("css selector", "#undo-btn").click()
    _wait(driver, lambda d: _ours_src(d) == before, what="undo to restore the first decode")
    driver.save_screenshot(str(shots / "05_undone.png"))


def test_bad_upload_shows_a_message_not_a_traceback(app_url, driver, shots, tmp_path):
    driver.get(app_url)
    upload = _wait(
        driver,
        lambda d: next(iter(d.find_elements("css selector", "#upload input[type=file]")), None),
        what="file input",
    )
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg")
    upload.send_keys(str(bad))
    toast = _wait(
        driver,
        lambda d: next(
            (t for t in d.find_elements("css selector", "[data-testid='toast-body']") if t.text),
            None,
        ),
        what="error toast",
    )
    driver.save_screenshot(str(shots / "06_bad_upload.png"))
    assert "Traceback" not in toast.text
    assert "JPEG" in toast.text or "jpeg" in toast.text.lower()
