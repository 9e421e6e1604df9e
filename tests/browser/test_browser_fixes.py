"""In a real browser, two of the bugs a visitor hit: a progress overlay left over the image
and the sketchpad after Apply ("done - 100.0%", then "Select a region first" on the next
stroke), and a downloaded decode that was lossy WebP (it must be a PNG that passes
``check`` against the uploaded JPEG)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

import explorable_jpeg as ej
from explorable_jpeg_app.ui import EXAMPLES_DIR

from .conftest import (
    badge,
    choose_tool,
    fetch,
    open_example,
    ours_src,
    paint_stroke,
    pixels,
    set_budget,
    status,
    wait,
)

pytestmark = pytest.mark.browser

EXAMPLE = "mountains_q15.jpg"
#: the page's images: none may be covered by a progress overlay once a job is done
IMAGES = ("editor", "ours", "plain", "gallery", "history")


def overlays(driver) -> list[str]:
    """The progress overlays (Gradio's status trackers, not hidden) over the page's images,
    as ``"elem_id: text"``."""
    found = []
    for elem in IMAGES:
        for t in driver.find_elements("css selector", f"#{elem} [data-testid='status-tracker']"):
            if "hide" not in (t.get_attribute("class") or "").split() and t.is_displayed():
                found.append(f"{elem}: {t.text!r}")
    return found


def download_links(driver) -> list[str]:
    """The ``href`` of every file offered under "Download"."""
    links = driver.find_elements("css selector", "#downloads a[href]")
    return [a.get_attribute("href") for a in links]


def apply_and_wait(driver, previous_src: str | None) -> None:
    """Click Apply and wait until the job and the refresh after it are done: the shown
    image changed, the badge is back, the downloads are offered."""
    driver.find_element("css selector", "#apply-btn").click()
    wait(driver, lambda d: ours_src(d) not in (None, previous_src), 240, "the image to change")
    wait(driver, lambda d: badge(d) == "true", 60, "badge after the tool")
    wait(
        driver,
        lambda d: "changed the image" in status(d) and len(download_links(d)) == 4,
        60,
        "the status and the downloads after Apply",
    )


def errors(driver) -> list[str]:
    return [t.text for t in driver.find_elements("css selector", "[data-testid='toast-body']")]


def test_no_progress_overlay_after_apply_and_the_next_stroke_is_taken(app_url, driver, shots):
    """After Apply no status tracker covers the images or the sketchpad, and a second
    stroke painted on the sketchpad is a selection: the second Apply changes the image
    again (with an overlay over the canvas it answered "Select a region first")."""
    open_example(driver, app_url, EXAMPLE)
    choose_tool(driver, "Scribble")
    set_budget(driver, 3)
    paint_stroke(driver)
    first = ours_src(driver)
    apply_and_wait(driver, first)
    driver.save_screenshot(str(shots / "10_after_apply_no_overlay.png"))
    assert not overlays(driver), overlays(driver)

    driver.find_element("css selector", "#clear-btn").click()  # only the new stroke
    paint_stroke(driver, at=(1 / 8, 1 / 6))
    second = ours_src(driver)
    apply_and_wait(driver, second)
    assert not overlays(driver), overlays(driver)
    text = status(driver)
    assert "Select a region" not in text and "⚠" not in text, text
    assert not any("Select a region" in t for t in errors(driver)), errors(driver)
    assert not np.array_equal(pixels(ours_src(driver)), pixels(second))


def test_the_downloaded_png_is_lossless_and_passes_check(app_url, driver, shots):
    """The ↓ PNG of the explorable decode: a PNG file, the very pixels the page shows, and
    consistent with the uploaded JPEG (libjpeg re-encodes it to the same coefficients)."""
    open_example(driver, app_url, EXAMPLE)
    choose_tool(driver, "Scribble")
    set_budget(driver, 3)
    paint_stroke(driver)
    apply_and_wait(driver, ours_src(driver))
    driver.save_screenshot(str(shots / "11_downloads.png"))
    links = download_links(driver)
    png_links = [h for h in links if h.split("?")[0].endswith(".png")]
    assert len(png_links) == 1, links
    data = fetch(png_links[0])
    with Image.open(io.BytesIO(data)) as im:
        assert im.format == "PNG", im.format
        assert im.mode == "RGB", im.mode
        downloaded = np.asarray(im)
    np.testing.assert_array_equal(downloaded, pixels(ours_src(driver)))
    report = ej.check(ej.read_jpeg(EXAMPLES_DIR / EXAMPLE), downloaded)
    assert report.consistent, report
    jpg = next(h for h in links if h.split("?")[0].endswith(".jpg"))
    assert fetch(jpg) == (EXAMPLES_DIR / EXAMPLE).read_bytes()
