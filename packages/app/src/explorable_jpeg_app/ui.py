"""``create_app()``: the Gradio Blocks of Explorable JPEG.

The layout follows the task: load → look (plain decode next to ours, with a compare view:
current, previous, plain, difference ×4; zoom) → select and scribble → tool (its controls
generated from the core's registry, :mod:`.controls`) → alternatives ("What could this
be?", click to use) → save. All logic is in :mod:`.handlers` (plain functions) and in the
core library; this module only wires widgets to handlers.
"""

from __future__ import annotations

import os
from pathlib import Path

import gradio as gr

from explorable_jpeg.explore import TOOLS

from .controls import (
    BUDGET_DEFAULT_S,
    CONTROLS,
    IMAGE_FORMAT,
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
    compare,
    load_exploration,
    make_apply,
    make_example_picker,
    make_load,
    make_load_example,
    make_refresh,
    redo,
    undo,
    zoom,
)

EXAMPLES_DIR = Path(__file__).parent / "examples"
CONCURRENCY_ENV = "EXPLORABLE_JPEG_APP_CONCURRENCY"
CACHE_LIFETIME_S = 3600  # Gradio deletes cached uploads and outputs older than this
SUBSAMPLINGS = ["4:2:0", "4:2:2", "4:4:4"]
UPLOAD_TYPES = [".jpg", ".jpeg", ".jfif", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif"]
BRUSH_COLOURS = ["#000000", "#ffffff", "#e53935", "#fdd835", "#43a047", "#1e88e5"]

INTRO = """# Explorable JPEG
A JPEG file does not hold one image: it holds every image that compresses to exactly that
file. Upload a **.jpg** (read as it is — its own coefficients and tables) or any other image
(compressed here at the quality you choose), then paint over a region and apply a tool.
Every image shown re-encodes with libjpeg to the **same file** — the badge checks it.
"""


def example_files() -> list[Path]:
    return sorted(EXAMPLES_DIR.glob("*.jpg"))


def example_thumbnails(files: list[Path]) -> list[tuple[str, str]]:
    """The examples gallery's value: (path, caption). Set on every page load, so that
    Gradio caches fresh copies even after its cache cleaning removed older ones."""
    return [(str(p), p.stem.replace("_", " ")) for p in files]


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
        gr.Markdown(INTRO)

        # ---------------------------------------------------------------- load
        with gr.Row():
            with gr.Column(scale=1, min_width=280):
                upload = gr.File(
                    label="JPEG or image to compress",
                    file_types=UPLOAD_TYPES,
                    type="filepath",
                    elem_id="upload",
                )
                quality = gr.Slider(
                    1, 95, value=15, step=1, label="Quality (only for non-JPEG uploads)"
                )
                subsampling = gr.Dropdown(SUBSAMPLINGS, value="4:2:0", label="Chroma sampling")
                load_btn = gr.Button("Load / re-compress", elem_id="load-btn")
                examples = example_files()
                example_gallery = gr.Gallery(
                    label="Examples (click one)",
                    columns=3,
                    height=140,
                    allow_preview=False,
                    format=IMAGE_FORMAT,
                    interactive=False,
                    elem_id="examples",
                    visible=bool(examples),
                )
            with gr.Column(scale=3):
                status = gr.Markdown("Upload a JPEG or click an example.", elem_id="status")
                badge = gr.HTML("", elem_id="badge")
                with gr.Row():
                    plain_img = shown_image(
                        "Plain JPEG decode (bin centres) — click to zoom", "plain"
                    )
                    with gr.Column():
                        compare_mode = gr.Radio(
                            list(COMPARE_VIEWS),
                            value="current",
                            label="Show",
                            info="current · before the last change · plain decode · "
                            "what the last change did (difference ×4)",
                            elem_id="compare",
                        )
                        ours_img = shown_image("Explorable decode — click to zoom", "ours")

        with gr.Accordion("Zoom (click a point on either image)", open=False):
            zoom_factor = gr.Slider(2, 8, value=4, step=1, label="Magnification")
            zoom_img = shown_image("Plain | ours", "zoom")

        # ---------------------------------------------------------------- select + tools
        with gr.Row():
            with gr.Column(scale=2):
                editor = gr.ImageEditor(
                    label="Select & scribble: paint over the region (the colour matters for "
                    "Scribble only)",
                    type="numpy",
                    image_mode="RGBA",
                    format=IMAGE_FORMAT,
                    sources=(),
                    transforms=(),
                    brush=gr.Brush(default_size=12, colors=BRUSH_COLOURS, default_color="#e53935"),
                    eraser=gr.Eraser(default_size=16),
                    elem_id="editor",
                )
            with gr.Column(scale=1, min_width=280):
                tool = gr.Dropdown(tool_choices(), value=tools[0], label="Tool", elem_id="tool")
                help_md = gr.Markdown(tool_help(tools[0]), elem_id="tool-help")
                groups, widgets = [], []
                for name in tools:  # each tool's own controls, from the registry
                    with gr.Column(visible=name == tools[0], elem_id=f"controls-{name}") as group:
                        widgets += [widget(c) for c in tool_controls(name)]
                    groups.append(group)
                assert len(widgets) == len(CONTROLS)
                budget = gr.Slider(
                    1, 120, value=BUDGET_DEFAULT_S, step=1, label="Time budget (s)",
                    elem_id="budget",
                )  # fmt: skip
                with gr.Row():
                    apply_btn = gr.Button("Apply", variant="primary", elem_id="apply-btn")
                    cancel_btn = gr.Button("Cancel", variant="stop", elem_id="cancel-btn")
                with gr.Row():
                    undo_btn = gr.Button("↶ Undo", elem_id="undo-btn")
                    redo_btn = gr.Button("↷ Redo", elem_id="redo-btn")

        # ---------------------------------------------------------------- alternatives
        gallery = gr.Gallery(
            label="What could this be? Alternatives, best first, with their scores — click "
            "one to use it",
            columns=5,
            height="auto",
            allow_preview=False,
            format=IMAGE_FORMAT,
            elem_id="gallery",
        )

        # ---------------------------------------------------------------- save / load
        with gr.Row():
            with gr.Column():
                downloads = gr.File(
                    label="Downloads: PNG (passes check) · z map · exploration file · JPEG",
                    file_count="multiple",
                    interactive=False,
                    elem_id="downloads",
                )
            with gr.Column():
                exploration_file = gr.File(
                    label="Load an exploration file", type="filepath", elem_id="exploration"
                )
                load_exp_btn = gr.Button("Load exploration", elem_id="load-exp-btn")

        # ---------------------------------------------------------------- wiring
        view_outputs = [state, plain_img, ours_img, editor, badge, status, gallery]
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
        after = {"fn": make_refresh(exports), "outputs": [zoom_img, downloads, ours_img],
                 "inputs": [state, zoom_at_point, zoom_factor, compare_mode],
                 "show_progress": "hidden"}  # fmt: skip

        load = make_load(decoder)
        load_inputs = [state, upload, quality, subsampling]
        upload.upload(load, load_inputs, [*view_outputs, upload], **heavy).then(**after)
        load_btn.click(load, load_inputs, [*view_outputs, upload], **heavy).then(**after)
        if examples:
            demo.load(lambda: example_thumbnails(examples), None, example_gallery)
            picked = gr.Textbox(visible=False, elem_id="example-name")
            pick = make_example_picker(examples)
            example_gallery.select(pick, None, picked, queue=False).then(
                make_load_example(decoder, examples),
                [state, picked, quality, subsampling],
                [*view_outputs, upload],
                api_name="load_example",
                **heavy,
            ).then(**after)

        apply_inputs = [state, tool, editor, budget, *widgets]
        apply_btn.click(make_apply(), apply_inputs, view_outputs, **heavy).then(**after)
        cancel_btn.click(cancel, [state], None, queue=False)
        undo_btn.click(undo, [state], view_outputs, **light).then(**after)
        redo_btn.click(redo, [state], view_outputs, **light).then(**after)
        gallery.select(choose_alternative, [state], view_outputs, **light).then(**after)
        load_exp_inputs = [state, exploration_file]
        load_exp_btn.click(load_exploration, load_exp_inputs, view_outputs, **heavy).then(**after)
        compare_mode.change(compare, [state, compare_mode], ours_img, show_progress="hidden")
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
    app.launch(**kwargs)


__all__ = ["create_app", "launch"]
