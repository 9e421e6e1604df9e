"""The one-off tools live under ``explorable_jpeg_train.tools``; their old paths still work."""

import importlib
import subprocess
import sys

import pytest

TOOLS = ("soup", "rebase", "upload")


@pytest.mark.parametrize("name", TOOLS)
def test_old_path_is_the_moved_module(name):
    new = importlib.import_module(f"explorable_jpeg_train.tools.{name}")
    sys.modules.pop(f"explorable_jpeg_train.{name}", None)
    with pytest.warns(DeprecationWarning, match=f"tools.{name}"):
        old = importlib.import_module(f"explorable_jpeg_train.{name}")
    assert old is new


def test_old_path_still_runs_as_a_command():
    """``python -m explorable_jpeg_train.soup`` runs the tool's own argument parser."""
    for module in ("explorable_jpeg_train.soup", "explorable_jpeg_train.tools.soup"):
        done = subprocess.run(
            [sys.executable, "-m", module, "--help"], capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        assert "θ(t) = (1 − t)·θ_A + t·θ_B" in done.stdout and "--chroma-from" in done.stdout
