"""The tool registry: every exploration tool, its parameters, defaults, labels and help.

This is the one place a tool's parameters are declared. :meth:`Explorer.apply` checks and
completes a call against it; the CLI's ``--param`` parsing and the app's controls read it.
``reach`` (common to every optimising tool) is how far, as a fraction of the way to the
boundary of the consistent set, a tool may leave what the network would produce
(0: z only, the network's own images; 1: any image the file allows).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from explorable_jpeg.errors import ExplorationError, UnknownToolError

if TYPE_CHECKING:  # the objectives import torch: loaded when a tool runs, not with the registry
    from explorable_jpeg.explore.objectives.base import Objective


@dataclasses.dataclass(frozen=True)
class Param:
    """One tool parameter: ``kind`` is float, int, bool, str, floats (a list) or object
    (an image or box given by the caller, not a plain value)."""

    name: str
    default: Any
    kind: str = "float"
    help: str = ""
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    #: an advanced setting (how many outputs, not how far the tool goes): user interfaces
    #: fold it away and never show it as the tool's strength
    advanced: bool = False

    def check(self, tool: str, value: Any) -> Any:
        """``value`` converted by :meth:`convert`; raises :class:`ExplorationError`."""
        try:
            return self.convert(value)
        except ValueError as exc:
            raise ExplorationError(f"{tool}: {exc}") from None

    def convert(self, value: Any) -> Any:
        """``value`` converted to the parameter's kind; raises ``ValueError``.

        Three refusals, each with its own message: a value of the wrong kind, a number that
        is not finite (NaN, ±inf), a number outside ``[minimum, maximum]``."""
        if self.kind == "object" or value is None:
            return value
        try:
            if self.kind == "bool":
                if isinstance(value, str):
                    if value.lower() not in _TRUE + _FALSE:
                        raise ValueError(value)
                    return value.lower() in _TRUE
                return bool(value)
            if self.kind == "str":
                text = str(value)
                if self.choices and text not in self.choices:
                    raise ValueError(text)
                return text
            if self.kind == "floats":
                vals = value if isinstance(value, (list, tuple)) else (value,)
                nums = tuple(float(v) for v in vals)
            else:
                nums = (float(value),)
                if self.kind == "int" and math.isfinite(nums[0]) and nums[0] != int(nums[0]):
                    raise ValueError(value)
        except (TypeError, ValueError):
            raise ValueError(f"{self.name} must be {self.kind_text()}, got {value!r}") from None
        for v in nums:
            if not math.isfinite(v):
                raise ValueError(f"{self.name} must be a finite number, got {v}")
            if (self.minimum is not None and v < self.minimum) or (
                self.maximum is not None and v > self.maximum
            ):
                raise ValueError(f"{self.name} must be {self.range_text()}, got {v:g}")
        if self.kind == "floats":
            return nums
        return int(nums[0]) if self.kind == "int" else nums[0]

    def kind_text(self) -> str:
        """What a value must be, in words (``a number``, ``one of colour, brighten``, …)."""
        if self.kind == "str" and self.choices:
            return "one of " + ", ".join(self.choices)
        return _KIND_TEXT[self.kind]

    def range_text(self) -> str:
        """``in [lo, hi]``, ``≥ lo``, ``≤ hi`` or ``""`` (no bounds)."""
        lo, hi = self.minimum, self.maximum
        if lo is not None and hi is not None:
            return f"in [{lo:g}, {hi:g}]"
        if lo is not None:
            return f"≥ {lo:g}"
        return f"≤ {hi:g}" if hi is not None else ""


_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off")
_KIND_TEXT = {
    "float": "a number",
    "int": "an integer",
    "bool": "true or false",
    "str": "a string",
    "floats": "numbers (a comma-separated list)",
    "object": "an image or box given by the caller",
}


@dataclasses.dataclass(frozen=True)
class ToolSpec:
    """A tool: its name, label and help for people, parameters and default reach."""

    name: str
    label: str
    help: str
    params: tuple[Param, ...] = ()
    reach: float | None = 1.0  # None: the tool does not optimise (no reach)
    multi: bool = False  # returns several alternatives
    #: default iterations of the z phase (0: the field phase alone, for tools whose target
    #: the field reaches directly; the network's z then stays as it is)
    z_iters: int = 0
    #: the objective of the tool, made from its parameters (all but ``reach``), for tools
    #: that are one objective optimised in the selection: such a tool needs nothing beyond
    #: this entry. Tools that do more (several outputs, sources, digits) have a handler in
    #: :data:`.handlers.HANDLERS` instead.
    objective: Callable[..., Objective] | None = dataclasses.field(default=None, compare=False)

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)

    def defaults(self) -> dict[str, Any]:
        out = {p.name: p.default for p in self.params}
        if self.reach is not None:
            out["reach"] = self.reach
        return out

    def accepted(self) -> dict[str, Param]:
        """Every parameter a call may give, by name: the tool's and ``reach`` (if it has one)."""
        known = {p.name: p for p in self.params}
        if self.reach is not None:
            known["reach"] = dataclasses.replace(REACH, default=self.reach)
        return known

    def complete(self, params: dict[str, Any]) -> dict[str, Any]:
        """Defaults filled in and values checked; unknown names raise."""
        known = self.accepted()
        unknown = sorted(set(params) - set(known))
        if unknown:
            raise ExplorationError(
                f"{self.name}: unknown parameter(s) {', '.join(unknown)}; "
                f"accepted: {', '.join(sorted(known)) or 'none'}"
            )
        out = self.defaults()
        for k, v in params.items():
            out[k] = known[k].check(self.name, v)
        if out.get("reach") is None and self.reach is not None:
            out["reach"] = self.reach
        return out


