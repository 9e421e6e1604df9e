"""Core's floors (ARCHITECTURE.md, "Layers"): a module imports only modules of its own floor
or of floors below it (imports inside functions included, ``TYPE_CHECKING`` ones left out)."""

from tests.import_graph import graph

#: floor of each part of core, lowest first; errors and the import helpers serve every floor
FLOORS = {
    "errors": 0, "_lazy": 0, "_moved": 0,
    "ops": 1,
    "jpeg": 2,
    "jpeg.libjpeg": 3,
    "consistency": 4,
    "models": 5, "snap": 5,
    "decoding": 6,
    "explore": 7, "explore.objectives": 7,
    "cli": 8,
    "": 9, "__main__": 9,
}  # fmt: skip

#: the one import downwards-up, documented in ARCHITECTURE.md: read_jpeg refuses damaged
#: data with reachability's separating-plane test (imported inside the function)
EXCEPTIONS = {("explorable_jpeg.jpeg.io", "explorable_jpeg.consistency.reachability")}


def part(module: str) -> str:
    """The part of core (a key of :data:`FLOORS`) that ``module`` belongs to."""
    names = module.split(".")[1:]
    for depth in (2, 1, 0):
        key = ".".join(names[:depth])
        if key in FLOORS and len(names) >= depth:
            return key
    raise KeyError(module)


def upward_imports(g: dict[str, set[str]]) -> list[tuple[str, str]]:
    """The imports of ``g`` from a floor to a higher one, not in :data:`EXCEPTIONS`."""
    return sorted(
        (a, b)
        for a, targets in g.items()
        for b in targets
        if FLOORS[part(b)] > FLOORS[part(a)] and (a, b) not in EXCEPTIONS
    )


def test_every_module_of_core_has_a_floor():
    g = graph("explorable_jpeg")
    assert len(g) > 50
    parts = {part(m) for m in g}
    assert {"ops", "jpeg", "jpeg.libjpeg", "consistency", "snap", "explore.objectives"} <= parts


def test_no_module_imports_a_higher_floor():
    assert upward_imports(graph("explorable_jpeg")) == []


def test_the_check_sees_an_upward_import():
    g = {
        "explorable_jpeg.ops.dct": {"explorable_jpeg.snap.pipeline"},
        "explorable_jpeg.snap.pipeline": {"explorable_jpeg.ops.dct"},
        "explorable_jpeg.jpeg.io": {"explorable_jpeg.consistency.reachability"},
    }
    assert upward_imports(g) == [("explorable_jpeg.ops.dct", "explorable_jpeg.snap.pipeline")]


def test_the_exception_is_still_needed():
    """When read_jpeg no longer imports reachability, drop it from EXCEPTIONS."""
    g = graph("explorable_jpeg")
    for a, b in EXCEPTIONS:
        assert b in g[a]
