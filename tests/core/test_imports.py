"""Core and app have no import cycle, and core imports neither the app nor train."""

import pytest

from tests.import_graph import cycle, graph, modules


@pytest.mark.parametrize("package", ["explorable_jpeg", "explorable_jpeg_app"])
def test_no_import_cycle(package):
    g = graph(package)
    assert len(g) > 10
    assert cycle(g) is None, " -> ".join(cycle(g) or [])


def test_core_imports_neither_app_nor_train():
    import ast

    for name, path in modules("explorable_jpeg").items():
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            for n in names:
                assert not n.startswith(("explorable_jpeg_app", "explorable_jpeg_train")), name


def test_the_graph_sees_lazy_imports_and_skips_type_checking_ones():
    g = graph("explorable_jpeg")
    # explorer imports handlers (a real edge); optimize names Explorer only for typing
    assert "explorable_jpeg.explore.handlers" in g["explorable_jpeg.explore.explorer"]
    assert "explorable_jpeg.explore.explorer" not in g["explorable_jpeg.explore.optimize"]


def test_public_names_survive_lazy_loading_and_subpackage_imports():
    """``explorable_jpeg`` and ``explorable_jpeg.explore`` load their names lazily; importing
    the ``snap`` subpackage must not replace the public ``snap`` function, and every name of
    ``__all__`` resolves (fresh interpreter: nothing imported before)."""
    from tests.conftest import run_fresh_python

    code = (
        "import explorable_jpeg as ej, explorable_jpeg.explore as ex\n"
        "import sys, explorable_jpeg.snap.pipeline\n"
        "from explorable_jpeg.explore import Explorer, SPECS\n"
        "pipeline = sys.modules['explorable_jpeg.snap.pipeline']\n"
        "assert callable(ej.snap) and ej.snap is pipeline.snap\n"
        "from explorable_jpeg import snap\n"
        "assert snap is ej.snap\n"
        "missing = [n for m in (ej, ex) for n in m.__all__ if getattr(m, n, None) is None]\n"
        "assert not missing, missing\n"
        "assert 'Explorer' in dir(ex) and 'read_jpeg' in dir(ej)\n"
    )
    run_fresh_python(code)
