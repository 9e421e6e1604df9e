"""Editing: Apply (one tool of the registry on the selection) and Cancel.

The apply handler's parameters are generated from the registry: ``(state, tool, editor,
budget, <tool>__<parameter>…, selection, progress)``, each control's default the registry's (see
:mod:`~explorable_jpeg_app.controls`), so that Gradio and the served API name them and a
registry parameter cannot be dropped on the way.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import gradio as gr

from ..controls import BUDGET_DEFAULT_S, CONTROLS, tool_params
from ..gpu import gpu
from ..session import Cancelled, Session
from .errors import guarded, progress_fn, require
from .strokes import full_resolution_strokes
from .view import STATUS, outcome_text, view

#: tools that work on the whole image when nothing is selected
MASK_OPTIONAL = ("random", "uniform")
_P = inspect.Parameter
SIGNATURE = inspect.Signature(
    [_P(n, _P.POSITIONAL_OR_KEYWORD) for n in ("state", "tool", "editor")]
    + [_P("budget", _P.POSITIONAL_OR_KEYWORD, default=BUDGET_DEFAULT_S)]
    + [_P(c.key, _P.POSITIONAL_OR_KEYWORD, default=c.default) for c in CONTROLS]
    + [_P("selection", _P.POSITIONAL_OR_KEYWORD, default="brush")]
    + [_P("progress", _P.POSITIONAL_OR_KEYWORD, default=gr.Progress())]
)


@gpu(duration=120)
def _run(
    state: Session, tool: str, mask: Any, params: dict, progress: Any, budget: float, scribble: Any
) -> Session:
    return state.apply(tool, mask, params, progress, budget_s=budget, scribble=scribble)


def apply_values(
    state: Session | None,
    tool: str,
    editor: Any,
    budget: float,
    values: dict[str, Any],
    progress: Any = None,
    selection: str = "brush",
) -> tuple:
    """Run ``tool`` on the selected region (the strokes on the image) with the page's
    control ``values`` (by key); the view of the new session, the strokes kept (they stay
    the selection until the visitor clears them)."""
    state = require(state)
    if not tool:
        raise gr.Error("Choose a tool first.")
    mask, scribble = full_resolution_strokes(state, editor, selection or "brush")
    if mask is None and tool not in MASK_OPTIONAL:
        raise gr.Error("Select a region first: paint over it on the image.")
    params = tool_params(tool, values)
    budget = BUDGET_DEFAULT_S if budget is None else float(budget)
    try:
        new = _run(state, tool, mask, params, progress_fn(progress), budget, scribble)
    except Cancelled:
        gr.Info("Cancelled: the exploration is as it was.")
        shown = list(view(state, editor, selection))
        shown[STATUS] = "Cancelled: the exploration is as it was.  \n" + shown[STATUS]
        return tuple(shown)
    if new.outcome is not None and not new.outcome.changed and not new.alternatives:
        gr.Info(outcome_text(new.outcome).replace("**", ""))
    return view(new, editor, selection)


def make_apply() -> Callable:
    """The Apply handler, with the parameters of :data:`SIGNATURE`."""

    def apply_tool(*args: Any, **kwargs: Any) -> tuple:
        bound = SIGNATURE.bind(*args, **kwargs)
        bound.apply_defaults()
        a = bound.arguments
        values = {c.key: a[c.key] for c in CONTROLS}
        state, tool, editor, budget = (a[k] for k in ("state", "tool", "editor", "budget"))
        return apply_values(state, tool, editor, budget, values, a["progress"], a["selection"])

    apply_tool.__signature__ = SIGNATURE  # type: ignore[attr-defined]
    return guarded()(apply_tool)


def cancel(state: Session | None) -> None:
    """Ask the running optimisation to stop (runs outside the queue)."""
    if state is not None:
        state.cancel.cancel()
