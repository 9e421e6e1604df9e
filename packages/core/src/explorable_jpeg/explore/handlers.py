"""Tool handlers: turn a registry call into an objective and run the explorer on it.

Each handler is ``handler(explorer, mask, run, **params) -> ToolResult`` with ``params``
already completed and checked against :data:`.tools.SPECS`; ``run`` holds the explorer's
run options (budget, iterations, progress, cancellation, …). ``reach`` goes to
:meth:`Explorer.optimize`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from explorable_jpeg.explore.loop import DEFAULT_BUDGET_S, Progress
from explorable_jpeg.explore.objectives import (
    DictionaryObjective,
    DigitObjective,
    HSVObjective,
    ImprintObjective,
    Objective,
    PeriodicityObjective,
    RandomObjective,
    ScribbleObjective,
)
from explorable_jpeg.explore.objectives.base import ExplorationError, RegionError
from explorable_jpeg.explore.objectives.scribble import MODES
from explorable_jpeg.explore.result import ExplorerLike as Explorer
from explorable_jpeg.explore.result import ToolResult
from explorable_jpeg.explore.selection import as_mask, bbox, dilate, rect_mask, selected_blocks
from explorable_jpeg.explore.state import State
from explorable_jpeg.explore.zcontrols import controls_from_z, structure_tensor_z

Handler = Callable[..., ToolResult]


def _result(ex: Explorer, **kw: Any) -> ToolResult:
    return ToolResult(ex.image, **kw)


def _simple(
    ex: Explorer,
    objective: Objective,
    mask: Any,
    run: dict,
    reach: float,
    info: dict[str, Any] | None = None,
) -> ToolResult:
    res = ex.optimize(objective, mask, reach=reach, **run)
    return _result(ex, info=info or {}, result=res)


def from_objective(make: Callable[..., Objective]) -> Handler:
    """The handler of a registry tool that is one objective (``ToolSpec.objective``):
    ``make(**params)`` optimised in the selection with the tool's reach."""

    def handler(ex: Explorer, mask: Any, run: dict, reach: float, **params: Any) -> ToolResult:
        return _simple(ex, make(**params), mask, run, reach)

    return handler


def scribble(
    ex: Explorer, mask: Any, run: dict, scribble: Any, labels: Any, mode: str, delta: float,
    reach: float,
) -> ToolResult:  # fmt: skip
    if labels is None:
        labels = as_mask(mask, ex.shape).astype(np.int64) * MODES[mode]
    labels = np.asarray(labels)
    if labels.shape != ex.shape:
        raise RegionError(f"scribble labels are {labels.shape}, the image is {ex.shape}")
    if not (labels > 0).any():
        raise RegionError("the scribble is empty")
    if scribble is not None and np.asarray(scribble).shape[:2] != ex.shape:
        raise ExplorationError("the scribble image must have the size of the JPEG")
    if MODES[mode] == MODES["colour"] and scribble is None and (labels == 1).any():
        raise ExplorationError("colour scribbles need a scribble image")
    # optimise on the blocks the scribble touches (and the mask, when one is given)
    region = labels > 0
    if mask is not None:
        region = region | as_mask(mask, ex.shape)
    return _simple(ex, ScribbleObjective(labels, scribble, float(delta)), region, run, reach)


def hsv(
    ex: Explorer, mask: Any, run: dict, hue: float, saturation: float, value: float, reach: float
) -> ToolResult:
    return _simple(ex, HSVObjective(hue, saturation, value), mask, run, reach)


def _source(ex: Explorer, source: Any, source_box: Any, default_mask: Any) -> np.ndarray:
    if source is not None:
        return np.asarray(source)
    if source_box is None:
        y0, x0, y1, x1 = bbox(as_mask(default_mask, ex.shape))
    else:
        y0, x0, y1, x1 = (int(v) for v in source_box)
        y0, x0, y1, x1 = bbox(rect_mask(ex.shape, y0, x0, y1, x1))
    return ex.image[y0:y1, x0:x1]


def imprint(
    ex: Explorer, mask: Any, run: dict, source: Any, source_box: Any, auto_shift: bool,
    dy: float, dx: float, dh: float, dw: float, angle: float, reach: float,
) -> ToolResult:  # fmt: skip
    src = _source(ex, source, source_box, mask)
    obj = ImprintObjective(src, auto_shift, dy, dx, dh, dw, angle)
    # optimise where the moved / resized / rotated imprint can land, not only the box
    pix = as_mask(mask, ex.shape)
    y0, x0, y1, x1 = bbox(pix)
    extent = abs(dy) + abs(dx) + (abs(dh) + abs(dw)) / 2
    extent += 4 * bool(auto_shift) + max(y1 - y0, x1 - x0) * abs(math.sin(math.radians(angle)))
    region = dilate(torch.as_tensor(pix), math.ceil(extent)).numpy()
    obj.box = (y0, x0, y1, x1)
    out = _simple(ex, obj, region, run, reach)
    out.info["shift"] = obj.chosen_shift
    return out


