"""``explorable_jpeg_app.malloc.limit_arenas``: glibc's arena limit set at server start."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

from explorable_jpeg_app import malloc

GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"

# Eight threads each malloc once (all released together by a barrier); glibc gives each new
# thread a new arena while under its limit, so the heaps malloc_info reports count the arenas.
COUNT_ARENAS = r"""
import ctypes, re, sys, threading
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
libc.open_memstream.restype = ctypes.c_void_p
libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
libc.fclose.argtypes = [ctypes.c_void_p]
if sys.argv[1] == "limit":
    from explorable_jpeg_app.malloc import limit_arenas
    assert limit_arenas() is True
barrier, kept = threading.Barrier(8), []
def work():
    barrier.wait()
    kept.append(libc.malloc(1000))
threads = [threading.Thread(target=work) for _ in range(8)]
for t in threads:
    t.start()
for t in threads:
    t.join()
buf, size = ctypes.c_char_p(), ctypes.c_size_t()
f = libc.open_memstream(ctypes.byref(buf), ctypes.byref(size))
libc.malloc_info(0, f)
libc.fclose(f)
print(len(re.findall(rb"<heap nr=", ctypes.string_at(buf, size.value))))
"""


def _arenas_after_threads(mode: str) -> int:
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    result = subprocess.run(
        [sys.executable, "-c", COUNT_ARENAS, mode], capture_output=True, text=True, env=env
    )
    assert result.returncode == 0, result.stderr
    return int(result.stdout.split()[-1])


@pytest.mark.skipif(not GLIBC, reason="mallopt(M_ARENA_MAX) is glibc's")
def test_limit_arenas_bounds_glibc_arenas_in_a_fresh_process():
    unbounded = _arenas_after_threads("plain")
    assert unbounded > malloc.DEFAULT_ARENAS  # the control: without the call, one per thread
    assert _arenas_after_threads("limit") <= malloc.DEFAULT_ARENAS


def _forbid_libc(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError("libc must not be loaded here")

    monkeypatch.setattr(malloc.ctypes, "CDLL", refuse)


def test_limit_arenas_is_a_no_op_off_glibc(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    monkeypatch.setattr(malloc.platform, "libc_ver", lambda: ("", ""))
    _forbid_libc(monkeypatch)
    assert malloc.limit_arenas() is False


def test_limit_arenas_leaves_an_explicit_environment_value(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    _forbid_libc(monkeypatch)
    assert malloc.limit_arenas() is False


def test_limit_arenas_refuses_a_count_below_one():
    with pytest.raises(ValueError, match="at least 1"):
        malloc.limit_arenas(0)
