"""The app served on loopback and driven by ``gradio_client``, as a browser would: what
Gradio itself does to the outputs (image format, caching, cache cleaning) is tested here."""

from __future__ import annotations

import time

import numpy as np
import pytest

import explorable_jpeg as ej
from explorable_jpeg_app.ui import EXAMPLES_DIR

from .served import OURS, PLAIN, STATUS, free_port, read, stroke_editor, tool_inputs

LIFETIME_S = 2


@pytest.fixture(scope="module")
def url(decoder):
    from explorable_jpeg_app import create_app, launch

    app = create_app(decoder=decoder, cache_lifetime_s=LIFETIME_S)
    port = free_port()
    launch(app, server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    yield f"http://127.0.0.1:{port}/"
    app.close()


@pytest.fixture
def client(url):
    from gradio_client import Client

    return Client(url, verbose=False)


def test_an_example_still_loads_after_the_cache_lifetime(client):
    """Gradio's cache cleaning removes every cached file older than its lifetime; the
    examples must not depend on a cached copy (they failed after an hour of uptime)."""
    first = client.predict("mountains_q15.jpg", 15, "4:2:0", api_name="/load_example")
    assert "mountains_q15.jpg" in first[STATUS]
    time.sleep(3 * LIFETIME_S + 1)  # the cleaning has run and removed older cached files
    thumbnails = client.predict(api_name="/lambda")  # what a fresh page load shows
    assert len(thumbnails) == len(list(EXAMPLES_DIR.glob("*.jpg")))
    again = client.predict("cups_q10.jpg", 15, "4:2:0", api_name="/load_example")
    assert "cups_q10.jpg" in again[STATUS] and "⚠" not in again[STATUS]
    code = ej.read_jpeg(EXAMPLES_DIR / "cups_q10.jpg")
    assert ej.check(code, read(again[OURS])).consistent


def test_shown_images_and_downloads_are_lossless_png_that_pass_check(client, tmp_path):
    from gradio_client import handle_file

    src = EXAMPLES_DIR / "raindrops_q20.jpg"
    code = ej.read_jpeg(src)
    out = client.predict(handle_file(str(src)), 15, "4:2:0", api_name="/load")
    for k in (PLAIN, OURS):
        assert str(out[k]).endswith(".png")
        assert ej.check(code, read(out[k])).consistent
    editor = stroke_editor(out[OURS], tmp_path, (20, 60, 30, 90))
    after = client.predict(**tool_inputs("scribble", editor, budget=3.0), api_name="/apply_tool")
    assert str(after[OURS]).endswith(".png")
    assert ej.check(code, read(after[OURS])).consistent
    zoom, downloads, _ = client.predict(4, api_name="/refresh")  # any refresh: the current state
    png = next(p for p in downloads if str(p).endswith(".png"))
    np.testing.assert_array_equal(read(png), read(after[OURS]))
    assert ej.check(code, read(png)).consistent
    assert zoom is not None


def test_an_apply_that_ran_shows_and_undo_steps_back_to_what_was_shown(client, tmp_path):
    from gradio_client import handle_file

    src = EXAMPLES_DIR / "mountains_q15.jpg"
    shown = [read(client.predict(handle_file(str(src)), 15, "4:2:0", api_name="/load")[OURS])]
    for k, tool in enumerate(("variance-up", "scribble", "hsv")):
        editor = stroke_editor(str(src), tmp_path, (30 + 10 * k, 80 + 10 * k, 40, 120), str(k))
        out = client.predict(**tool_inputs(tool, editor, hue=0.2), api_name="/apply_tool")
        image = read(out[OURS])
        if "changed the image" in out[STATUS]:
            assert not np.array_equal(image, shown[-1]), f"{tool}: the edit was lost"
            shown.append(image)
        else:  # a no-op must say so and leave the image and history as they were
            assert "no visible change" in out[STATUS]
            np.testing.assert_array_equal(image, shown[-1])
    for expected in reversed(shown[:-1]):
        np.testing.assert_array_equal(read(client.predict(api_name="/undo")[OURS]), expected)


def test_wiring_png_everywhere_progress_on_status_and_zoom_refresh(decoder):
    """No lossy WebP anywhere; progress never overlays the images or the sketchpad (a
    stale overlay stayed on the ImageEditor after Apply); every change refreshes the zoom
    panel and the downloads."""
    import gradio as gr

    from explorable_jpeg_app import create_app

    app = create_app(decoder=decoder)
    blocks = app.blocks.values()
    ids = {b.elem_id: b._id for b in blocks if getattr(b, "elem_id", None)}
    for b in blocks:
        if isinstance(b, gr.Image | gr.Gallery | gr.ImageEditor):
            assert b.format == "png", b.elem_id
    for name in ("plain", "ours", "zoom"):
        assert "download" not in (app.blocks[ids[name]].buttons or [])
    deps = app.config["dependencies"]
    view_deps = [d for d in deps if ids["editor"] in d["outputs"]]  # the view handlers
    assert len(view_deps) >= 7  # upload, load, example, apply, undo, redo, use, exploration
    for d in view_deps:
        assert d["show_progress_on"] == [ids["status"]], d["api_name"]
    refreshes = {d["id"] for d in deps if ids["zoom"] in d["outputs"] and ids["downloads"] in
                 d["outputs"]}  # fmt: skip
    for d in view_deps:
        if d["outputs"] == [ids["editor"]] or {ids["compare"], ids["selection"]} & set(
            d["targets"][0]
        ):  # "Clear selection", the box outline, the compare toggle, the selection shape:
            continue  # no change of the exploration
        follower = next(f for f in deps if f.get("trigger_after") == d["id"])
        assert follower["id"] in refreshes, d["api_name"]
        assert ids["compare"] in follower["outputs"]  # the toggle back on "current"
    assert any(d["targets"][0][0] == ids["compare"] and d["outputs"] == [ids["ours"],
               ids["editor"]] for d in deps)  # fmt: skip
