"""In a real browser, every tool of the registry once, through the page, on a real JPEG:
choose it, paint a selection on the image (box mode: the rectangle around the stroke;
Scribble: the brush), Apply, and read the shown image back (lossless PNG). A tool that
makes one image must change it inside the selection and hardly outside; a tool that makes
alternatives must show them in the "What could this be?" grid with their scores (and may
change the image in the selection only)."""

from __future__ import annotations

import numpy as np
import pytest

from explorable_jpeg.explore import SPECS
from explorable_jpeg_app.handlers.strokes import box_around

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
    status,
    stroke_mask,
    wait,
)

pytestmark = pytest.mark.browser

RING_PX = 16  # a change may spread this far beyond the selection (blending, dilation)
BUDGET_S = 3
#: what a tool needs beyond its defaults to change the image at all: (control key, value)
SETTINGS: dict[str, list[tuple[str, str]]] = {
    "hsv": [("hsv__hue", "0.3")],  # its defaults are all 0: no change
    "imprint": [("imprint__source_box", "0, 0, 40, 120")],  # paste the sky's top-left
    "dictionary": [("dictionary__source_box", "0, 0, 40, 120")],  # needs a source
}
BRUSH = ("scribble",)  # the painted pixels (and their colour) are the request


def _set(driver, key: str, value: str, tool: str) -> None:
    """Type ``value`` into control ``key`` (unfolding the tool's advanced parameters)."""
    from selenium.webdriver.common.keys import Keys

    found = [e for e in driver.find_elements("css selector", f"#control-{key} input, "
             f"#control-{key} textarea") if e.is_displayed()]  # fmt: skip
    if not found:
        driver.find_element("css selector", f"#advanced-{tool} button, "
                            f"#advanced-{tool} .label-wrap").click()  # fmt: skip
        found = wait(driver, lambda d: [e for e in d.find_elements("css selector",
                     f"#control-{key} input, #control-{key} textarea") if e.is_displayed()],
                     20, f"control {key}")  # fmt: skip
    box = next((e for e in found if e.get_attribute("type") == "number"), found[0])
    box.clear()
    box.send_keys(value, Keys.TAB)


def _select_mode(driver, mode: str) -> None:
    label = next(e for e in driver.find_elements("css selector", "#selection label")
                 if e.text.strip() == mode)  # fmt: skip
    label.click()


@pytest.mark.parametrize("tool", list(SPECS))
def test_every_tool_through_the_page(app_url, driver, shots, tool):
    spec = SPECS[tool]
    open_example(driver, app_url)
    src0 = ours_src(driver)
    before = pixels(src0).astype(float)
    choose_tool(driver, spec.label)
    set_budget(driver, BUDGET_S)
    for key, value in SETTINGS.get(tool, []):
        _set(driver, key, value, tool)
    _select_mode(driver, "brush" if tool in BRUSH else "box")
    pad = canvas(driver)
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", pad)
    c0 = shot(pad)
    paint_stroke(driver)
    stroke = stroke_mask(c0, shot(pad), before)  # also: the canvas shows the current image
    selected = stroke if tool in BRUSH else box_around(stroke)
    assert stroke.mean() > 0.005, "the stroke did not reach the canvas"

    driver.find_element("css selector", "#apply-btn").click()
    wait(driver, lambda d: spec.label in status(d) and "Undo" in status(d), 240,
         f"{tool}: the status after Apply")  # fmt: skip
    wait(driver, lambda d: badge(d) == "true", 60, "badge after the tool")
    text = status(driver)
    driver.save_screenshot(str(shots / f"tool_{tool}.png"))
    assert "⚠" not in text, text
    if spec.multi:  # alternatives: a grid with their scores
        thumbs = wait(driver, lambda d: [i for i in d.find_elements("css selector",
                      "#gallery img") if i.is_displayed()] or None, 60, "alternatives")  # fmt: skip
        captions = [c.text for c in driver.find_elements("css selector", "#gallery .caption-label")]
        assert len(thumbs) >= 2 and len(captions) == len(thumbs), captions
        mark = "p=" if tool == "digit" else "Δ"
        assert all(mark in c and "✔" in c for c in captions), captions
    else:
        assert "changed the image" in text, text
        wait(driver, lambda d: ours_src(d) not in (None, src0), 60, "the shown image to change")
    after = pixels(ours_src(driver)).astype(float)
    diff = np.abs(after - before).mean(axis=2)
    inside = diff[selected].mean()
    far = diff[~dilate(selected, RING_PX)].mean()
    print(f"{tool}: mean change inside {inside:.2f}, beyond {RING_PX} px {far:.3f}")
    if not spec.multi:
        assert inside > 0.5, f"{tool}: no visible change in the selection ({inside:.2f})"
    assert far < max(0.05, min(0.5, inside / 4)), f"{tool}: changed outside ({far:.3f})"
