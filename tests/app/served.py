"""Helpers to serve the app on loopback and drive it with ``gradio_client`` (the served
tests and ``nox -s soak``)."""

from __future__ import annotations

import socket
from pathlib import Path

import numpy as np
from PIL import Image

# positions in the outputs of the view endpoints as gradio_client returns them: VIEW_OUTPUTS
# without the state (not an API output) — plain, ours, editor, badge, status, gallery,
# history — then, for the load endpoints, the upload box
PLAIN, OURS, EDITOR, BADGE, STATUS, GALLERY, HISTORY = range(7)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def read(path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def stroke_editor(background_path: str, folder: Path, box, tag: str = "") -> dict:
    """An ImageEditor value (for gradio_client) with one opaque red rectangle."""
    from gradio_client import handle_file

    h, w = read(background_path).shape[:2]
    layer = np.zeros((h, w, 4), np.uint8)
    y0, y1, x0, x1 = box
    layer[y0:y1, x0:x1] = (255, 0, 0, 255)
    path = folder / f"layer{tag}.png"
    Image.fromarray(layer).save(path)
    return {
        "background": handle_file(background_path),
        "layers": [handle_file(str(path))],
        "composite": None,
    }


def tool_inputs(tool: str, editor: dict, budget: float = 2.0, **params) -> dict:
    """Keyword arguments of ``/apply_tool``: ``tool``'s parameters by registry name (those
    the tool does not take are left out; the others keep the page's defaults)."""
    from explorable_jpeg_app.controls import tool_controls

    keys = {c.param.name: c.key for c in tool_controls(tool)}
    chosen = {keys[k]: v for k, v in params.items() if k in keys}
    return {"tool": tool, "editor": editor, "budget": budget, **chosen}
