"""Event handlers of the app: plain functions that take and return values.

Each handler receives the user's :class:`~explorable_jpeg_app.session.Session` (or None)
from ``gr.State`` and returns the new one with what the page shows (:func:`.view.view`);
a failure keeps every output and says why (:mod:`.errors`). One module per part of the
task: :mod:`.upload` (load), :mod:`.look` (compare views, zoom), :mod:`.strokes` (the
selection), :mod:`.edit` (Apply, Cancel), :mod:`.history` (undo, redo, alternatives),
:mod:`.downloads` (files, the refresh after each change).
"""

from __future__ import annotations

from .downloads import export, load_exploration, make_refresh
from .edit import MASK_OPTIONAL, SIGNATURE, apply_values, cancel, make_apply
from .errors import BUSY, guarded, user_message
from .history import (
    choose_alternative,
    go_to_step,
    redo,
    select_alternative,
    undo,
    use_alternative,
)
from .look import clear_selection, compare, outline, show, zoom, zoom_at, zoom_point
from .strokes import full_resolution_strokes, strokes
from .upload import make_example_picker, make_load, make_load_example
from .view import (
    NO_FILE,
    STATUS,
    VIEW_OUTPUTS,
    badge_html,
    editor_value,
    outcome_text,
    status_text,
    view,
)

__all__ = [
    "BUSY",
    "MASK_OPTIONAL",
    "NO_FILE",
    "SIGNATURE",
    "STATUS",
    "VIEW_OUTPUTS",
    "apply_values",
    "badge_html",
    "cancel",
    "choose_alternative",
    "clear_selection",
    "compare",
    "editor_value",
    "export",
    "full_resolution_strokes",
    "go_to_step",
    "guarded",
    "load_exploration",
    "make_apply",
    "outline",
    "make_example_picker",
    "make_load",
    "make_load_example",
    "make_refresh",
    "outcome_text",
    "redo",
    "select_alternative",
    "show",
    "status_text",
    "strokes",
    "undo",
    "use_alternative",
    "user_message",
    "view",
    "zoom",
    "zoom_at",
    "zoom_point",
]
