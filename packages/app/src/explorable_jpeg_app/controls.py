"""The page's tool controls, generated from the core's tool registry.

Every tool of :data:`explorable_jpeg.explore.SPECS` gets one control per parameter (and
one for its ``reach``), with the registry's default, help and range; the page shows the
chosen tool's controls only. Nothing here names a tool: a tool added to the registry gets
its controls without an edit. The exceptions are the parameters the page supplies itself
(:data:`PAGE_SUPPLIED`).

A control's key is ``<tool>__<parameter>`` with ``-`` → ``_`` (a Python name, so that it is
also the parameter's name in the apply handler and in the served API).
"""

from __future__ import annotations

import dataclasses
import math
import re
from typing import Any

import gradio as gr
import numpy as np

from explorable_jpeg.explore import SPECS, Param, ToolSpec
from explorable_jpeg.explore.loop import DEFAULT_BUDGET_S
from explorable_jpeg.explore.tools import REACH

#: parameters the page fills in itself, with where their value comes from
PAGE_SUPPLIED: dict[str, str] = {
    "scribble": "the strokes painted on the image (their colours)",
    "labels": "the strokes and the chosen mode",
    "seed": "a new draw at every Apply (the session counts them)",
}
IMAGE_FORMAT = "png"  # lossless: what is shown re-encodes to the file
BOX_HINT = "y0, x0, y1, x1 in pixels of the current image (empty: none)"


@dataclasses.dataclass(frozen=True)
class Control:
    """One registry parameter of one tool, as a control of the page."""

    tool: str
    param: Param

    @property
    def key(self) -> str:
        return f"{self.tool}__{self.param.name}".replace("-", "_")

    @property
    def label(self) -> str:
        given = getattr(self.param, "label", "")  # the registry may name it for people
        return str(given or self.param.name.replace("_", " ").capitalize())

    @property
    def default(self) -> Any:
        """What the control shows at first: the registry's default, in the widget's terms."""
        p, value = self.param, self.param.default
        if p.kind == "floats":
            if _choices(p):
                return [_fmt(v) for v in value or ()]
            return ", ".join(_fmt(v) for v in value or ())
        if p.kind == "object":
            return None
        return value

    def value(self, shown: Any) -> Any:
        """The widget's value → the registry parameter's value (None: the default)."""
        p = self.param
        if shown is None or (isinstance(shown, str) and not shown.strip()):
            return None
        if p.kind == "floats":
            items = shown if isinstance(shown, list | tuple) else _numbers(str(shown))
            return tuple(float(v) for v in items) or None
        if p.kind == "object":
            if p.name.endswith("_box"):
                box = tuple(int(round(v)) for v in _numbers(str(shown)))
                if len(box) != 4:
                    raise gr.Error(f"{self.label}: give four numbers, {BOX_HINT}.")
                return box
            return np.asarray(shown)
        if p.kind == "int":
            return int(round(float(shown)))
        if p.kind == "float":
            return float(shown)
        return shown


def _numbers(text: str) -> list[float]:
    try:
        return [float(v) for v in re.split(r"[,\s;]+", text.strip()) if v]
    except ValueError:
        raise gr.Error(f"Not a list of numbers: {text!r}.") from None


