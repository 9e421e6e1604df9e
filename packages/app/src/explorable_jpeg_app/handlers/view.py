"""What the page shows of a session: the view tuple every handler returns, the badge, the
status line (what the last tool did and how far it got) and the alternatives' captions."""

from __future__ import annotations

from typing import Any

import numpy as np

import explorable_jpeg as ej

from ..controls import tool_label
from ..display import to_display
from ..session import Outcome, Session
from .strokes import outline_box, strokes

NO_FILE = "Upload a JPEG (or any image to compress) first, or pick an example."
# The outputs of every handler that changes what the page shows, in this order.
VIEW_OUTPUTS = ("state", "plain", "ours", "editor", "badge", "status", "gallery", "history")
STATUS = VIEW_OUTPUTS.index("status")
#: below this relative fall of its loss, a tool "found little room" in the file
LITTLE_ROOM = 0.10


def badge_html(report: ej.CheckReport) -> str:
    """The consistency badge: libjpeg re-encodes the image with the file's tables."""
    pct = 100 * report.identical_fraction
    ok = report.consistent_where_reachable
    if report.consistent:
        colour, text = "#137333", f"✔ consistent — {pct:.4f}% identical coefficients"
    elif ok:
        colour = "#137333"
        text = (
            f"✔ consistent where reachable — every coefficient an image of this size can "
            f"reproduce is identical; {report.unreachable_blocks} blocks of the file cannot "
            "be reproduced by any image of its size (edge padding from a lossless crop, or "
            "samples outside 0–255 from another encoder)"
        )
    else:
        colour = "#b3261e"
        text = f"✘ not consistent — {pct:.4f}% identical, {report.violating_blocks} blocks differ"
    return (
        f'<div id="consistency-badge" data-consistent="{str(ok).lower()}" '
        f'style="padding:6px 10px;border-radius:6px;color:white;background:{colour};'
        f'font-weight:600">{text} <span style="font-weight:400">(re-encoded by libjpeg with '
        "the file's own tables and sampling)</span></div>"
    )


def editor_value(image: np.ndarray, keep: Any = None, selection: str | None = "brush") -> dict:
    """The sketchpad's value: ``image`` as background, with the strokes of the editor value
    ``keep`` (the selection stays until the visitor clears it; None: no strokes). With
    ``selection`` ``box`` the rectangle around the strokes — what is selected — is drawn on
    the background (:func:`.strokes.outline_box`)."""
    layers = []
    if isinstance(keep, dict):
        layers = [layer for layer in keep.get("layers") or [] if layer is not None]
        shape = image.shape[:2]
        layers = [layer for layer in layers if getattr(layer, "shape", (0, 0))[:2] == shape]
    background = image
    if selection == "box" and layers:
        mask, _ = strokes({"layers": layers}, image.shape[:2])
        if mask is not None:
            background = outline_box(image, mask)
    return {"background": background, "layers": layers, "composite": None if layers else image}


def room_left(outcome: Outcome) -> float | None:
    """Relative fall of the tool's loss, ``1 − loss_end / loss_start`` (None: no loss)."""
    if outcome.loss_start is None or outcome.loss_best is None or not outcome.loss_start > 0:
        return None
    return 1.0 - outcome.loss_best / outcome.loss_start


def outcome_text(outcome: Outcome | None) -> str:
    """Which tool ran, how far its loss got (start → end, iterations, time, reach) and
    whether the file left little room for it."""
    if outcome is None:
        return ""
    label = tool_label(outcome.tool)
    ran = ""
    fall = room_left(outcome)
    if outcome.iterations is not None and outcome.loss_start is not None:
        pct = "" if fall is None else f" ({-100 * fall:+.0f}%)"
        ran = (
            f": loss {outcome.loss_start:.4g} → {outcome.loss_best:.4g}{pct}"
            f" in {outcome.iterations} iterations, {outcome.seconds or 0.0:.1f} s"
        )
        if outcome.reach is not None:
            ran += f", reach {outcome.reach:.2f}"
    little = fall is not None and fall < LITTLE_ROOM
    room = (
        " This file leaves little room in this region for that tool: try a larger region, a "
        "larger strength, a larger reach or a longer time budget."
    )
    if outcome.changed:
        where = ""
        if outcome.change_inside is not None and outcome.change_outside is None:
            where = f" by {outcome.change_inside:.1f} grey levels on average over the image"
        elif outcome.change_inside is not None:
            where = f" by {outcome.change_inside:.1f} grey levels on average inside the selection"
            where += f" ({outcome.change_outside:.1f} outside)"
        return f"**{label}** changed the image{where}{ran}." + (room if little else "")
    return (
        f"**{label}** found no visible change here{ran}."
        + room
        + (" Nothing was added to the history.")
    )


def status_text(state: Session) -> str:
    lines = [f"**{state.name}** — {state.note}."]
    if state.outcome is not None:
        lines.append(outcome_text(state.outcome))
    if state.scale < 1:
        lines.append(
            f"Shown at {100 * state.scale:.0f}% (display only; the code is never resized)."
        )
    ex = state.explorer
    can = {True: "available", False: "—"}
    lines.append(f"Undo {can[ex.can_undo]} · redo {can[ex.can_redo]}.")
    return "  \n".join(lines)


def gallery(state: Session) -> list[tuple[np.ndarray, str]]:
    """The alternatives, best first, captioned with their rank, score and consistency."""
    out = []
    for rank, alt in enumerate(state.alternatives, start=1):
        ok = "✔" if state.check(alt.image).consistent_where_reachable else "✘"
        out.append((to_display(alt.image), f"#{rank} · {alt.caption} {ok}"))
    return out


def history(state: Session) -> list[tuple[np.ndarray, str]]:
    """The history strip: one thumbnail per step, oldest first, the current one marked."""
    return [
        (step.thumbnail, f"{k + 1} · {step.caption}" + (" ◀ now" if k == state.position else ""))
        for k, step in enumerate(state.steps)
    ]


def view(
    state: Session | None, editor: Any = None, selection: str | None = "brush"
) -> tuple[Any, ...]:
    """``(state, plain, ours, editor, badge, status, gallery, history)`` for the current
    session; the sketchpad keeps the strokes of ``editor`` (the value it had), if given,
    and shows the box around them in ``selection`` mode ``box``."""
    if state is None:
        return (None, None, None, None, "", NO_FILE, [], [])
    ours = to_display(state.image)
    return (
        state,
        to_display(state.plain),
        ours,
        editor_value(ours, editor, selection),
        badge_html(state.check()),
        status_text(state),
        gallery(state),
        history(state),
    )
