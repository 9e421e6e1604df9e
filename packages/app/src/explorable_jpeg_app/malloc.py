"""Bound glibc's malloc arenas in the app server (the ``MALLOC_ARENA_MAX=2`` of ``nox -s app``).

glibc gives each new thread its own malloc arena, up to ``8 × cores`` of them, and never
returns an arena's freed pages to the system while any allocation in it lives. The app's
worker threads each allocate and free hundreds of MB per Apply, so under several clients the
server's RSS grew without bound (soak, 3 clients, 10 min: 353 → 1097 MB); with at most two
arenas it stays flat (SECURITY.md, "The app under load").

An environment variable acts only when set before the process starts, which a Hugging Face
Space's ``app.py`` cannot do for itself, so the server entry points (``explorable-jpeg-app``
and the Space's ``app.py``) call :func:`limit_arenas` at start instead: it calls
``mallopt(M_ARENA_MAX, n)``. glibc fixes its arena limit only once more than eight arenas
exist, so a call made before the server's worker threads start still takes effect.
"""

from __future__ import annotations

import ctypes
import logging
import os
import platform

logger = logging.getLogger(__name__)

M_ARENA_MAX = -8  # glibc <malloc.h>
DEFAULT_ARENAS = 2


def limit_arenas(max_arenas: int = DEFAULT_ARENAS) -> bool:
    """Limit glibc's malloc to ``max_arenas`` arenas; ``True`` when the limit was set.

    A no-op returning ``False`` where the C library is not glibc (macOS, Windows, musl) and
    where ``MALLOC_ARENA_MAX`` is already in the environment (glibc has read it; the user's
    value wins). Raises :class:`ValueError` for ``max_arenas < 1``.
    """
    if max_arenas < 1:
        raise ValueError(f"max_arenas must be at least 1, not {max_arenas}")
    if os.environ.get("MALLOC_ARENA_MAX"):
        logger.info("MALLOC_ARENA_MAX=%s is set; leaving it", os.environ["MALLOC_ARENA_MAX"])
        return False
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        logger.debug("not glibc (%s %s): malloc arenas left as they are", *platform.libc_ver())
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError) as exc:
        logger.debug("no glibc mallopt (%s): malloc arenas left as they are", exc)
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    if mallopt(M_ARENA_MAX, max_arenas) != 1:  # mallopt returns 1 on success
        logger.warning("mallopt(M_ARENA_MAX, %d) failed; malloc arenas unbounded", max_arenas)
        return False
    logger.info("malloc arenas limited to %d (mallopt M_ARENA_MAX)", max_arenas)
    return True
