"""``create_app()``: the Gradio Blocks of Explorable JPEG.

The layout follows the task on one screen (1366×768): on the left load (drop a JPEG,
example thumbnails under it) and the downloads; in the middle the image — the one you look
at is the one you paint the selection on (brush or box; strokes kept until cleared), with a
compare toggle (current, previous, plain, difference ×4), the alternatives ("What could this
be?", click to use) and the history strip under it; on the right the tool column (its
strength, advanced parameters folded, generated from the core's registry, :mod:`.controls`),
Apply and Cancel, the badge and what the last tool did. At phone width the three columns
stack. All logic is in :mod:`.handlers` (plain functions) and in the
core library; this module only wires widgets to handlers.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import gradio as gr

from explorable_jpeg.explore import TOOLS

from .controls import (
    BUDGET_DEFAULT_S,
    CONTROLS,
    IMAGE_FORMAT,
    strength,
    tool_choices,
    tool_controls,
    tool_help,
    widget,
)
from .display import COMPARE_VIEWS
from .handlers import (
    VIEW_OUTPUTS,
    cancel,
    choose_alternative,
    clear_selection,
    go_to_step,
    load_exploration,
    make_apply,
    make_example_picker,
    make_load,
    make_load_example,
    make_refresh,
    outline,
    redo,
    show,
    undo,
    zoom,
)
from .handlers.strokes import SELECTIONS

EXAMPLES_DIR = Path(__file__).parent / "examples"
CONCURRENCY_ENV = "EXPLORABLE_JPEG_APP_CONCURRENCY"
CACHE_LIFETIME_S = 3600  # Gradio deletes cached uploads and outputs older than this
SUBSAMPLINGS = ["4:2:0", "4:2:2", "4:4:4"]
UPLOAD_TYPES = [".jpg", ".jpeg", ".jfif", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif"]
BRUSH_COLOURS = ["#000000", "#ffffff", "#e53935", "#fdd835", "#43a047", "#1e88e5"]

INTRO = (
    "## Explorable JPEG\n"
    "A JPEG file holds every image that compresses to exactly that file. **Load** a JPEG (or "
    "pick an example) → **paint** over a region of the image → choose a **tool** → "
    "**Apply**. Every image shown re-encodes with libjpeg to the same file: the badge checks it."
)

#: the page's own styling: compact, one screen at 1366×768, one column on a phone
CSS = """
.gradio-container { max-width: 1400px !important; padding-top: 4px !important; }
#intro p { margin: 0 0 2px 0; font-size: 0.92em; }
#intro h2 { margin: 0 0 2px 0; }
#status { font-size: 0.9em; }
#tool-help p { margin: 0; font-size: 0.9em; }
#examples .grid-container, #gallery .grid-container, #history .grid-container {
  grid-template-columns: repeat(var(--grid-cols), minmax(0, 1fr)) !important;
  grid-auto-rows: minmax(72px, 1fr) !important; }
#intro, #status, #tool-help, #badge { overflow-wrap: anywhere; }
#examples .caption-label, #gallery .caption-label, #history .caption-label,
#downloads .stem, #downloads .filename, #upload .stem, #upload .filename {
  white-space: normal !important; overflow: visible !important;
  text-overflow: clip !important; max-width: 100% !important; }
