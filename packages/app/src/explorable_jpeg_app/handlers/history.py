"""Moving in the exploration: undo, redo, a step of the history strip, and using one of
the alternatives. Each keeps the strokes on the sketchpad (``editor``: its value; in
``selection`` mode ``box`` the box around them is drawn).

While an Apply of the same exploration runs these are refused with a friendly message
(:class:`~explorable_jpeg_app.session.Busy`): the Apply's result, computed from the state
before them, would otherwise overwrite them when it finishes.
"""

from __future__ import annotations

import gradio as gr

from .errors import guarded, require
from .view import view


@guarded()
def undo(state, editor=None, selection="brush"):
    new, done = require(state).undo()
    if not done:
        gr.Info("Nothing to undo.")
    return view(new, editor, selection)


@guarded()
def redo(state, editor=None, selection="brush"):
    new, done = require(state).redo()
    if not done:
        gr.Info("Nothing to redo.")
    return view(new, editor, selection)


@guarded()
def go_to_step(state, evt: gr.SelectData, editor=None, selection="brush"):
    """History strip click → that step's image (undos or redos, one click)."""
    index = evt.index[0] if isinstance(evt.index, list | tuple) else evt.index
    return view(require(state).go_to(int(index)), editor, selection)


def select_alternative(evt: gr.SelectData) -> int:
    """Gallery click → the clicked alternative's index."""
    return int(evt.index)


@guarded()
def use_alternative(state, index, editor=None, selection="brush"):
    """Make alternative ``index`` the current image (one undo step)."""
    state = require(state)
    if index is None or not state.alternatives:
        raise gr.Error("Make alternatives first, then click one in the gallery.")
    return view(state.use_alternative(int(index)), editor, selection)


def choose_alternative(state, evt: gr.SelectData, editor=None, selection="brush"):
    """Gallery click → that alternative used at once (click to use)."""
    return use_alternative(state, select_alternative(evt), editor, selection)
