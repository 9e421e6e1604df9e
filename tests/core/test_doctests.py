"""The docstring examples of core run (on tiny images made in memory) and give what they show."""

import doctest
import importlib

import pytest

MODULES = [
    "explorable_jpeg",
    "explorable_jpeg.jpeg.io",
    "explorable_jpeg.consistency.check",
    "explorable_jpeg.consistency.projection",
    "explorable_jpeg.jpeg.libjpeg.forward",
    "explorable_jpeg.ops.dct",
    "explorable_jpeg.decoding.decoder",
    "explorable_jpeg.decoding.tiling",
    "explorable_jpeg.models.digit",
    "explorable_jpeg.explore.explorer",
    "explorable_jpeg.explore.selection",
    "explorable_jpeg.explore.zcontrols",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS, report=True)
    assert result.attempted > 0, f"{name} has no docstring example"
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples in {name} failed"
