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
