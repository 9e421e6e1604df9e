"""The tool registry as text: ``tools`` (plain or ``--markdown``, i.e. ``docs/tools.md``)
and the tool list at the end of ``explore --help``. All of it is read from
:data:`explorable_jpeg.explore.tools.SPECS`; nothing here names a tool."""

from __future__ import annotations

import argparse
from typing import Any

from explorable_jpeg.explore.tools import REACH, SPECS, Param, ToolSpec

#: the explore options that give a parameter which is an image, not a ``--param`` value
OBJECT_OPTIONS = {
    "source": "--source IMAGE",
    "scribble": "--scribble SCRIBBLE.png",
    "labels": "--scribble (its drawn pixels: alpha > 0)",
}


def cli_value(value: Any) -> str:
    """A default as it is written after ``--param name=``."""
    if value is None:
        return "auto"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (tuple, list)):
        return ",".join(cli_value(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def values_text(p: Param) -> str:
    """What ``p`` accepts, in words: ``a number in [0, 2]``, ``given by --source IMAGE``, …"""
    if p.kind == "object":
        return f"given by {OBJECT_OPTIONS[p.name]}" if p.name in OBJECT_OPTIONS else "API only"
    bounds = p.range_text()
    return p.kind_text() + (f" {bounds}" if bounds else "")


def _rows(tool: ToolSpec) -> list[tuple[str, str, str, str]]:
    """``(name, default, values, help)`` of each parameter of ``tool``, reach first."""
    rows = []
    if tool.reach is not None:
        rows.append(("reach", cli_value(tool.reach), values_text(REACH), REACH.help))
    for p in tool.params:
        default = "—" if p.kind == "object" else cli_value(p.default)
        rows.append((p.name, default, values_text(p), p.help))
    return rows


def _notes(tool: ToolSpec) -> list[str]:
    notes = []
    if tool.multi:
        notes.append("several results: `explore -o` names a directory")
    if tool.reach is not None:
        z_phase = f"{tool.z_iters} iterations" if tool.z_iters else "none (the field phase alone)"
        notes.append(f"default z phase: {z_phase}; `--iters` sets it")
    return notes


def tools_text() -> str:
    """The registry for a terminal (``explorable-jpeg tools``)."""
    lines = []
    for tool in SPECS.values():
        lines.append(f"{tool.name}: {tool.label} — {tool.help}")
        for note in _notes(tool):
            lines.append(f"    ({note})")
        for name, default, values, text in _rows(tool):
            shown = name if default == "—" else f"{name}={default}"
            lines.append(f"    {shown}  ({values}) {text}")
    return "\n".join(lines) + "\n"


def tools_markdown() -> str:
    """The registry as Markdown: ``docs/tools.md`` is this text."""
    out = [
        "# Exploration tools",
        "",
        "Generated from the tool registry (`packages/core/src/explorable_jpeg/explore/tools.py`)"
        " by `explorable-jpeg tools --markdown > docs/tools.md`; do not edit by hand.",
        "",
        "Give a parameter to the CLI as `explore --tool NAME --param name=value` (lists: "
        "`name=a,b`; `auto` where the default is auto), or to the API as "
        "`Explorer.apply(NAME, mask, name=value)`. `reach` is also `--reach`.",
        "",
    ]
    for tool in SPECS.values():
        out += [f"## `{tool.name}` — {tool.label}", "", tool.help[0].upper() + tool.help[1:] + "."]
        notes = _notes(tool)
        out += [""] + [f"- {n[0].upper() + n[1:]}." for n in notes] if notes else []
        out += ["", "| parameter | default | values | meaning |", "|---|---|---|---|"]
        for name, default, values, text in _rows(tool):
            cells = (f"`{name}`", f"`{default}`" if default != "—" else "—", values, text)
            out.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        out.append("")
    return "\n".join(out)


def explore_epilog() -> str:
    """The tools and their ``--param`` names with defaults, for ``explore --help``."""
    width = max(len(name) for name in SPECS)
    lines = ["tools and their parameters (`explorable-jpeg tools` explains them):"]
    for tool in SPECS.values():
        shown = [f"{n}={d}" for n, d, _, _ in _rows(tool) if d != "—"]
        lines.append(f"  {tool.name:<{width}}  {' '.join(shown) or '(no --param)'}")
    return "\n".join(lines)


def cmd_tools(args: argparse.Namespace) -> int:
    """Print the tool registry (explore/tools.py): names, defaults, accepted values, help."""
    print(tools_markdown() if args.markdown else tools_text(), end="")
    return 0
