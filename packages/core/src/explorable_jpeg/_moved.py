"""Old module paths (before the core was split into subpackages), kept importable.

``import explorable_jpeg.jpeg_io`` still works and gives :mod:`explorable_jpeg.jpeg.io`
itself (the same module object), with a :class:`DeprecationWarning` naming the new path. The
finder is installed by ``explorable_jpeg/__init__.py``; it answers only for the names in
:data:`MOVED` (and their submodules) and leaves every other import to Python.

Not covered: ``explorable_jpeg.check`` as a module (the name is the :func:`check` function;
import ``explorable_jpeg.consistency.check``). ``explorable_jpeg.consistency`` and
``explorable_jpeg.snap`` are packages now; their old names resolve through their
``__getattr__``.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import warnings
from collections.abc import Sequence
from types import ModuleType

MOVED: dict[str, str] = {
    "explorable_jpeg.code": "explorable_jpeg.jpeg.code",
    "explorable_jpeg.jpeg_io": "explorable_jpeg.jpeg.io",
    "explorable_jpeg.markers": "explorable_jpeg.jpeg.markers",
    "explorable_jpeg.tables": "explorable_jpeg.jpeg.tables",
    "explorable_jpeg.encoder": "explorable_jpeg.jpeg.libjpeg.forward",
    "explorable_jpeg.libjpeg_decoder": "explorable_jpeg.jpeg.libjpeg.inverse",
    "explorable_jpeg.dct": "explorable_jpeg.ops.dct",
    "explorable_jpeg.color": "explorable_jpeg.ops.color",
    "explorable_jpeg.sampling": "explorable_jpeg.ops.sampling",
    "explorable_jpeg.symmetry": "explorable_jpeg.ops.symmetry",
    "explorable_jpeg.padding": "explorable_jpeg.consistency.reachability",
    "explorable_jpeg.greedy": "explorable_jpeg.snap.greedy",
    "explorable_jpeg.mcu_descent": "explorable_jpeg.snap.descent",
    "explorable_jpeg.digits": "explorable_jpeg.models.digit",
    "explorable_jpeg.decoder": "explorable_jpeg.decoding.decoder",
    "explorable_jpeg.plain": "explorable_jpeg.decoding.plain",
    "explorable_jpeg.zfile": "explorable_jpeg.decoding.zfile",
    "explorable_jpeg.explorer": "explorable_jpeg.explore",
    "explorable_jpeg.objectives.uniform": "explorable_jpeg.explore.zcontrols",
    "explorable_jpeg.objectives": "explorable_jpeg.explore.objectives",
}


def new_name(fullname: str) -> str | None:
    """The module that ``fullname`` (an old path) now is, or None if it did not move."""
    if fullname in MOVED:
        return MOVED[fullname]
    head, _, tail = fullname.rpartition(".")
    parent = new_name(head) if head else None
    return f"{parent}.{tail}" if parent else None


class _Alias(importlib.abc.Loader):
    """Loads an old path as the module at its new path (one object, two names)."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.module: ModuleType | None = None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        warnings.warn(
            f"{spec.name} moved to {self.target}; import it from there",
            DeprecationWarning,
            stacklevel=2,
        )
        self.module = importlib.import_module(self.target)
        return self.module

    def exec_module(self, module: ModuleType) -> None:
        # module_from_spec gave the target our spec; give it back its own.
        module.__spec__ = importlib.util.find_spec(self.target)


class MovedFinder(importlib.abc.MetaPathFinder):
    """A meta-path finder for the old paths in :data:`MOVED`."""

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None = None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if not fullname.startswith("explorable_jpeg."):
            return None
        new = new_name(fullname)
        if new is None:
            return None
        return importlib.machinery.ModuleSpec(fullname, _Alias(new))


def install() -> None:
    """Put :class:`MovedFinder` on ``sys.meta_path`` (once)."""
    if not any(isinstance(f, MovedFinder) for f in sys.meta_path):
        sys.meta_path.append(MovedFinder())


def forward(package: str, homes: tuple[str, ...], name: str) -> object:
    """Module ``__getattr__`` body for a package that replaced a flat module of its name:
    find ``name`` in ``homes`` (the modules that hold the old module's contents), warn, and
    return it."""
    for home in homes:
        module = importlib.import_module(home)
        if hasattr(module, name):
            warnings.warn(
                f"{package}.{name} moved to {home}.{name}", DeprecationWarning, stacklevel=3
            )
            return getattr(module, name)
    raise AttributeError(f"module {package!r} has no attribute {name!r}")
