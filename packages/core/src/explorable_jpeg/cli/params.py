"""``explore --param name=value``: parsed and checked against the tool registry.

Nothing here knows a tool: each value is converted by its parameter's spec
(:class:`explorable_jpeg.explore.tools.Param`, the spec :meth:`Explorer.apply` checks
calls with), so the CLI and the engine accept and refuse the same values.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from explorable_jpeg.errors import CliError
from explorable_jpeg.explore.tools import Param, spec

#: values (and the empty one) that mean "let the tool choose", for parameters whose default
#: is None
_AUTO = ("", "none", "auto")


def split_items(items: Sequence[str]) -> list[tuple[str, str, str]]:
    """``(item, name, text)`` of each ``name=value`` item (``-`` in names read as ``_``).

    Refuses a malformed item and a non-finite number (also inside a comma list) whatever
    the tool, so these are caught before anything is read."""
    out = []
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise CliError(f"--param expects key=value, got {item!r}")
        for part in text.split(","):
            try:
                number = float(part)
            except ValueError:
                continue
            if not math.isfinite(number):
                raise CliError(f"--param {item}: {number} is not a finite number")
        out.append((item, key.strip().replace("-", "_"), text.strip()))
    return out


def parse_params(tool: str, items: Sequence[str]) -> dict[str, Any]:
    """The ``--param`` items of ``tool`` as typed values, each checked by its spec.

    Raises :class:`CliError` for an unknown name (the message lists the tool's
    parameters), a parameter that is not a plain value (an image, given by its own
    option), a value of the wrong kind and a number out of range."""
    accepted = spec(tool).accepted()
    plain = [name for name, p in sorted(accepted.items()) if p.kind != "object"]
    params: dict[str, Any] = {}
    for item, name, text in split_items(items):
        p = accepted.get(name)
        if p is None:
            takes = f"its parameters: {', '.join(plain)}" if plain else "it takes no --param"
            raise CliError(
                f"--param {item}: {tool} has no parameter {name!r}; {takes} "
                "(`explorable-jpeg tools` lists them)"
            )
        if p.kind == "object":
            raise CliError(f"--param {item}: {name} ({p.help}) is not a --param value")
        params[name] = convert(p, item, text)
    return params


def convert(p: Param, item: str, text: str) -> Any:
    """``text`` as a value of ``p`` (a comma list for ``floats``); raises :class:`CliError`."""
    if p.default is None and text.lower() in _AUTO:
        return None
    value: Any = tuple(s.strip() for s in text.split(",")) if p.kind == "floats" else text
    try:
        return p.convert(value)
    except ValueError as exc:
        raise CliError(f"--param {item}: {exc}") from None