def _fmt(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else str(v)


def _choices(p: Param) -> list[str]:
    """A bounded list of integers (digits 0–9): offered as tick boxes."""
    lo, hi = p.minimum, p.maximum
    if p.kind != "floats" or lo is None or hi is None or hi - lo > 16:
        return []
    if not all(float(v).is_integer() for v in (lo, hi, *(p.default or ()))):
        return []
    return [str(v) for v in range(int(lo), int(hi) + 1)]


def tool_controls(tool: str | ToolSpec) -> tuple[Control, ...]:
    """The controls of ``tool``: its registry parameters (less :data:`PAGE_SUPPLIED`) and
    its reach, with the tool's own default."""
    spec = SPECS[tool] if isinstance(tool, str) else tool
    out = [Control(spec.name, p) for p in spec.params if p.name not in PAGE_SUPPLIED]
    if spec.reach is not None:
        out.append(Control(spec.name, dataclasses.replace(REACH, default=spec.reach)))
    return tuple(out)


#: every control of the page, in the order the apply handler takes them
CONTROLS: tuple[Control, ...] = tuple(c for tool in SPECS for c in tool_controls(tool))
BY_KEY: dict[str, Control] = {c.key: c for c in CONTROLS}
BUDGET_DEFAULT_S = float(DEFAULT_BUDGET_S)  # the engine's own time budget


def strength(tool: str | ToolSpec) -> Control | None:
    """The tool's "strength": the control shown above its folded advanced parameters — its
    first bounded number (a δ, a shift, a count) that is not an advanced setting, else its
    reach (None: neither)."""
    controls = tool_controls(tool)
    for c in controls:
        p = c.param
        bounded = p.minimum is not None and p.maximum is not None
        if p.name != "reach" and p.kind in ("float", "int") and bounded and not p.advanced:
            return c
    return next((c for c in controls if c.param.name == "reach"), None)


def control_defaults() -> dict[str, Any]:
    """``key → default`` of every control (what the page shows before any change)."""
    return {c.key: c.default for c in CONTROLS}


def tool_params(tool: str, values: dict[str, Any]) -> dict[str, Any]:
    """The page's control values (by key) → the registry parameters of ``tool`` (values
    left at None are not passed: the registry's default applies)."""
    out = {}
    for c in tool_controls(tool):
        value = c.value(values.get(c.key, c.default))
        if value is not None:
            out[c.param.name] = value
    return out


def tool_choices() -> list[tuple[str, str]]:
    """``(label, name)`` of every tool for the tool menu."""
    return [(s.label, s.name) for s in SPECS.values()]


def tool_help(tool: str) -> str:
    spec = SPECS.get(tool)
    return "" if spec is None else f"**{spec.label}**: {spec.help}."


def tool_label(tool: str) -> str:
    spec = SPECS.get(tool)
    return tool if spec is None else spec.label


def _step(lo: float, hi: float) -> float:
    return 10.0 ** math.floor(math.log10((hi - lo) / 100)) if hi > lo else 1.0


def widget(c: Control, prefix: str = "") -> gr.components.Component:
    """The Gradio component of control ``c`` (built inside the page's Blocks); ``prefix``
    goes before its label (e.g. "Strength — ")."""
    p = c.param
    kw: dict[str, Any] = {
        "label": prefix + c.label,
        "info": p.help or None,
        "elem_id": f"control-{c.key}",
    }
    bounded = p.minimum is not None and p.maximum is not None
    if p.kind == "bool":
        return gr.Checkbox(value=c.default, **kw)
    if p.kind == "str":
        if p.choices:
            return gr.Dropdown(list(p.choices), value=c.default, **kw)
        return gr.Textbox(value=c.default, **kw)
    if p.kind in ("float", "int") and bounded:
        assert p.minimum is not None and p.maximum is not None
        step = 1.0 if p.kind == "int" else _step(p.minimum, p.maximum)
        return gr.Slider(p.minimum, p.maximum, value=c.default, step=step, **kw)
    if p.kind in ("float", "int"):
        return gr.Number(value=c.default, precision=0 if p.kind == "int" else None, **kw)
    if p.kind == "floats":
        choices = _choices(p)
        if choices:
            return gr.CheckboxGroup(choices, value=c.default, **kw)
        return gr.Textbox(value=c.default, placeholder="numbers, comma-separated", **kw)
    if p.name.endswith("_box"):
        return gr.Textbox(value=None, placeholder=BOX_HINT, **kw)
    label = f"{c.label} — {p.help}" if p.help else c.label  # gr.Image has no info line
    return gr.Image(
        type="numpy", sources=["upload"], format=IMAGE_FORMAT, label=label, elem_id=kw["elem_id"]
    )