def dictionary(
    ex: Explorer, mask: Any, run: dict, source: Any, source_box: Any, ignore_variance: bool,
    reach: float,
) -> ToolResult:  # fmt: skip
    if source is None and source_box is None:
        raise ExplorationError("dictionary needs a source image or a source_box")
    src = _source(ex, source, source_box, mask)
    return _simple(ex, DictionaryObjective(src, ignore_variance), mask, run, reach)


def periodicity(
    ex: Explorer, mask: Any, run: dict, directions: tuple, periods: tuple | None, reach: float
) -> ToolResult:
    obj = PeriodicityObjective(directions, periods)
    out = _simple(ex, obj, mask, run, reach)
    out.info["periods"] = obj.periods
    return out


def random(
    ex: Explorer, mask: Any, run: dict, n: int, close: bool, seed: int, reach: float
) -> ToolResult:
    obj = RandomObjective(n, close)
    res = ex.optimize(obj, mask, commit=False, seed=seed, reach=reach, **run)
    alts = {}
    for k, state in enumerate(res.states, start=1):
        name = f"random {k}"
        ex.alternatives[name] = state
        alts[name] = ex.render(state)
    ex.set_state(res.states[0])
    return _result(ex, alternatives=alts, result=res)


def uniform(
    ex: Explorer, mask: Any, run: dict, magnitude: float, secondary: float, direction: float
) -> ToolResult:
    blocks = selected_blocks(mask, ex.code)
    vec = structure_tensor_z(magnitude, secondary, direction)[:, None, None]
    z = torch.where(blocks, vec.expand_as(ex.z), ex.z)
    ex.set_z(z)
    return _result(ex, info={"sliders": controls_from_z(z, blocks)})


def digit(
    ex: Explorer, mask: Any, run: dict, digits: tuple, styles: int, reach: float
) -> ToolResult:
    """For each digit: the best candidate over every face (``"digit d"``) and, up to
    ``styles`` alternatives per digit, the best in each other face (``"digit d serif"``);
    all ranked by the classifier's probability of their digit."""
    from explorable_jpeg.explore.glyphs import FACES, DigitTargetObjective

    progress = run.pop("progress", None)
    budget = float(run.pop("budget_s", DEFAULT_BUDGET_S))
    wanted = [int(d) for d in digits]
    n_styles = int(styles) if reach > 0 else 1
    n_runs = len(wanted) * n_styles
    alts, scores = {}, {}
    states: dict[str, State] = {}
    done = 0
    for d in wanted:
        runs: list[tuple[str, Objective]] = []
        main: Objective = DigitTargetObjective(d) if reach > 0 else DigitObjective(d, ex.classifier)
        runs.append((f"digit {d}", main))  # stored under one name (as random's "random k")
        states.update(_each(runs, ex, mask, run, budget / n_runs, reach, progress, done, n_runs))
        done += 1
        if n_styles > 1 and isinstance(main, DigitTargetObjective) and main.choice is not None:
            others = [f for f in FACES if f != main.choice.face][: n_styles - 1]
            extra: list[tuple[str, Objective]] = [  # chosen by the main objective already
                (f"digit {d} {f}", DigitTargetObjective(d, placement=main.best_by_face[f]))
                for f in others
            ]
            share = budget / n_runs
            states.update(_each(extra, ex, mask, run, share, reach, progress, done, n_runs))
            done += len(others)
    for name, st in states.items():
        alts[name] = ex.render(st)
        scores[name] = float(ex.digit_probabilities(alts[name], mask)[int(name.split()[1])])
        ex.alternatives[name] = st
    ranked = sorted(scores, key=scores.__getitem__, reverse=True)
    ex.set_state(states[ranked[0]])
    return _result(
        ex,
        alternatives={k: alts[k] for k in ranked},
        scores={k: scores[k] for k in ranked},
        info={"ranking": ranked},
    )


def _each(
    runs: list[tuple[str, Objective]],
    ex: Explorer,
    mask: Any,
    run: dict,
    budget: float,
    reach: float,
    progress: Progress | None,
    done: int,
    total: int,
) -> list[tuple[str, State]]:
    """Optimise each ``(name, objective)`` from the current state (not committed)."""
    out = []
    for k, (name, obj) in enumerate(runs):
        sub = None
        if progress is not None:

            def sub(f: float, msg: str, i: int = done + k, name: str = name) -> None:
                progress((i + f) / total, f"{name}: {msg}")

        res = ex.optimize(
            obj, mask, commit=False, progress=sub, budget_s=budget, reach=reach, **run
        )
        out.append((name, res.states[0]))
    return out


HANDLERS: dict[str, Handler] = {
    "scribble": scribble,
    "hsv": hsv,
    "imprint": imprint,
    "dictionary": dictionary,
    "periodicity": periodicity,
    "random": random,
    "uniform": uniform,
    "digit": digit,
}
