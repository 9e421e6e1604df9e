"""``create_app()``: the Gradio Blocks of Explorable JPEG.

The layout follows the task: load → look (plain decode next to ours, zoom) → select and
scribble → tool → compare alternatives → save. All logic is in :mod:`.handlers` (plain
functions) and in the core library; this module only wires widgets to handlers.
"""

from __future__ import annotations

import os
from pathlib import Path

import gradio as gr

from explorable_jpeg.explore import TOOLS

from .handlers import (
    CONTROL_DEFAULTS,
    PERIOD_DIRECTIONS,
    TOOL_HELP,
    TOOL_LABELS,
    VIEW_OUTPUTS,
    cancel,
    load_exploration,
    make_apply,
    make_example_picker,
    make_load,
    make_load_example,
    make_refresh,
    redo,
    select_alternative,
    tool_choices,
    tool_delta,
    tool_reach,
    undo,
    use_alternative,
    zoom,
)

EXAMPLES_DIR = Path(__file__).parent / "examples"
CONCURRENCY_ENV = "EXPLORABLE_JPEG_APP_CONCURRENCY"
CACHE_LIFETIME_S = 3600  # Gradio deletes cached uploads and outputs older than this
IMAGE_FORMAT = "png"  # lossless: what is shown and offered re-encodes to the file
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
        selected = gr.State(None)
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
                    plain_img = gr.Image(
                        label="Plain JPEG decode (bin centres) — click to zoom",
                        type="numpy",
                        interactive=False,
                        format=IMAGE_FORMAT,
                        buttons=["fullscreen"],
                        elem_id="plain",
                    )
                    ours_img = gr.Image(
                        label="Explorable decode (current) — click to zoom",
                        type="numpy",
                        interactive=False,
                        format=IMAGE_FORMAT,
                        buttons=["fullscreen"],
                        elem_id="ours",
                    )

        with gr.Accordion("Zoom (click a point on either image)", open=False):
            zoom_factor = gr.Slider(2, 8, value=4, step=1, label="Magnification")
            zoom_img = gr.Image(
                label="Plain | ours",
                type="numpy",
                interactive=False,
                format=IMAGE_FORMAT,
                buttons=["fullscreen"],
                elem_id="zoom",
            )

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
                tool = gr.Dropdown(
                    tool_choices(tools), value=tools[0], label="Tool", elem_id="tool"
                )
                tool_help = gr.Markdown(TOOL_HELP.get(tools[0], ""), elem_id="tool-help")
                c = CONTROL_DEFAULTS
                controls = {
                    "delta": gr.Slider(
                        0.005,
                        0.3,
                        value=tool_delta(tools[0]) or 0.03,
                        step=0.005,
                        label="Strength δ",
                        info="How far the tool pushes the region (larger: a stronger edit).",
                    ),
                    "reach": gr.Slider(
                        0.0,
                        1.0,
                        value=tool_reach(tools[0]) or 0.0,
                        step=0.05,
                        label="Reach",
                        info="How far the tool may leave what the network would draw: 0 = only "
                        "the network's own images, 1 = anything this JPEG file allows.",
                    ),
                    "mode": gr.Dropdown(
                        ["colour", "brighten", "darken", "tv"], value=c["mode"], label="Mode"
                    ),
                    "hue": gr.Slider(-0.5, 0.5, value=c["hue"], step=0.01, label="Hue shift"),
                    "saturation": gr.Slider(
                        -1, 1, value=c["saturation"], step=0.05, label="Saturation shift"
                    ),
                    "value": gr.Slider(-1, 1, value=c["value"], step=0.05, label="Value shift"),
                    "source": gr.Image(
                        label="Source image", type="numpy", sources=["upload"], format=IMAGE_FORMAT
                    ),
                    "dy": gr.Slider(-64, 64, value=c["dy"], step=1, label="Move down (px)"),
                    "dx": gr.Slider(-64, 64, value=c["dx"], step=1, label="Move right (px)"),
                    "angle": gr.Slider(-180, 180, value=c["angle"], step=1, label="Rotate (°)"),
                    "period_direction": gr.Dropdown(
                        list(PERIOD_DIRECTIONS), value=c["period_direction"], label="Direction"
                    ),
                    "period": gr.Number(
                        value=c["period"], precision=0, label="Period in px (0 = auto)"
                    ),
                    "n": gr.Slider(1, 8, value=c["n"], step=1, label="N alternatives"),
                    "close": gr.Checkbox(value=c["close"], label="Stay close to the current"),
                    "magnitude": gr.Slider(
                        0, 1, value=c["magnitude"], step=0.05, label="Magnitude"
                    ),
                    "secondary": gr.Slider(
                        0, 1, value=c["secondary"], step=0.05, label="Secondary"
                    ),
                    "direction": gr.Slider(
                        0, 180, value=c["direction"], step=1, label="Direction (°)"
                    ),
                    "digit": gr.Dropdown(
                        ["all"] + [str(d) for d in range(10)], value=c["digit"], label="Digit"
                    ),
                }
                controls["budget"] = gr.Slider(
                    1, 120, value=c["budget"], step=1, label="Time budget (s)", elem_id="budget"
                )
                with gr.Row():
                    apply_btn = gr.Button("Apply", variant="primary", elem_id="apply-btn")
                    cancel_btn = gr.Button("Cancel", variant="stop", elem_id="cancel-btn")
                with gr.Row():
                    undo_btn = gr.Button("↶ Undo", elem_id="undo-btn")
                    redo_btn = gr.Button("↷ Redo", elem_id="redo-btn")

        # ---------------------------------------------------------------- alternatives
        gallery = gr.Gallery(
            label="Alternatives (click one, then 'Use this')",
            columns=4,
            height="auto",
            format=IMAGE_FORMAT,
            elem_id="gallery",
        )
        use_btn = gr.Button("Use this alternative", elem_id="use-btn")

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
        refresh = make_refresh(exports)
        after = {"fn": refresh, "inputs": [state, zoom_at_point, zoom_factor],
                 "outputs": [zoom_img, downloads], "show_progress": "hidden"}  # fmt: skip

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

        apply_inputs = [state, tool, editor, *(controls[k] for k in CONTROL_DEFAULTS)]
        apply_btn.click(make_apply(), apply_inputs, view_outputs, **heavy).then(**after)
        cancel_btn.click(cancel, [state], None, queue=False)
        undo_btn.click(undo, [state], view_outputs, **light).then(**after)
        redo_btn.click(redo, [state], view_outputs, **light).then(**after)
        gallery.select(select_alternative, None, selected)
        use_btn.click(use_alternative, [state, selected], view_outputs, **light).then(**after)
        load_exp_inputs = [state, exploration_file]
        load_exp_btn.click(load_exploration, load_exp_inputs, view_outputs, **heavy).then(**after)
        for image in (plain_img, ours_img):
            image.select(zoom, [state, zoom_factor], [zoom_img, zoom_at_point])
        toggled = [controls[k] for k in TOGGLED]
        tool.change(_controls_for_tool, [tool], [*toggled, tool_help])
        demo.load(_controls_for_tool, [tool], [*toggled, tool_help])

    demo.queue(max_size=32, default_concurrency_limit=concurrency)
    return demo


