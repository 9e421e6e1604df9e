"""Reach: the exploration field delivers what the file allows, and only inside the selection.

Synthetic images, a small random decoder (its z alone cannot produce the targets).
``reach = 1 − |x₁ − P|₁ / |x₀ − P|₁`` inside the selection, ``P`` the best consistent image.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from explorable_jpeg import check, compress
from explorable_jpeg.decoding.decoder import component_planes_plain
from explorable_jpeg.explore import SPECS, ExplorationError, Explorer, rect_mask
from explorable_jpeg.explore.handlers import HANDLERS
from explorable_jpeg.snap.pipeline import snap
from tests.conftest import natural_image, random_decoder

H, W = 64, 80
BOX = (16, 24, 48, 56)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def dec():
    return random_decoder(seed=2, scale=0.1)


@pytest.fixture(scope="module", params=["4:2:0", "4:4:4"])
def code(request):
    _, code = compress(natural_image(H, W, seed=4), quality=10, subsampling=request.param)
    return code


def _reach(x0: np.ndarray, x1: np.ndarray, p: np.ndarray, mask: np.ndarray) -> float:
    d0 = np.abs(x0.astype(float) - p)[mask].mean()
    return 1 - np.abs(x1.astype(float) - p)[mask].mean() / d0


def test_scribble_reaches_a_consistent_target_and_leaves_the_outside(dec, code):
    """The target is itself consistent (the bin-centre decoding): the tool must get there."""
    ex = Explorer(dec, code)
    x0 = ex.image
    target = snap(component_planes_plain(code), code)  # consistent, and far from x0
    mask = rect_mask(ex.shape, *BOX)
    assert np.abs(x0.astype(float) - target)[mask].mean() > 2  # room to move
    res = ex.apply("scribble", mask, scribble=target, labels=mask.astype(np.int64), budget_s=20)
    x1 = res.image
    assert _reach(x0, x1, target, mask) >= 0.9
    assert check(code, x1).consistent
    far = np.ones_like(mask)
    y0, x0_, y1, x1_ = BOX
    far[max(0, y0 - 16) : y1 + 16, max(0, x0_ - 16) : x1_ + 16] = False
    assert np.abs(x1.astype(int) - x0)[far].max() == 0  # beyond the selection's MCUs: untouched
    assert ex.field is not None


def test_reach_zero_is_z_only_and_reach_one_goes_further(dec, code):
    mask = rect_mask((H, W), *BOX)
    outs = {}
    for reach in (0.0, 1.0):
        ex = Explorer(dec, code)
        res = ex.apply("scribble", mask, mode="brighten", delta=0.3, reach=reach, max_iters=4)
        outs[reach] = (ex.image, ex.field, res)
    assert outs[0.0][1] is None  # no field without reach
    x0 = Explorer(dec, code).image
    gain = {r: (o[0].astype(float) - x0)[mask].mean() for r, o in outs.items()}
    assert gain[1.0] > gain[0.0] + 3  # brighter by more than 3 grey levels on average
    assert all(check(code, o[0]).consistent for o in outs.values())


def test_field_state_undo_redo_and_file_round_trip(dec, code, tmp_path):
    ex = Explorer(dec, code)
    img0 = ex.image
    mask = rect_mask(ex.shape, *BOX)
    ex.apply("scribble", mask, mode="darken", delta=0.3, budget_s=5)
    img1, field1 = ex.image, ex.field
    assert field1 is not None and not np.array_equal(img0, img1)
    assert ex.undo() and ex.field is None
    np.testing.assert_array_equal(ex.image, img0)
    assert ex.redo() and torch.equal(ex.field, field1)
    np.testing.assert_array_equal(ex.image, img1)
    path = tmp_path / "exploration.safetensors"
    ex.save(path)
    other = Explorer(dec, code)
    other.load(path)
    assert torch.equal(other.field, field1)
    np.testing.assert_array_equal(other.image, img1)
    assert other.undo() and other.field is None


def test_reach_and_unknown_parameters_are_refused(dec, code):
    ex = Explorer(dec, code)
    mask = rect_mask(ex.shape, *BOX)
    with pytest.raises(ExplorationError, match="reach"):
        ex.apply("variance-up", mask, reach=1.5)
    with pytest.raises(ExplorationError, match="reach"):
        ex.apply("variance-up", mask, reach=float("nan"))
    with pytest.raises(ExplorationError, match="unknown parameter"):
        ex.apply("uniform", mask, reach=0.5)  # uniform sets z: it has no reach
    with pytest.raises(ExplorationError, match="field"):
        Explorer(dec, code, field=torch.zeros(3, 2, 2))


def test_every_registered_tool_has_a_handler_or_an_objective_with_its_parameters():
    import inspect

    for name, spec in SPECS.items():
        declared = {p.name for p in spec.params}
        if name in HANDLERS:
            assert spec.objective is None, f"{name}: a handler and an objective"
            accepted = set(inspect.signature(HANDLERS[name]).parameters) - {"ex", "mask", "run"}
            assert accepted == declared | ({"reach"} if spec.reach is not None else set()), name
        else:
            assert spec.objective is not None and spec.reach is not None, name
            assert declared <= set(inspect.signature(spec.objective).parameters), name
            # the registry's defaults make the objective
            spec.objective(**{p.name: p.default for p in spec.params})


def test_a_new_tool_is_one_objective_and_one_registry_entry(dec, code, monkeypatch):
    """Adding a tool: an Objective subclass and a ToolSpec naming it, nothing else (no
    handler, no CLI or app table): apply finds it, checks its parameters and runs it."""
    from explorable_jpeg.explore import tools
    from explorable_jpeg.explore.objectives.base import Objective

    class Darker(Objective):  # mean luma of the selection down by ``amount``
        field_luma_only = True

        def __init__(self, amount: float) -> None:
            super().__init__()
            self.amount = amount

        def prepare(self, region):
            super().prepare(region)
            m = region.mask > 0
            self.target = region.rgb0[..., m].mean() - self.amount

        def loss(self, rgb):
            return (rgb[..., self.r.mask > 0].mean() - self.target) ** 2

    new = tools.ToolSpec(
        "darker", "Darker", "test tool",
        (tools.Param("amount", 0.1, minimum=0.0, maximum=1.0),), reach=1.0, objective=Darker,
    )  # fmt: skip
    monkeypatch.setitem(tools.SPECS, "darker", new)
    assert "darker" not in HANDLERS
    ex = Explorer(dec, code)
    mask = rect_mask(ex.shape, 8, 8, 40, 40)
    before = ex.image.astype(float)
    with pytest.raises(ExplorationError, match="amount"):
        ex.apply("darker", mask, amount=2.0)
    ex.apply("darker", mask, amount=0.1, budget_s=10)
    after = ex.image.astype(float)
    assert before[mask].mean() - after[mask].mean() > 1.0  # grey levels darker
    assert check(code, ex.image).consistent


def test_a_z_file_from_decode_loads_as_an_exploration(dec, code, tmp_path):
    """``decode --z-out`` files are accepted by ``Explorer.load`` (and so by the app)."""
    from explorable_jpeg.decoding.zfile import save_z

    z = dec.random_z(code, seed=5)
    path = tmp_path / "z.safetensors"
    save_z(path, z, code)
    ex = Explorer(dec, code)
    image = ex.load(path)
    assert torch.equal(ex.z, z) and ex.field is None
    np.testing.assert_array_equal(image, dec.decode(code, z))
