"""The app's event handlers, called as plain functions (no browser): upload → decode →
tool → undo → download, and what the user sees when something goes wrong."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import explorable_jpeg as ej
from explorable_jpeg.decoding.zfile import load_z
from explorable_jpeg.explore import TOOLS
from explorable_jpeg_app import handlers as h
from explorable_jpeg_app.controls import tool_controls
from explorable_jpeg_app.display import DISPLAY_MAX_SIDE
from explorable_jpeg_app.session import Cancelled, Session
from explorable_jpeg_app.source import MAX_PIXELS_ENV
from explorable_jpeg_app.ui import EXAMPLES_DIR, example_files
from tests.conftest import FIXTURES, natural_image

STATE, PLAIN, OURS, EDITOR, BADGE, STATUS, GALLERY, HISTORY = range(8)
UPLOAD = 8  # the load handlers' extra output: the upload box


def tool_args(tool: str, budget: float = 4.0, **params):
    """Keyword arguments of the apply handler: a fast budget and ``tool``'s parameters by
    registry name (the others stay at the page's defaults, the registry's)."""
    keys = {c.param.name: c.key for c in tool_controls(tool)}
    return {"budget": budget, **{keys[k]: v for k, v in params.items()}}


def strokes_on(view, box=(40, 80, 60, 140), colour=(255, 0, 0)):
    """An editor value with one opaque rectangle painted in ``colour`` (display pixels)."""
    background = view[EDITOR]["background"]
    layer = np.zeros(background.shape[:2] + (4,), np.uint8)
    y0, y1, x0, x1 = box
    layer[y0:y1, x0:x1] = (*colour, 255)
    return {"background": background, "layers": [layer], "composite": None}


def is_skip(value) -> bool:
    return isinstance(value, dict) and value == {"__type__": "update"}


def assert_kept(out, n=8):
    """A failed view handler: every output but the status left as it was (gr.skip)."""
    assert all(is_skip(v) for i, v in enumerate(out[:n]) if i != STATUS), out
    assert str(out[STATUS]).startswith("⚠")


@pytest.fixture
def load(decoder):
    return h.make_load(decoder)


@pytest.fixture
def loaded(load, example_jpeg):
    return load(None, str(example_jpeg), 15, "4:2:0", progress=None)


def test_upload_jpeg_keeps_the_files_own_bytes_and_shows_both_decodes(loaded, example_jpeg):
    state = loaded[STATE]
    assert state.jpeg == example_jpeg.read_bytes()
    code = ej.read_jpeg(example_jpeg)
    assert loaded[PLAIN].shape == loaded[OURS].shape == (code.height, code.width, 3)
    assert 'data-consistent="true"' in loaded[BADGE]
    assert ej.check(code, state.image).consistent
    assert ej.check(code, state.plain).consistent
    assert "as it is" in loaded[STATUS]
    assert is_skip(loaded[UPLOAD])  # the upload box keeps the file it shows


def test_upload_png_is_compressed_at_the_chosen_quality(load, tmp_path):
    png = tmp_path / "photo.png"
    Image.fromarray(natural_image(64, 80, seed=3)).save(png)
    view = load(None, str(png), 30, "4:4:4", progress=None)
    state = view[STATE]
    expected = ej.compress(natural_image(64, 80, seed=3), quality=30, subsampling="4:4:4")[1]
    for got, want in zip(state.code.components, expected.components, strict=True):
        np.testing.assert_array_equal(got.coefficients, want.coefficients)
        np.testing.assert_array_equal(got.table, want.table)
    assert "quality 30" in view[STATUS]


def test_scribble_changes_the_region_stays_consistent_and_undo_redo_restore(loaded):
    apply_tool = h.make_apply()
    editor = strokes_on(loaded)
    after = apply_tool(loaded[STATE], "scribble", editor, **tool_args("scribble"), progress=None)
    assert not np.array_equal(after[OURS], loaded[OURS])
    assert 'data-consistent="true"' in after[BADGE]
    assert "Scribble" in after[STATUS] and "changed the image" in after[STATUS]
    # the painted region moved toward red, within what the file allows
    region = (slice(40, 80), slice(60, 140))
    before_red = loaded[OURS][region][..., 0].astype(int) - loaded[OURS][region][..., 2]
    after_red = after[OURS][region][..., 0].astype(int) - after[OURS][region][..., 2]
    assert after_red.mean() > before_red.mean()

    undone = h.undo(after[STATE])
    np.testing.assert_array_equal(undone[OURS], loaded[OURS])
    redone = h.redo(undone[STATE])
    np.testing.assert_array_equal(redone[OURS], after[OURS])
    # the earlier states were not modified by later actions
    np.testing.assert_array_equal(after[STATE].image, after[OURS])
    np.testing.assert_array_equal(loaded[STATE].image, loaded[OURS])


def test_random_alternatives_fill_the_gallery_and_use_this_adds_to_history(loaded):
    apply_tool = h.make_apply()
    view = apply_tool(loaded[STATE], "random", None, **tool_args("random", n=3), progress=None)
    assert len(view[GALLERY]) == 3
    assert all(caption.endswith("✔") for _, caption in view[GALLERY])
    used = h.use_alternative(view[STATE], 2)
    assert used[STATE].explorer.can_undo
    np.testing.assert_array_equal(used[STATE].image, view[STATE].alternatives[2].image)
    assert ej.check(used[STATE].code, used[STATE].image).consistent


def test_export_writes_png_z_and_exploration_that_load_back(loaded, tmp_path):
    state = loaded[STATE]
    paths = [Path(p) for p in h.export(state, tmp_path / "new")]
    png, zfile, exploration, jpeg = paths
    assert png.suffix == ".png" and tmp_path / "new" in png.parents
    assert ej.check(jpeg.read_bytes(), np.asarray(Image.open(png))).consistent
    z = load_z(zfile, state.code, state.decoder.z_shape(state.code))
    assert z.shape[0] == 64
    reloaded = h.load_exploration(state, str(exploration))
    np.testing.assert_array_equal(reloaded[OURS], loaded[OURS])
    assert h.export(None) is None


def _two_strokes(view):
    """Two small painted squares far apart: the box around them is much more than them."""
    background = view[EDITOR]["background"]
    layer = np.zeros(background.shape[:2] + (4,), np.uint8)
    layer[40:50, 60:70] = layer[90:100, 150:160] = (255, 0, 0, 255)
    return {"background": background, "layers": [layer], "composite": None}


def _outlined(background, image, box=(40, 100, 60, 160)):
    """Where ``background`` differs from ``image``: exactly on a 2 px ring inside ``box``,
    most of the ring (white and black dashes: a pixel already white or black may stay)."""
    y0, y1, x0, x1 = box
    ring = np.zeros(image.shape[:2], bool)
    ring[y0:y1, x0:x1] = True
    ring[y0 + 2 : y1 - 2, x0 + 2 : x1 - 2] = False
    changed = np.any(background != image, axis=-1)
    return not (changed & ~ring).any() and changed[ring].mean() > 0.5


def test_box_selection_draws_the_box_around_the_strokes_on_the_image(loaded):
    """In box mode the sketchpad shows the rectangle that will be selected (around all
    strokes), after the selection shape is picked, after a stroke, after Apply and Undo;
    in brush mode the image is left as it is."""
    state, editor = loaded[STATE], _two_strokes(loaded)
    image = loaded[OURS]
    _, brush = h.show(state, "current", editor, "brush")
    np.testing.assert_array_equal(brush["background"], image)
    assert is_skip(h.outline(state, "current", editor, "brush"))
    _, box = h.show(state, "current", editor, "box")
    assert _outlined(box["background"], image)
    assert len(box["layers"]) == 1  # the strokes themselves are kept as they were
    stroked = h.outline(state, "current", editor, "box")
    np.testing.assert_array_equal(stroked["background"], box["background"])
    _, plain = h.show(state, "plain", editor, "box")  # drawn on the chosen view
    assert _outlined(plain["background"], loaded[PLAIN])

    apply_tool = h.make_apply()
    after = apply_tool(state, "variance-up", box, **tool_args("variance-up"), selection="box",
                       progress=None)  # fmt: skip
    assert "⚠" not in after[STATUS], after[STATUS]
    assert _outlined(after[EDITOR]["background"], after[OURS])
    undone = h.undo(after[STATE], after[EDITOR], "box")
    assert _outlined(undone[EDITOR]["background"], undone[OURS])
    np.testing.assert_array_equal(h.undo(after[STATE], after[EDITOR])[EDITOR]["background"],
                                  undone[OURS])  # fmt: skip


def test_the_z_map_download_is_compressed_and_reads_back_bit_identical(loaded, tmp_path):
    """The z map of a state with a dense z (a random alternative in use): no larger than
    the exploration file of the same state (which holds that z compressed and more), below
    90% of the raw float32 z, and the same bits when read back (``decode --z``)."""
    import torch

    apply_tool = h.make_apply()
    view = apply_tool(loaded[STATE], "random", None, **tool_args("random", n=2), progress=None)
    state = h.use_alternative(view[STATE], 1)[STATE]
    z = state.explorer.z
    assert float(z.abs().max()) > 0  # a dense z: the hard case for compression
    png, zfile, exploration, _ = (Path(p) for p in h.export(state, tmp_path))
    size, raw = zfile.stat().st_size, 4 * z.numel()
    print(f"z map {size} B, exploration file {exploration.stat().st_size} B, raw z {raw} B")
    assert size <= exploration.stat().st_size
    assert size < 0.9 * raw
    back = load_z(zfile, state.code, state.decoder.z_shape(state.code))
    assert torch.equal(back, z.detach().float().cpu())


def test_exploration_of_another_jpeg_is_refused_and_state_kept(load, loaded, tmp_path):
    other = load(None, str(FIXTURES / "base_small.jpg"), 15, "4:2:0", progress=None)
    foreign = Path(h.export(other[STATE], tmp_path)[2])
    out = h.load_exploration(loaded[STATE], str(foreign))
    assert_kept(out)
    assert "another JPEG" in out[STATUS]
    assert str(tmp_path) not in out[STATUS]  # no server path in a message
    assert not loaded[STATE].explorer.can_undo


@pytest.mark.parametrize(
    ("fixture", "message"),
    [
        ("not_a_jpeg.jpg", "not a JPEG"),
        ("arithmetic.jpg", "arithmetic"),
        ("twelve_bit.jpg", "12-bit"),
        ("cmyk.jpg", "CMYK"),
        ("huge_header.jpg", MAX_PIXELS_ENV),
    ],
)
def test_bad_uploads_give_one_plain_message_keep_the_page_and_clear_the_upload_box(
    load, loaded, fixture, message
):
    with pytest.warns(UserWarning):  # gr.Warning outside a request: the toast's text
        out = load(loaded[STATE], str(FIXTURES / fixture), 15, "4:2:0", progress=None)
    assert_kept(out)
    text = out[STATUS]
    assert message.lower() in text.lower()
    assert "Traceback" not in text and "SOI" not in text and "/" not in text.split("  \n")[0]
    assert "mountains_q15.jpg" in text  # the status still describes what is shown
    assert out[UPLOAD] is None  # the upload box does not keep showing the refused file


def test_the_pixel_refusal_names_the_apps_setting(load, tmp_path, monkeypatch):
    monkeypatch.setenv(MAX_PIXELS_ENV, "1000")
    png = tmp_path / "big.png"
    Image.fromarray(natural_image(40, 40, seed=1)).save(png)
    jpg = tmp_path / "big.jpg"
    ej.compress(natural_image(40, 40, seed=1), quality=50, path=jpg)
    for path in (png, jpg):
        with pytest.warns(UserWarning):
            out = load(None, str(path), 15, "4:2:0", progress=None)
        assert MAX_PIXELS_ENV in out[STATUS]
        assert "EXPLORABLE_JPEG_MAX_PIXELS" not in out[STATUS]
        assert "40x40" in out[STATUS]


def test_truncated_and_garbage_uploads(load, example_jpeg, tmp_path):
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(example_jpeg.read_bytes()[:900])
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"definitely not an image")
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    cases = [(cut, "truncated"), (junk, "not an image"), (empty, "empty"), (None, "Upload")]
    for path, message in cases:
        with pytest.warns(UserWarning):
            out = load(None, None if path is None else str(path), 15, "4:2:0", progress=None)
        assert message.lower() in out[STATUS].lower(), out[STATUS]
        assert "EOI" not in out[STATUS] and str(tmp_path) not in out[STATUS]
        assert all(is_skip(v) for i, v in enumerate(out[:7]) if i != STATUS)


def test_tool_without_a_selection_keeps_every_output_and_says_why(loaded):
    apply_tool = h.make_apply()
    after = apply_tool(
        loaded[STATE], "scribble", strokes_on(loaded), **tool_args("scribble"), progress=None
    )
    with pytest.warns(UserWarning, match="Select a region"):
        out = apply_tool(after[STATE], "scribble", None, **tool_args("scribble"), progress=None)
    assert_kept(out)
    assert "Select a region" in out[STATUS] and "unchanged" in out[STATUS]
    assert after[STATE].explorer.can_undo
    np.testing.assert_array_equal(after[STATE].image, after[OURS])


def test_an_unexpected_failure_is_one_line_and_keeps_the_outputs(loaded, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("/tmp/secret/path exploded")

    monkeypatch.setattr(Session, "apply", boom)
    with pytest.warns(UserWarning):
        out = h.make_apply()(loaded[STATE], "random", None, **tool_args("random"), progress=None)
    assert_kept(out)
    assert "RuntimeError" in out[STATUS] and "/tmp" not in out[STATUS]


def test_cancel_stops_the_action_and_leaves_the_state(loaded):
    state = loaded[STATE]

    def progress(fraction, desc=""):
        state.cancel.cancel()  # the user presses Cancel while it runs

    mask, _ = h.full_resolution_strokes(state, strokes_on(loaded))
    with pytest.raises(Cancelled):
        state.apply("random", mask, {"n": 2}, lambda f, d: progress(f), budget_s=2.0)
    editor = strokes_on(loaded)
    view = h.make_apply()(state, "random", editor, **tool_args("random", n=2), progress=progress)
    assert view[GALLERY] == []
    assert "Cancelled" in view[STATUS]
    np.testing.assert_array_equal(view[OURS], loaded[OURS])
    assert not view[STATE].explorer.can_undo


def test_large_upload_is_downscaled_for_display_only(load, tmp_path):
    big = natural_image(720, 1400, seed=5)
    path = tmp_path / "big.jpg"
    ej.compress(big, quality=20, path=path)
    view = load(None, str(path), 15, "4:2:0", progress=None)
    state: Session = view[STATE]
    assert (state.code.height, state.code.width) == (720, 1400)
    assert max(view[OURS].shape[:2]) == DISPLAY_MAX_SIDE
    assert state.image.shape[:2] == (720, 1400)
    mask, scribble = h.full_resolution_strokes(state, strokes_on(view, box=(10, 20, 10, 20)))
    assert mask.shape == (720, 1400) and scribble.shape == (720, 1400, 3)
    assert mask[15, 15] and not mask[400, 700]


def test_gray_jpeg_works_end_to_end(load):
    view = load(None, str(FIXTURES / "gray.jpg"), 15, "4:2:0", progress=None)
    assert view[OURS].ndim == 3  # shown as RGB
    assert view[STATE].image.ndim == 2  # the image itself stays gray
    assert 'data-consistent="true"' in view[BADGE]
    after = h.make_apply()(
        view[STATE],
        "scribble",
        strokes_on(view, box=(5, 15, 5, 25)),
        **tool_args("scribble"),
        progress=None,
    )
    assert 'data-consistent="true"' in after[BADGE]


def test_zoom_shows_plain_and_ours_side_by_side(loaded):
    image = h.zoom_at(loaded[STATE], 100, 70, 4)
    assert image.ndim == 3 and image.shape[1] > image.shape[0]


def test_zoom_follows_apply_and_a_new_image(load, loaded, tmp_path):
    """The zoom panel is refreshed after every change, at the point last clicked."""
    refresh = h.make_refresh(tmp_path)
    point = (100 / loaded[STATE].code.width, 60 / loaded[STATE].code.height)
    before, _, _ = refresh(loaded[STATE], point, 4)
    after = h.make_apply()(loaded[STATE], "scribble", strokes_on(loaded), **tool_args("scribble"),
                           progress=None)  # fmt: skip
    zoomed, downloads, _ = refresh(after[STATE], point, 4)
    assert not np.array_equal(zoomed, before)
    np.testing.assert_array_equal(zoomed, h.zoom_at(after[STATE], 100, 60, 4))
    assert ej.check(after[STATE].code, np.asarray(Image.open(downloads[0]))).consistent
    other = load(after[STATE], str(FIXTURES / "gray.jpg"), 15, "4:2:0", progress=None)
    zoomed_other, _, _ = refresh(other[STATE], point, 4)
    assert zoomed_other.shape != zoomed.shape or not np.array_equal(zoomed_other, zoomed)
    np.testing.assert_array_equal(zoomed_other, h.zoom_at(other[STATE], *h.zoom_point(
        other[STATE], point), 4))  # fmt: skip


def test_no_file_yet_is_a_clear_message():
    for handler in (h.undo, h.redo):
        with pytest.warns(UserWarning):
            out = handler(None)
        assert "Upload a JPEG" in out[STATUS]


def test_examples_load_from_the_package_not_from_a_cached_copy(decoder, tmp_path):
    load_example = h.make_load_example(decoder, example_files())
    out = load_example(None, "mountains_q15.jpg", 15, "4:2:0", progress=None)
    assert out[STATE].jpeg == (EXAMPLES_DIR / "mountains_q15.jpg").read_bytes()
    assert out[UPLOAD] == str(EXAMPLES_DIR / "mountains_q15.jpg")
    # "Load / re-compress" with the upload box pointing at a copy the cache cleaning removed
    gone = tmp_path / "gone" / "mountains_q15.jpg"
    again = h.make_load(decoder)(out[STATE], str(gone), 15, "4:2:0", progress=None)
    assert again[STATE].jpeg == out[STATE].jpeg
    with pytest.warns(UserWarning):
        missing = load_example(None, "nope.jpg", 15, "4:2:0", progress=None)
    assert "No such example" in missing[STATUS]


def test_uploaded_bytes_are_read_not_reencoded(load, tmp_path):
    """A JPEG with a non-IJG table keeps that table (gr.File hands us the bytes)."""
    table = np.full((8, 8), 7)
    table[0, 0] = 3
    gray = natural_image(32, 48, seed=9, color=False)
    buf = io.BytesIO(ej.compress(gray, tables=[table])[0])
    path = tmp_path / "custom.jpg"
    path.write_bytes(buf.getvalue())
    view = load(None, str(path), 90, "4:4:4", progress=None)
    np.testing.assert_array_equal(view[STATE].code.components[0].table, table)


@pytest.mark.parametrize("tool", ["variance-up", "hsv", "uniform"])
def test_engine_tools_change_the_selection_and_stay_consistent(
    decoder, example_jpeg, tool, monkeypatch
):
    from explorable_jpeg.explore import Explorer

    # A fixed number of steps instead of the page's wall-clock budget: on a loaded machine
    # 4 s may allow too few steps to move a pixel (seen with hsv while training ran).
    apply = Explorer.apply
    monkeypatch.setattr(
        Explorer,
        "apply",
        lambda self, t, mask=None, **kw: apply(self, t, mask, **{**kw, "budget_s": 300.0,
                                                                 "max_iters": 12}),
    )  # fmt: skip

    loaded = h.make_load(decoder)(None, str(example_jpeg), 15, "4:2:0", progress=None)
    shift = {"hue": 0.2} if tool == "hsv" else {}
    after = h.make_apply()(
        loaded[STATE], tool, strokes_on(loaded), **tool_args(tool, **shift), progress=None
    )
    assert not np.array_equal(after[OURS], loaded[OURS])
    assert 'data-consistent="true"' in after[BADGE]
    assert after[STATE].explorer.can_undo


def test_inert_z_weights_are_pointed_out(decoder, example_jpeg):
    import copy

    import torch

    inert = copy.deepcopy(decoder)
    with torch.no_grad():
        for name, p in inert.named_parameters():
            if "z_proj" in name:
                p.zero_()
    view = h.make_load(inert)(None, str(example_jpeg), 15, "4:2:0", progress=None)
    assert "z" in view[STATUS] and "no effect" in view[STATUS]


def test_a_lossless_crop_is_shown_consistent_where_reachable(load, tmp_path):
    """``jpegtran -crop`` at a non-MCU edge keeps picture beyond the border in the edge
    blocks: no image of the file's size reproduces them, and the badge says so instead of
    failing the decoding."""
    src = FIXTURES / "realworld_lomiri_picos_203x141.jpg"
    view = load(None, str(src), 15, "4:2:0", progress=None)
    report = ej.check(view[STATE].code, view[STATE].image)
    assert not report.consistent and report.consistent_where_reachable
    assert 'data-consistent="true"' in view[BADGE]
    assert "consistent where reachable" in view[BADGE]


# ------------------------------------------------------------------------------------------
# the tool controls come from the registry
# ------------------------------------------------------------------------------------------


def _sample(control):
    """A value other than the default: ``(as the widget gives it, as the tool receives it)``."""
    p = control.param
    if p.kind == "bool":
        return (not p.default,) * 2
    if p.kind == "str":
        other = next(c for c in p.choices if c != p.default) if p.choices else "x"
        return other, other
    if p.kind == "floats":
        if p.maximum is not None and p.maximum - (p.minimum or 0) <= 16:
            return ["3", "7"], (3.0, 7.0)
        return "2, 5", (2.0, 5.0)
    if p.kind == "object":
        if p.name.endswith("_box"):
            return "1, 2, 9, 12", (1, 2, 9, 12)
        image = np.full((8, 8, 3), 90, np.uint8)
        return image, image
    lo = p.minimum if p.minimum is not None else p.default - 3
    hi = p.maximum if p.maximum is not None else p.default + 3
    value = lo + 0.37 * (hi - lo)
    value = round(value) if p.kind == "int" else value
    assert value != p.default
    return value, value


@pytest.fixture
def calls(monkeypatch):
    """What the explorer is asked to do (the apply handler's parameters on arrival)."""
    from explorable_jpeg.explore import Explorer, ToolResult

    seen: list[tuple[str, dict]] = []

    def record(self, tool, mask=None, **kw):
        seen.append((tool, kw))
        return ToolResult(self.image)

    monkeypatch.setattr(Explorer, "apply", record)
    return seen


def test_every_registry_parameter_has_a_control_with_the_registry_default(decoder):
    from explorable_jpeg.explore import SPECS
    from explorable_jpeg_app import create_app
    from explorable_jpeg_app.controls import PAGE_SUPPLIED

    app = create_app(decoder=decoder)
    by_id = {b.elem_id: b for b in app.blocks.values() if getattr(b, "elem_id", None)}
    for spec in SPECS.values():
        controls = {c.param.name: c for c in tool_controls(spec.name)}
        wanted = {p.name for p in spec.params} - set(PAGE_SUPPLIED)
        assert wanted | ({"reach"} if spec.reach is not None else set()) == set(controls)
        for name, c in controls.items():
            shown = by_id[f"control-{c.key}"].value
            default = spec.reach if name == "reach" else spec.param(name).default
            assert c.value(shown) == (None if default is None else default), (spec.name, name)
    assert by_id["budget"].value == h.SIGNATURE.parameters["budget"].default == 30.0


@pytest.mark.parametrize("tool", sorted({c.tool for c in h.edit.CONTROLS}))
def test_applying_passes_every_control_to_the_tool(loaded, calls, tool):
    apply_tool = h.make_apply()
    editor = strokes_on(loaded)
    for c in tool_controls(tool):
        shown, expected = _sample(c)
        calls.clear()
        apply_tool(loaded[STATE], tool, editor, budget=3.0, progress=None, **{c.key: shown})
        assert len(calls) == 1, c.key
        got_tool, kw = calls[0]
        assert got_tool == tool and kw["budget_s"] == 3.0
        if isinstance(expected, np.ndarray):
            np.testing.assert_array_equal(kw[c.param.name], expected)
        else:
            assert kw[c.param.name] == expected, c.key
        passed = {o.param.name for o in tool_controls(tool) if o.value(o.default) is not None}
        others = passed - {c.param.name}
        assert others <= set(kw), f"{c.key}: dropped {others - set(kw)}"  # defaults passed too


def test_digit_alternatives_are_ranked_with_scores_and_click_to_use(loaded):
    from types import SimpleNamespace

    view = h.make_apply()(loaded[STATE], "digit", strokes_on(loaded, box=(30, 90, 40, 100)),
                          **tool_args("digit", digits=["3", "7"], styles=1),
                          progress=None)  # fmt: skip
    state = view[STATE]
    assert [a.name for a in state.alternatives] in (["digit 3", "digit 7"], ["digit 7", "digit 3"])
    scores = [a.score for a in state.alternatives]
    assert scores == sorted(scores, reverse=True) and all(0 <= p <= 1 for p in scores)
    assert [c.split(" · ")[0] for _, c in view[GALLERY]] == ["#1", "#2"]
    assert all("p=" in c and c.endswith("✔") for _, c in view[GALLERY])
    used = h.choose_alternative(state, SimpleNamespace(index=1))  # a click on the second
    np.testing.assert_array_equal(used[STATE].image, state.alternatives[1].image)
    assert ej.check(used[STATE].code, used[STATE].image).consistent


def test_random_alternatives_are_captioned_with_their_distance(loaded):
    view = h.make_apply()(loaded[STATE], "random", strokes_on(loaded),
                          **tool_args("random", n=2), progress=None)  # fmt: skip
    mask, _ = h.full_resolution_strokes(loaded[STATE], strokes_on(loaded))
    for alt, (_, caption) in zip(view[STATE].alternatives, view[GALLERY], strict=True):
        d = np.abs(alt.image.astype(float) - loaded[STATE].image).mean(axis=-1)[mask].mean()
        assert f"Δ {d:.1f}" in caption, caption


def test_undo_while_an_apply_runs_is_refused_and_the_apply_keeps_its_result(loaded):
    import threading

    first = h.make_apply()(loaded[STATE], "scribble", strokes_on(loaded),
                           **tool_args("scribble"), progress=None)  # fmt: skip
    started, release, result = threading.Event(), threading.Event(), {}

    def progress(fraction, desc=""):
        started.set()
        release.wait(60)

    def run():
        result["view"] = h.make_apply()(first[STATE], "random", strokes_on(loaded),
                                        **tool_args("random", n=2), progress=progress)  # fmt: skip

    job = threading.Thread(target=run)
    job.start()
    try:
        assert started.wait(120)
        for handler in (h.undo, h.redo):
            with pytest.warns(UserWarning, match="still running"):
                out = handler(first[STATE])
            assert_kept(out)
            assert "Apply is still running" in out[STATUS]
    finally:
        release.set()
        job.join(120)
    after = result["view"]
    assert len(after[GALLERY]) == 2 and after[STATE].explorer.can_undo
    undone = h.undo(after[STATE])  # once it finished, undo steps back from its result
    np.testing.assert_array_equal(undone[STATE].image, first[STATE].image)


# ------------------------------------------------------------------------------------------
# compare views and the status after Apply
# ------------------------------------------------------------------------------------------


def test_compare_shows_previous_current_plain_and_the_amplified_difference(loaded):
    after = h.make_apply()(loaded[STATE], "scribble", strokes_on(loaded),
                           **tool_args("scribble"), progress=None)  # fmt: skip
    state = after[STATE]
    np.testing.assert_array_equal(h.compare(state, "current"), after[OURS])
    np.testing.assert_array_equal(h.compare(state, "previous"), loaded[OURS])
    np.testing.assert_array_equal(h.compare(state, "plain"), after[PLAIN])
    diff = h.compare(state, "difference ×4")
    expected = np.minimum(4 * np.abs(after[OURS].astype(int) - loaded[OURS]), 255)
    np.testing.assert_array_equal(diff, expected)
    assert diff[40:80, 60:140].any() and not diff[200:, 300:].any()
    # before any change "previous" is the image itself; after undo it is the edited one
    np.testing.assert_array_equal(h.compare(loaded[STATE], "previous"), loaded[OURS])
    undone = h.undo(state)
    np.testing.assert_array_equal(h.compare(undone[STATE], "previous"), after[OURS])
    editor = strokes_on(after)
    shown, sketchpad = h.show(state, "difference ×4", editor)  # the toggle: both images
    np.testing.assert_array_equal(shown, diff)
    np.testing.assert_array_equal(sketchpad["background"], diff)
    np.testing.assert_array_equal(sketchpad["layers"][0], editor["layers"][0])  # strokes kept
    assert h.make_refresh()(state, None, 4)[2] == "current"  # after a change: back to now


def test_status_after_apply_says_which_tool_ran_and_how_far_it_got(loaded):
    from explorable_jpeg_app.controls import tool_label
    from explorable_jpeg_app.session import Outcome

    after = h.make_apply()(loaded[STATE], "scribble", strokes_on(loaded),
                           **tool_args("scribble"), progress=None)  # fmt: skip
    o = after[STATE].outcome
    text = after[STATUS]
    assert f"**{tool_label('scribble')}**" in text
    assert f"loss {o.loss_start:.4g} → {o.loss_best:.4g}" in text and "reach 1.00" in text
    assert f"{o.iterations} iterations" in text
    inside = f"by {o.change_inside:.1f} grey levels on average inside the selection"
    assert inside in text and f"({o.change_outside:.1f} outside)" in text
    assert o.change_inside > 1 and o.change_outside < o.change_inside / 5
    little = h.outcome_text(Outcome("variance-up", True, 1.0, 0.97, 12, 2.0, 0.5))
    assert "little room" in little and "(-3%)" in little and "reach 0.50" in little
    assert "little room" not in h.outcome_text(Outcome("variance-up", True, 1.0, 0.5, 12, 2.0))
    whole = h.outcome_text(Outcome("random", True, -0.55, -0.62, 1, 2.0, 0.0, 3.25))
    assert "3.2 grey levels on average over the image" in whole and "%" not in whole


def test_strokes_stay_after_apply_undo_and_a_step_until_cleared(loaded):
    editor = strokes_on(loaded)
    after = h.make_apply()(loaded[STATE], "scribble", editor, **tool_args("scribble"),
                           progress=None)  # fmt: skip
    for out in (after, h.undo(after[STATE], after[EDITOR]), h.redo(after[STATE], editor)):
        kept = out[EDITOR]
        np.testing.assert_array_equal(kept["layers"][0], editor["layers"][0])
        np.testing.assert_array_equal(kept["background"], out[OURS])
    cleared = h.clear_selection(after[STATE])
    assert cleared["layers"] == [] and np.array_equal(cleared["background"], after[OURS])
    other = np.zeros((5, 5, 4), np.uint8)  # strokes of another image size are dropped
    assert h.view(after[STATE], {"layers": [other]})[EDITOR]["layers"] == []


def test_box_selection_is_the_rectangle_around_the_strokes(loaded):
    from explorable_jpeg_app.handlers.strokes import box_around

    state = loaded[STATE]
    editor = strokes_on(loaded, box=(40, 44, 60, 64))
    layer = editor["layers"][0]
    layer[90:94, 150:154] = (255, 0, 0, 255)  # a second dab: the box spans both
    brush, _ = h.full_resolution_strokes(state, editor, "brush")
    box, _ = h.full_resolution_strokes(state, editor, "box")
    assert brush.sum() == 2 * 16
    assert box[40:94, 60:154].all() and box.sum() == 54 * 94
    assert not box_around(np.zeros((3, 3), bool)).any()


def test_history_strip_shows_every_step_and_a_click_goes_there(loaded):
    from types import SimpleNamespace

    first = h.make_apply()(loaded[STATE], "scribble", strokes_on(loaded),
                           **tool_args("scribble"), progress=None)  # fmt: skip
    second = h.make_apply()(first[STATE], "hsv", strokes_on(loaded, box=(100, 140, 200, 260)),
                            **tool_args("hsv", hue=0.3), progress=None)  # fmt: skip
    strip = second[HISTORY]
    assert [c for _, c in strip] == ["1 · loaded", "2 · Scribble",
                                     "3 · Hue / saturation / value ◀ now"]  # fmt: skip
    assert max(strip[0][0].shape[:2]) <= 160
    back = h.go_to_step(second[STATE], SimpleNamespace(index=0))
    np.testing.assert_array_equal(back[OURS], loaded[OURS])
    assert back[HISTORY][0][1] == "1 · loaded ◀ now" and len(back[HISTORY]) == 3
    ahead = h.go_to_step(back[STATE], SimpleNamespace(index=2))
    np.testing.assert_array_equal(ahead[OURS], second[OURS])
    branch = h.make_apply()(back[STATE], "scribble", strokes_on(loaded),
                            **tool_args("scribble"), progress=None)  # fmt: skip
    assert [c for _, c in branch[HISTORY]] == ["1 · loaded", "2 · Scribble ◀ now"]
    assert_kept(h.go_to_step(branch[STATE], SimpleNamespace(index=7)))


def test_every_tool_has_one_strength_control_on_top(decoder):
    from explorable_jpeg.explore import SPECS
    from explorable_jpeg_app import create_app
    from explorable_jpeg_app.controls import strength

    for spec in SPECS.values():
        main = strength(spec.name)
        assert main is not None and main in tool_controls(spec.name), spec.name
        p = main.param
        assert p.minimum is not None and p.maximum is not None, spec.name
    assert strength("scribble").param.name == "delta" and strength("digit").param.name == "reach"
    app = create_app(decoder=decoder)
    labels = {b.elem_id: getattr(b, "label", None) for b in app.blocks.values() if b.elem_id}
    assert labels["control-scribble__delta"].startswith("Strength — ")
    assert not labels["control-scribble__mode"].startswith("Strength")


def test_examples_are_listed_with_the_tool_each_one_shows(tmp_path):
    """examples.json orders the gallery and names a registry tool for every example; a
    JPEG it does not list still shows (caption from its name, no tool suggested)."""
    from explorable_jpeg_app.ui import example_catalogue, example_thumbnails, example_tools

    files = example_files()
    names = [p.name for p in files]
    assert names[:3] == ["number_q5.jpg", "dog_q10.jpg", "wall_q15.jpg"]
    assert sorted(names) == sorted(p.name for p in EXAMPLES_DIR.glob("*.jpg"))
    tools = example_tools(files)
    assert tools[0] == "digit" and all(t in TOOLS for t in tools)
    assert [c for _, c in example_thumbnails(files)][:2] == ["house number", "face"]
    for p in files:
        code = ej.read_jpeg(p)  # a real file the core reads
        assert code.height >= 128 and code.width >= 128 and code.is_color
    (tmp_path / "examples.json").write_text('[{"file": "a_q5.jpg", "caption": "A", "tool": "x"}]')
    for n in ("b_q9.jpg", "a_q5.jpg"):
        (tmp_path / n).write_bytes((EXAMPLES_DIR / "cups_q10.jpg").read_bytes())
    assert [e["file"] for e in example_catalogue(tmp_path)] == ["a_q5.jpg", "b_q9.jpg"]
    assert example_tools(example_files(tmp_path)) == ["", ""]  # "x" is not a tool
    assert [c for _, c in example_thumbnails(example_files(tmp_path))] == ["A", "b"]
