"""In a real browser, with Gradio's cache lifetime shortened to a few seconds: an example
clicked on a fresh page still loads once the cache cleaning (``delete_cache``, see
:func:`explorable_jpeg_app.ui.create_app`) has removed every cached copy made before. The
examples failed for every visitor after an hour of uptime ("Cannot read the upload (No such
file or directory)", every panel "Error")."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from explorable_jpeg_app.ui import example_files

from .conftest import _free_port, badge, status, wait

pytestmark = pytest.mark.browser

LIFETIME_S = 4  # the cleaning runs every LIFETIME_S and removes files older than that


@pytest.fixture(scope="module")
def cached_app():
    """The app with a short cache lifetime: (its URL, the app)."""
    from explorable_jpeg.decoding.decoder import Decoder
    from explorable_jpeg_app import create_app, launch

    decoder = Decoder.from_pretrained(variant="gan", device="cpu")
    app = create_app(decoder=decoder, cache_lifetime_s=LIFETIME_S)
    port = _free_port()
    launch(app, server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    yield f"http://127.0.0.1:{port}/", app
    app.close()


def click_example(driver, name: str) -> None:
    """Click the thumbnail of example ``name`` in the examples gallery (by its position)."""
    files = [p.name for p in example_files()]
    thumbs = wait(
        driver,
        lambda d: (
            [t for t in d.find_elements("css selector", "#examples button img")]
            if len(d.find_elements("css selector", "#examples button img")) == len(files)
            else None
        ),
        60,
        "the example thumbnails",
    )
    button = thumbs[files.index(name)].find_element("xpath", "./ancestor::button[1]")
    driver.execute_script("arguments[0].click();", button)


def loaded(driver, name: str) -> bool:
    return name in status(driver) and badge(driver) == "true"


def cached_files(app) -> set[Path]:
    """The files the app put in Gradio's cache that the cleaning may remove (those the
    components keep for good, ``keep_in_cache``, are left out), still on disk."""
    keep: set[str] = set()
    for block in app.blocks.values():
        keep.update(getattr(block, "keep_in_cache", set()))
    made = {f for files in app.temp_file_sets for f in files} - keep
    return {Path(f) for f in made if Path(f).is_file()}


def test_an_example_loads_on_a_fresh_page_after_the_cache_cleaning(cached_app, driver, shots):
    url, app = cached_app
    driver.get(url)
    click_example(driver, "mountains_q15.jpg")
    wait(driver, lambda d: loaded(d, "mountains_q15.jpg"), 180, "the first example")
    before = cached_files(app)
    assert before, "Gradio cached nothing: the test would not see the cleaning"

    # the cleaning has run at least twice after every file above became older than LIFETIME_S
    time.sleep(3 * LIFETIME_S + 1)
    assert not before & cached_files(app), "the cleaning removed none of the cached files"

    driver.get(url)  # a fresh page, as the next visitor's
    click_example(driver, "cups_q10.jpg")
    wait(driver, lambda d: loaded(d, "cups_q10.jpg"), 180, "the example after the cleaning")
    driver.save_screenshot(str(shots / "12_example_after_cache_cleaning.png"))
    text = status(driver)
    assert "⚠" not in text and "Cannot read" not in text, text
    toasts = [t.text for t in driver.find_elements("css selector", "[data-testid='toast-body']")]
    assert not any("Cannot read" in t or "again" in t for t in toasts), toasts
    pills = [e.text for e in driver.find_elements("css selector", ".error")]
    assert not any(p.strip() == "Error" for p in pills), pills


def test_an_example_selects_the_tool_it_is_chosen_to_show(cached_app, driver):
    """The house number (examples.json: "digit") selects Digit classes and shows its help."""
    url, _ = cached_app
    driver.get(url)
    click_example(driver, "number_q5.jpg")
    wait(driver, lambda d: loaded(d, "number_q5.jpg"), 180, "the house-number example")
    chosen = driver.find_element("css selector", "#tool input").get_attribute("value")
    assert chosen == "Digit classes", chosen
    help_text = driver.find_element("css selector", "#tool-help").text
    assert help_text.startswith("Digit classes"), help_text
