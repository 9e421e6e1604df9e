"""``spaces.GPU`` on a Hugging Face GPU Space, a no-op everywhere else (guarded import)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

F = TypeVar("F", bound=Callable)

try:  # pragma: no cover - only on Hugging Face Spaces
    import spaces  # type: ignore[import-not-found]
except ImportError:  # the usual case: local, CI, CPU Space
    spaces = None


def gpu(duration: int = 60) -> Callable[[F], F]:
    """Decorate a heavy call with ``spaces.GPU(duration=…)`` when ``spaces`` is installed."""

    def wrap(fn: F) -> F:
        if spaces is None:
            return fn
        return spaces.GPU(duration=duration)(fn)

    return wrap