@media (max-width: 700px) {
  .gradio-container { padding: 2px !important; }
  #workspace { flex-direction: column !important; }
  #image-column, #load-column { display: contents !important; }
  #load-column > *, #image-column > * { order: 9; }
  #upload, #examples { order: 1 !important; } #compare, #image-column > :has(#compare) { order: 2 !important; }
  #editor { order: 3 !important; } #badge, #status { order: 4 !important; }
  #compression { order: 5 !important; } #tool-column { order: 6 !important; }
  #gallery { order: 7 !important; } #history { order: 8 !important; }
  #downloads { order: 9 !important; }
  #gallery .grid-container, #history .grid-container { --grid-cols: 4 !important; }
}
"""


def example_catalogue(folder: Path = EXAMPLES_DIR) -> list[dict[str, str]]:
    """The examples in the order shown: ``examples.json`` (file, caption, the tool it is
    chosen to show), then any other ``*.jpg`` in the folder (caption from the file name)."""
    listed = (
        json.loads((folder / "examples.json").read_text())
        if (folder / "examples.json").is_file()
        else []
    )
    entries = [e for e in listed if (folder / e["file"]).is_file()]
    known = {e["file"] for e in entries}
    for p in sorted(folder.glob("*.jpg")):
        if p.name not in known:
            entries.append({"file": p.name, "caption": p.stem.split("_")[0], "tool": ""})
    return entries


def example_files(folder: Path = EXAMPLES_DIR) -> list[Path]:
    return [folder / e["file"] for e in example_catalogue(folder)]


def example_thumbnails(files: list[Path]) -> list[tuple[str, str]]:
    """The examples gallery's value: (path, caption). Set on every page load, so that
    Gradio caches fresh copies even after its cache cleaning removed older ones."""
    captions = (
        {e["file"]: e["caption"] for e in example_catalogue(files[0].parent)} if files else {}
    )
    return [(str(p), captions.get(p.name, p.stem.split("_")[0])) for p in files]


def example_tools(files: list[Path]) -> list[str]:
    """The tool each example is chosen to show (selected when it is clicked; "" keeps the
    current tool), in the gallery's order."""
    chosen = {e["file"]: e["tool"] for e in example_catalogue(files[0].parent)} if files else {}
    return [chosen.get(p.name, "") if chosen.get(p.name, "") in TOOLS else "" for p in files]


def load_default_decoder():
    """The bundled ``gan`` decoder (no network); ``EXPLORABLE_JPEG_WEIGHTS`` overrides."""
    from explorable_jpeg.decoding.decoder import Decoder

    return Decoder.from_pretrained(os.environ.get("EXPLORABLE_JPEG_WEIGHTS") or None, "gan")


def shown_image(label: str, elem_id: str) -> gr.Image:
    """An image the page shows (not edited): lossless PNG, full-screen button, no download."""
    return gr.Image(
        label=label,
        type="numpy",
        interactive=False,
        format=IMAGE_FORMAT,
        buttons=["fullscreen"],
        elem_id=elem_id,
    )


