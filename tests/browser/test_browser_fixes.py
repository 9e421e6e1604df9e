"""In a real browser, two of the bugs a visitor hit: a progress overlay left over the image
and the sketchpad after Apply ("done - 100.0%", then "Select a region first" on the next
stroke), and a downloaded decode that was lossy WebP (it must be a PNG that passes
``check`` against the uploaded JPEG); and the box selection drawn on the image."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

import explorable_jpeg as ej
from explorable_jpeg_app.ui import EXAMPLES_DIR

from .conftest import (
    badge,
    canvas,
    choose_tool,
    dilate,
    fetch,
    longest_run,
    open_example,
    ours_src,
    paint_stroke,
    pixels,
    set_budget,
    shot,
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
    try:
        wait(driver, lambda d: ours_src(d) not in (None, previous_src), 240, "the image")
    except Exception:  # say what the page said instead (a refusal, an error)
        raise AssertionError(f"the image did not change; status: {status(driver)!r}") from None
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


def _image_area(c0: np.ndarray) -> np.ndarray:
    """The image's rectangle on the canvas (its non-white area, 4 px in from its edges:
    the canvas's toolbars, which change with the editor's undo state, are outside)."""
    ch = c0.shape[0]
    ink = (255 - c0.astype(int)).max(axis=2) > 12
    x0, x1 = longest_run(ink[int(ch * 0.3) : int(ch * 0.7)].mean(axis=0) > 0.9)
    y0, y1 = longest_run(ink[:, x0:x1].mean(axis=1) > 0.9)
    area = np.zeros(c0.shape[:2], bool)
    area[y0 + 4 : y1 - 4, x0 + 4 : x1 - 4] = True
    return area


def _outline_pixels(c0: np.ndarray, now: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pixels of the image on the canvas that changed since ``c0``: ``(stroke, other)``:
    the red brush's (and 3 px around it, its soft edge), and the rest (the drawn box)."""
    changed = (np.abs(now.astype(int) - c0).max(axis=2) > 40) & _image_area(c0)
    red = changed & (now[..., 0].astype(int) - now[..., 1] > 100)
    stroke = dilate(red, 3) if red.any() else red
    return stroke, changed & ~stroke


def _along_sides(line: np.ndarray, stroke: np.ndarray, box: tuple[int, int, int, int]):
    """For each position along the four sides of ``box`` (y0, y1, x0, x1) that no stroke
    covers: is ``line`` drawn there (within 6 px of the side)?"""
    y0, y1, x0, x1 = box
    found = []
    sides = ((line, stroke, y0, x0, x1), (line, stroke, y1, x0, x1),
             (line.T, stroke.T, x0, y0, y1), (line.T, stroke.T, x1, y0, y1))  # fmt: skip
    for a, s, k, lo, hi in sides:
        band = slice(max(0, k - 6), k + 7)
        drawn = a[band, lo : hi + 1].any(axis=0)
        covered = s[band, lo : hi + 1].any(axis=0)
        found.append(drawn[~covered])
    return np.concatenate(found)


def _select_mode(driver, mode: str) -> None:
    label = next(e for e in driver.find_elements("css selector", "#selection label")
                 if e.text.strip() == mode)  # fmt: skip
    label.click()


def test_box_selection_draws_the_box_around_the_strokes(app_url, driver, shots):
    """Box mode: after a stroke the canvas shows a line along the border of the stroke's
    bounding box (and nowhere else); back in brush mode the line goes away."""
    open_example(driver, app_url, EXAMPLE)
    _select_mode(driver, "box")
    pad = canvas(driver)
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", pad)
    c0 = shot(pad)
    paint_stroke(driver)

    def drawn(d) -> tuple[np.ndarray, np.ndarray] | None:
        stroke, box = _outline_pixels(c0, shot(pad))
        return (stroke, box) if box.sum() > 100 else None

    stroke, box = wait(driver, drawn, 60, "the box drawn around the stroke")
    driver.save_screenshot(str(shots / "13_box_selection.png"))
    ys, xs = np.nonzero(stroke)
    y0, y1, x0, x1 = ys.min(), ys.max(), xs.min(), xs.max()
    by, bx = np.nonzero(box)
    for got, want in ((by.min(), y0), (by.max(), y1), (bx.min(), x0), (bx.max(), x1)):
        assert abs(int(got) - int(want)) <= 6, ((by.min(), by.max(), bx.min(), bx.max()),
                                                 (y0, y1, x0, x1))  # fmt: skip
    near_border = (np.minimum(np.abs(by - y0), np.abs(by - y1)) <= 6) | (
        np.minimum(np.abs(bx - x0), np.abs(bx - x1)) <= 6
    )
    assert near_border.mean() > 0.95, f"{near_border.mean():.3f} of the line on the border"
    line = _along_sides(box, stroke, (y0, y1, x0, x1))
    assert line.size > 100 and line.mean() > 0.8, f"the box drawn on {line.mean():.2f}"

    _select_mode(driver, "brush")
    wait(driver, lambda d: _outline_pixels(c0, shot(pad))[1].sum() < 20, 60, "the box gone")
