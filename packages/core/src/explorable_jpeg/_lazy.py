"""Public names loaded on first access (PEP 562), shared by the packages that export them.

Importing ``explorable_jpeg`` (or ``explorable_jpeg.explore``) then costs no torch: a file is
read and refused before any model or network code loads.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_names(
    namespace: dict[str, Any], names: dict[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for a package whose globals are ``namespace``: ``names``
    maps each public name to the module defining it; a loaded name is cached in
    ``namespace``."""
    package = namespace["__name__"]

    def getattr_(name: str) -> Any:
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def dir_() -> list[str]:
        return sorted(set(namespace) | set(names))

    return getattr_, dir_
