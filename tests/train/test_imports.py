"""The training package has no import cycle (imports inside functions included)."""

from tests.import_graph import cycle, graph

PACKAGE = "explorable_jpeg_train"


def test_the_checker_finds_a_cycle():
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert cycle({"a": {"b"}, "b": set()}) is None


def test_training_has_no_import_cycle():
    g = graph(PACKAGE)
    assert g[f"{PACKAGE}.paper"] >= {f"{PACKAGE}.eval_data", f"{PACKAGE}.metrics"}
    assert f"{PACKAGE}.paper" in g[f"{PACKAGE}.evaluate"]  # the lazy --paper import counts
    assert cycle(g) is None, " -> ".join(cycle(g) or [])