REACH = Param(
    "reach", 1.0, help="how far the tool may leave what the network would produce: 0 = only "
    "the network's own images (z), 1 = any image the file allows", minimum=0.0, maximum=1.0,
)  # fmt: skip

_DELTA = "change of the local standard deviation on a 0–1 scale (0.03 ≈ 8 grey levels)"


def _delta(default: float) -> Param:
    return Param("delta", default, help=_DELTA, minimum=0.0, maximum=2.0)


def _variance(delta: float) -> Objective:
    from explorable_jpeg.explore.objectives.variance import VarianceObjective

    return VarianceObjective(delta)


def _magnitude(delta: float) -> Objective:
    from explorable_jpeg.explore.objectives.magnitude import MagnitudeObjective

    return MagnitudeObjective(delta)


def _tv(keep_variance: float) -> Objective:
    from explorable_jpeg.explore.objectives.tv import TVObjective

    return TVObjective(keep_variance)


_IMAGE = Param("source", None, "object", "the content to paste (an image)")
_BOX = Param("source_box", None, "object", "(y0, x0, y1, x1) of the current image to copy from")

SPECS: dict[str, ToolSpec] = {
    s.name: s
    for s in (
        ToolSpec("variance-up", "Variance +", "more local contrast (std of 7 px patches)",
                 (_delta(0.03),), reach=0.5, z_iters=0,
                 objective=lambda delta: _variance(abs(delta))),
        ToolSpec("variance-down", "Variance −", "less local contrast (smoother)",
                 (_delta(0.03),), reach=0.5, z_iters=0,
                 objective=lambda delta: _variance(-abs(delta))),
        ToolSpec("magnitude-up", "Signal magnitude +",
                 "patches stretched about their mean: stronger edges and texture",
                 (_delta(0.03),), reach=0.5, z_iters=100,
                 objective=lambda delta: _magnitude(abs(delta))),
        ToolSpec("magnitude-down", "Signal magnitude −", "patches flattened about their mean",
                 (_delta(0.03),), reach=0.5, z_iters=100,
                 objective=lambda delta: _magnitude(-abs(delta))),
        ToolSpec("tv-down", "Total variation −", "flatter, piecewise-smooth content",
                 (Param("keep_variance", 5.0, help="weight that keeps local variance",
                        minimum=0.0),), reach=0.5, z_iters=100, objective=_tv),
        ToolSpec("scribble", "Scribble", "paint colours, brighten, darken or flatten",
                 (Param("scribble", None, "object", "the painted image (colour mode)"),
                  Param("labels", None, "object", "int label map (see ScribbleObjective)"),
                  Param("mode", "colour", "str", "what the painted pixels ask for",
                        choices=("colour", "color", "brighten", "darken", "tv")),
                  Param("delta", 0.15, help="brighten/darken: relative change",
                        minimum=0.0, maximum=2.0))),
        ToolSpec("hsv", "Hue / saturation / value", "shift hue, saturation and value",
                 (Param("hue", 0.0, help="hue shift (1 = a full turn)", minimum=-1, maximum=1),
                  Param("saturation", 0.0, help="saturation shift", minimum=-1, maximum=1),
                  Param("value", 0.0, help="value (brightness) shift", minimum=-1, maximum=1))),
        ToolSpec("imprint", "Imprint", "paste another image or region into the selection",
                 (_IMAGE, _BOX,
                  Param("auto_shift", True, "bool", "choose the sub-block placement the file "
                        "fits best"),
                  Param("dy", 0.0, help="move down (px)"), Param("dx", 0.0, help="move right (px)"),
                  Param("dh", 0.0, help="taller by (px)"), Param("dw", 0.0, help="wider by (px)"),
                  Param("angle", 0.0, help="rotate (degrees, counter-clockwise)"))),
        ToolSpec("dictionary", "Desired patches", "make the selection's patches look like a "
                 "source's", (_IMAGE, _BOX, Param("ignore_variance", False, "bool",
                                                  "match patch shape, not contrast")),
                 reach=0.5, z_iters=100),
        ToolSpec("periodicity", "Periodicity", "make the selection repeat with a period",
                 (Param("directions", (0.0,), "floats", "one or two directions (degrees)"),
                  Param("periods", None, "floats", "periods in px (empty: found by "
                        "autocorrelation)", minimum=2.0)), reach=0.5, z_iters=100),
        ToolSpec("random", "Random alternatives", "N decodings, as different as the file "
                 "allows", (Param("n", 4, "int", "how many", minimum=2, maximum=16),
                            Param("close", False, "bool", "stay near the current image"),
                            Param("seed", 0, "int", "random seed", minimum=0)),
                 reach=0.0, multi=True, z_iters=0),
        ToolSpec("uniform", "Uniform z control", "set the network's z in the selection from "
                 "three sliders", (Param("magnitude", 0.5, help="primary gradient magnitude",
                                         minimum=0, maximum=1),
                                   Param("secondary", 0.0, help="secondary magnitude",
                                         minimum=0, maximum=1),
                                   Param("direction", 0.0, help="direction (degrees)")),
                 reach=None),
        ToolSpec("digit", "Digit classes", "for each digit, the closest decoding that shows "
                 "it (in a sans, a serif and a monospaced face); ranked by the digit classifier",
                 (Param("digits", tuple(float(d) for d in range(10)), "floats",
                        "which digits to try", minimum=0, maximum=9),
                  Param("styles", 3, "int", "alternatives per digit: the best over every "
                        "face, then the best in each other face", minimum=1, maximum=3,
                        advanced=True)),
                 multi=True),
    )
}  # fmt: skip

TOOLS: tuple[str, ...] = tuple(SPECS)


def spec(tool: str) -> ToolSpec:
    """The :class:`ToolSpec` of ``tool``; raises :class:`UnknownToolError`."""
    if tool not in SPECS:
        raise UnknownToolError(f"unknown tool {tool!r}; choose one of {', '.join(TOOLS)}")
    return SPECS[tool]