TOGGLED = tuple(k for k in CONTROL_DEFAULTS if k != "budget")
_TOOL_CONTROLS: dict[str, set[str]] = {
    "random": {"n", "close"},
    "scribble": {"mode", "delta"},
    "variance-up": {"delta"},
    "variance-down": {"delta"},
    "magnitude-up": {"delta"},
    "magnitude-down": {"delta"},
    "tv-down": set(),
    "hsv": {"hue", "saturation", "value"},
    "imprint": {"source", "dy", "dx", "angle"},
    "dictionary": {"source"},
    "periodicity": {"period_direction", "period"},
    "uniform": {"magnitude", "secondary", "direction"},
    "digit": {"digit"},
}


def _controls_for_tool(tool: str):
    """Show only the controls the chosen tool reads; δ and reach start at the tool's own
    defaults; the tool's one-line help."""
    shown = _TOOL_CONTROLS.get(tool, set(TOGGLED))
    updates = []
    for name in TOGGLED:
        value = {"delta": tool_delta, "reach": tool_reach}.get(name, lambda _t: None)(tool)
        extra = {"value": value} if value is not None else {}
        visible = name in shown or (name == "reach" and tool_reach(tool) is not None)
        updates.append(gr.update(visible=visible, **extra))
    return [*updates, TOOL_HELP.get(tool, "")]


def launch(app: gr.Blocks, **kwargs) -> None:
    """Launch with the examples folder allowed (the files are served to the browser)."""
    kwargs.setdefault("allowed_paths", [str(EXAMPLES_DIR)])
    app.launch(**kwargs)


__all__ = ["TOOL_LABELS", "create_app", "launch"]
