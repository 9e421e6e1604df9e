"""In a real browser: the page mirrors the task on one screen at 1366×768 (the image, the
tool, Apply and Cancel without scrolling; the examples right under the upload) and is one
column without horizontal overflow at a phone's 412 px."""

from __future__ import annotations

import pytest

from .conftest import choose_tool, open_example, reset_viewport, set_budget, viewport, wait

pytestmark = pytest.mark.browser

DESKTOP = (1366, 768)
PHONE = (412, 915)
#: what must be on the first screen at 1366×768
ON_SCREEN = ("upload", "examples", "compare", "editor", "tool", "apply-btn", "cancel-btn")

BOXES = """
const out = {};
for (const id of arguments[0]) {
  const e = document.getElementById(id);
  if (!e) { out[id] = null; continue; }
  const b = e.getBoundingClientRect();
  out[id] = [b.left, b.top, b.right, b.bottom];
}
return out;
"""

#: visible text elements whose content does not fit their box (cut off or ellipsed)
TRUNCATED = """
const cut = [];
const root = document.querySelector('.gradio-container');
for (const e of root.querySelectorAll('label, button, p, h2, span, .caption-label')) {
  const b = e.getBoundingClientRect();
  if (!b.width || !b.height || !e.textContent.trim()) continue;
  if (e.closest('#editor') || e.closest('footer')) continue;  // Gradio's canvas toolbar
  if (e.classList.contains('sr-only')) continue;  // for screen readers, not shown
  const s = getComputedStyle(e);
  if (s.overflowX === 'visible' && s.textOverflow !== 'ellipsis') continue;
  if (e.scrollWidth > e.clientWidth + 1)
    cut.push(e.tagName + '.' + e.className + ' in #' + (e.closest('[id]') || {}).id + ': '
             + e.textContent.trim().slice(0, 40));
}
return cut;
"""


def _boxes(driver, ids) -> dict:
    return driver.execute_script(BOXES, list(ids))


@pytest.fixture
def sized(driver):
    yield driver
    reset_viewport(driver)


def test_desktop_one_screen_image_tool_apply_cancel_visible(app_url, sized, shots):
    """At 1366×768, scrolled to the top, after loading a JPEG: the image, the tool menu,
    Apply and Cancel lie inside the viewport; the examples sit right under the upload."""
    viewport(sized, *DESKTOP)
    open_example(sized, app_url)
    sized.execute_script("window.scrollTo(0, 0)")
    wait(sized, lambda d: d.execute_script("return window.scrollY") == 0, 10, "top")
    boxes = _boxes(sized, ON_SCREEN)
    width, height = DESKTOP
    for name, box in boxes.items():
        assert box is not None, f"{name} missing"
        left, top, right, bottom = box
        assert left >= 0 and right <= width and top >= 0 and bottom <= height, (name, box)
    assert 0 <= boxes["examples"][1] - boxes["upload"][3] <= 40, "examples not under upload"
    assert boxes["editor"][0] > boxes["upload"][2], "image not beside the load column"
    assert boxes["apply-btn"][0] > boxes["editor"][2], "tool column not right of the image"
    sized.save_screenshot(str(shots / "layout_1366x768.png"))
    # the same screen with alternatives (no selection: the whole image), for the README
    choose_tool(sized, "Random alternatives")
    set_budget(sized, 2)
    sized.find_element("css selector", "#apply-btn").click()
    wait(sized, lambda d: len(d.find_elements("css selector", "#gallery img")) >= 2, 240,
         "alternatives")  # fmt: skip
    sized.execute_script("window.scrollTo(0, 0)")
    after = _boxes(sized, ("apply-btn", "editor"))
    assert all(box[3] <= height for box in after.values()), after
    sized.save_screenshot(str(shots / "layout_1366x768_alternatives.png"))


def test_phone_width_is_one_column_without_overflow_or_cut_text(app_url, sized, shots):
    """At 412 px: no horizontal scrolling, every part stacked in one column in task order
    (load → image → badge and status → tool → Apply → alternatives → history →
    downloads), the image on the first screen, no text cut off."""
    viewport(sized, *PHONE, mobile=True)
    open_example(sized, app_url)
    sized.execute_script("window.scrollTo(0, 0)")
    page = sized.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
    assert page[0] <= page[1] == PHONE[0], page
    order = ("upload", "examples", "compare", "editor", "badge", "status", "tool", "apply-btn",
             "gallery", "history", "downloads")  # fmt: skip
    boxes = _boxes(sized, order)
    for name, (left, _, right, _) in boxes.items():
        assert left >= 0 and right <= PHONE[0], (name, left, right)
    tops = [boxes[name][1] for name in order]
    assert tops == sorted(tops), dict(zip(order, tops, strict=True))
    # the image to paint on starts on the first screen, right under load and examples
    assert boxes["editor"][1] < PHONE[1] * 0.75, boxes["editor"]
    cut = sized.execute_script(TRUNCATED)
    assert not cut, " | ".join(cut)
    height = sized.execute_script("return document.documentElement.scrollHeight")
    viewport(sized, PHONE[0], min(int(height), 4000), mobile=True)
    sized.save_screenshot(str(shots / "layout_412_full.png"))
    viewport(sized, *PHONE, mobile=True)
    sized.save_screenshot(str(shots / "layout_412x915.png"))
