"""Moving in the exploration: undo, redo, and using one of the alternatives.

While an Apply of the same exploration runs these are refused with a friendly message
(:class:`~explorable_jpeg_app.session.Busy`): the Apply's result, computed from the state
before them, would otherwise overwrite them when it finishes.
"""

from __future__ import annotations

import gradio as gr

from .errors import guarded, require
from .view import view


@guarded()
def undo(state):
    new, done = require(state).undo()
    if not done:
        gr.Info("Nothing to undo.")
    return view(new)


@guarded()
def redo(state):
    new, done = require(state).redo()
    if not done:
        gr.Info("Nothing to redo.")
    return view(new)


def select_alternative(evt: gr.SelectData) -> int:
    """Gallery click → the clicked alternative's index."""
    return int(evt.index)


@guarded()
def use_alternative(state, index):
    """Make alternative ``index`` the current image (one undo step)."""
    state = require(state)
    if index is None or not state.alternatives:
        raise gr.Error("Make alternatives first, then click one in the gallery.")
    return view(state.use_alternative(int(index)))


def choose_alternative(state, evt: gr.SelectData):
    """Gallery click → that alternative used at once (click to use)."""
    return use_alternative(state, select_alternative(evt))