def create_app(
    decoder=None, concurrency: int | None = None, cache_lifetime_s: int = CACHE_LIFETIME_S
) -> gr.Blocks:
    """Build the app. ``decoder``: a loaded :class:`explorable_jpeg.decoding.decoder.Decoder`
    (default: the bundled weights), shared read-only by every user; per-user data lives in
    ``gr.State``. ``cache_lifetime_s``: Gradio's cache cleaning (``delete_cache``)."""
    decoder = decoder if decoder is not None else load_default_decoder()
    if concurrency is None:
        concurrency = int(os.environ.get(CONCURRENCY_ENV, "1"))
    tools = TOOLS
    lifetime = int(cache_lifetime_s)

    with gr.Blocks(title="Explorable JPEG", delete_cache=(lifetime, lifetime)) as demo:
        state = gr.State(None)
        zoom_at_point = gr.State(None)
        gr.Markdown(INTRO, elem_id="intro")
        examples = example_files()

        with gr.Row(elem_id="workspace", equal_height=False):
            # ------------------------------------------------------------ load, downloads
            with gr.Column(scale=3, min_width=250, elem_id="load-column"):
                upload = gr.File(
                    label="Drop a JPEG here",
                    file_types=UPLOAD_TYPES,
                    type="filepath",
                    height=110,
                    elem_id="upload",
                )
                example_gallery = gr.Gallery(
                    label="Examples — click one",
                    columns=3,
                    height=110,
                    allow_preview=False,
                    object_fit="cover",
                    format=IMAGE_FORMAT,
                    interactive=False,
                    elem_id="examples",
                    visible=bool(examples),
                )
                with gr.Accordion(
                    "Compression of a non-JPEG upload", open=False, elem_id="compression"
                ):
                    quality = gr.Slider(1, 95, value=15, step=1, label="Quality")
                    subsampling = gr.Dropdown(SUBSAMPLINGS, value="4:2:0", label="Chroma sampling")
                    load_btn = gr.Button("Load / re-compress", elem_id="load-btn")
                badge = gr.HTML("", elem_id="badge")
                status = gr.Markdown("Upload a JPEG or click an example.", elem_id="status")

            # ------------------------------------------------------------ look + select
            with gr.Column(scale=5, min_width=280, elem_id="image-column"):
                compare_mode = gr.Radio(
                    list(COMPARE_VIEWS),
                    value="current",
                    show_label=False,
                    info="Show: now · before the last change · the plain JPEG decode · "
                    "what the last change did (×4)",
                    elem_id="compare",
                )
                editor = gr.ImageEditor(
                    label="Paint the selection",
                    type="numpy",
                    image_mode="RGBA",
                    format=IMAGE_FORMAT,
                    sources=(),
                    transforms=(),
                    layers=False,
                    height=410,
                    brush=gr.Brush(default_size=12, colors=BRUSH_COLOURS, default_color="#e53935"),
                    eraser=gr.Eraser(default_size=16),
                    elem_id="editor",
                )
                gallery = gr.Gallery(
                    label="What could this be? Alternatives, best first, with their scores — "
                    "click one to use it",
                    columns=4,
                    height=150,
                    fit_columns=False,
                    allow_preview=False,
                    format=IMAGE_FORMAT,
                    elem_id="gallery",
                )
                history_strip = gr.Gallery(
                    label="History — click a step to go back (or forward) to it",
                    columns=8,
                    height=110,
                    fit_columns=False,
                    allow_preview=False,
                    format=IMAGE_FORMAT,
                    interactive=False,
                    elem_id="history",
                )

                downloads = gr.File(
                    label="Download: PNG (passes check) · z map · exploration file · JPEG",
                    file_count="multiple",
                    interactive=False,
                    height=120,
                    elem_id="downloads",
                )

            # ------------------------------------------------------------ tool column
            with gr.Column(scale=3, min_width=270, elem_id="tool-column"):
                tool = gr.Dropdown(tool_choices(), value=tools[0], label="Tool", elem_id="tool")
                help_md = gr.Markdown(tool_help(tools[0]), elem_id="tool-help")
                groups, made = [], {}
                for name in tools:  # each tool's own controls, from the registry
                    main = strength(name)
                    rest = [c for c in tool_controls(name) if c != main]
                    with gr.Column(visible=name == tools[0], elem_id=f"controls-{name}") as group:
                        if main is not None:
                            made[main.key] = widget(main, "Strength — ")
                        if rest:
                            with gr.Accordion(
                                "Advanced parameters", open=False, elem_id=f"advanced-{name}"
                            ):
                                made.update({c.key: widget(c) for c in rest})
                    groups.append(group)
                widgets = [made[c.key] for c in CONTROLS]  # the apply handler's order
                with gr.Row():
                    selection = gr.Radio(
                        list(SELECTIONS),
                        value="brush",
                        label="Selection",
                        scale=3,
                        min_width=150,
                        elem_id="selection",
                    )
                    budget = gr.Number(
                        value=BUDGET_DEFAULT_S, minimum=1, maximum=120, precision=0,
                        label="Time (s)", scale=2, min_width=80, elem_id="budget",
                    )  # fmt: skip
                with gr.Row():
                    apply_btn = gr.Button(
                        "Apply", variant="primary", min_width=100, elem_id="apply-btn"
                    )
                    cancel_btn = gr.Button(
                        "Cancel", variant="stop", min_width=100, elem_id="cancel-btn"
                    )
                with gr.Row():
                    undo_btn = gr.Button("↶ Undo", size="sm", min_width=60, elem_id="undo-btn")
                    redo_btn = gr.Button("↷ Redo", size="sm", min_width=60, elem_id="redo-btn")
                    clear_btn = gr.Button(
                        "Clear selection", size="sm", min_width=100, elem_id="clear-btn"
                    )

        # ---------------------------------------------------------------- below the fold
        with gr.Accordion(
            "Full-size images and zoom (click a point to zoom)", open=False, elem_id="full-size"
        ):
            with gr.Row():
                plain_img = shown_image("Plain JPEG decode (bin centres)", "plain")
                ours_img = shown_image("Explorable decode (in the chosen view)", "ours")
            zoom_factor = gr.Slider(2, 8, value=4, step=1, label="Magnification")
            zoom_img = shown_image("Plain | ours", "zoom")
        with gr.Accordion("Continue an earlier exploration", open=False):
            exploration_file = gr.File(
                label="Exploration file (.safetensors)", type="filepath", elem_id="exploration"
            )
            load_exp_btn = gr.Button("Load exploration", elem_id="load-exp-btn")

        # ---------------------------------------------------------------- wiring
        view_outputs = [state, plain_img, ours_img, editor, badge, status, gallery, history_strip]
        assert len(view_outputs) == len(VIEW_OUTPUTS)
        # progress on the status line only: never an overlay over the images or the
        # sketchpad (Gradio can leave a stale one on the ImageEditor)
        heavy = {
            "concurrency_limit": concurrency,
            "concurrency_id": "heavy",
            "show_progress_on": [status],
        }
        light = {"show_progress_on": [status]}
        exports = Path(demo.GRADIO_CACHE) / "explorable-jpeg-exports"
        after = {
            "fn": make_refresh(exports),
            "inputs": [state, zoom_at_point, zoom_factor],
            "outputs": [zoom_img, downloads, compare_mode],
            "show_progress": "hidden",
        }

        load = make_load(decoder)
        load_inputs = [state, upload, quality, subsampling]
        upload.upload(load, load_inputs, [*view_outputs, upload], **heavy).then(**after)
        load_btn.click(load, load_inputs, [*view_outputs, upload], **heavy).then(**after)
        if examples:
            demo.load(lambda: example_thumbnails(examples), None, example_gallery)
            picked = gr.Textbox(visible=False, elem_id="example-name")
            pick = make_example_picker(examples)
            suggested = example_tools(examples)

            def suggest_tool(current: str, evt: gr.SelectData) -> str:
                """The tool the clicked example is chosen to show (else the current one)."""
                index = evt.index[0] if isinstance(evt.index, list | tuple) else evt.index
                return suggested[int(index)] or current

            example_gallery.select(suggest_tool, [tool], tool, queue=False)
            example_gallery.select(pick, None, picked, queue=False).then(
                make_load_example(decoder, examples),
                [state, picked, quality, subsampling],
                [*view_outputs, upload],
                api_name="load_example",
                **heavy,
            ).then(**after)

        apply_inputs = [state, tool, editor, budget, *widgets, selection]
        apply_btn.click(make_apply(), apply_inputs, view_outputs, **heavy).then(**after)
        cancel_btn.click(cancel, [state], None, queue=False)
        keep = [state, editor, selection]  # the strokes stay on the image (box: drawn)
        undo_btn.click(undo, keep, view_outputs, **light).then(**after)
        redo_btn.click(redo, keep, view_outputs, **light).then(**after)
        clear_btn.click(clear_selection, [state], editor, **light)
        gallery.select(choose_alternative, keep, view_outputs, **light).then(**after)
        history_strip.select(go_to_step, keep, view_outputs, **light).then(**after)
        load_exp_inputs = [state, exploration_file]
        load_exp_btn.click(load_exploration, load_exp_inputs, view_outputs, **heavy).then(**after)
        look = [state, compare_mode, editor, selection]
        compare_mode.input(show, look, [ours_img, editor], **light)
        selection.change(show, look, [ours_img, editor], **light)  # box: drawn around strokes
        quiet = {"show_progress": "hidden", "show_progress_on": [status]}
        # a stroke in box mode: the box redrawn ("change": Gradio swallows the first "input")
        editor.change(outline, look, editor, **quiet)
        for image in (plain_img, ours_img):
            image.select(zoom, [state, zoom_factor], [zoom_img, zoom_at_point])

        def show_tool(name: str) -> list:
            """Only the chosen tool's controls, and its one-line help."""
            return [gr.update(visible=t == name) for t in tools] + [tool_help(name)]

        tool.change(show_tool, [tool], [*groups, help_md])

    demo.queue(max_size=32, default_concurrency_limit=concurrency)
    return demo


def launch(app: gr.Blocks, **kwargs) -> None:
    """Launch with the examples folder allowed (the files are served to the browser)."""
    kwargs.setdefault("allowed_paths", [str(EXAMPLES_DIR)])
    kwargs.setdefault("css", CSS)
    app.launch(**kwargs)


__all__ = ["create_app", "launch"]
