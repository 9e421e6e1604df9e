"""The explorer decodes every state once (:mod:`explorable_jpeg.explore.render`), and the
image of a state does not depend on the states decoded before it."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from PIL import Image

from explorable_jpeg import Explorer, check, compress
from explorable_jpeg.decoding.decoder import Decoder
from explorable_jpeg.explore import render as render_module
from explorable_jpeg.explore.state import State
from tests.conftest import FIXTURES

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def dec():
    """The bundled explorable decoder."""
    return Decoder.from_pretrained(variant="gan", device="cpu")


@pytest.fixture(scope="module")
def code():
    """A 64×800 strip of a real photo (and its mirror image) at quality 10, 4:2:0: wide
    enough that a change at its left end is decoded on a crop."""
    photo = np.asarray(Image.open(FIXTURES / "realworld_lomiri_picosdeeuropa.jpg").convert("RGB"))
    strip = photo[120:184]
    _, code = compress(np.concatenate([strip, strip[:, ::-1]], axis=1), quality=10,
                       subsampling="4:2:0")  # fmt: skip
    return code


def _record(monkeypatch, target, name):
    """Wrap ``target.name`` so that the sizes of the codes it is called with are recorded."""
    sizes: list[tuple[int, int]] = []
    inner = getattr(target, name)

    def wrapper(*args, **kw):
        c = next(a for a in args if hasattr(a, "mcu_grid"))
        sizes.append((c.height, c.width))
        return inner(*args, **kw)

    monkeypatch.setattr(target, name, wrapper)
    return sizes


def test_a_state_decodes_to_the_same_image_whatever_came_before(dec, code):
    """A field edit and a z edit, each reached from another state, give the pixels a fresh
    explorer gives them (bit for bit), and both are consistent."""
    ex = Explorer(dec, code)
    field = torch.zeros(ex.field_shape)
    field[0, 20:44, 300:360] = 14.0  # not MCU-aligned
    first = State(ex.z, field)
    ex.set_state(first)
    z = ex.z
    z[:, :, :4] = dec.random_z(code, seed=3)[:, :, :4]
    second = State(z, field)
    image = ex.set_state(second)
    assert np.array_equal(image, Explorer(dec, code, z=z, field=field).image)
    assert np.array_equal(ex.render(first), Explorer(dec, code, field=field).image)
    assert check(code, image).consistent and check(code, ex.render(first)).consistent


def test_render_undo_and_copies_reuse_decodings(dec, code, monkeypatch):
    ex = Explorer(dec, code)
    before = ex.image
    field = torch.zeros(ex.field_shape)
    field[:, 8:24, 40:72] = -10.0
    other = State(ex.z, field)
    alt = ex.render(other)  # an alternative: decoded, not made current
    assert np.array_equal(ex.image, before) and check(code, alt).consistent
    ran = _record(monkeypatch, dec, "decode_planes")
    snapped = _record(monkeypatch, render_module, "snap")
    assert np.array_equal(ex.set_state(other), alt)
    assert ex.undo() and np.array_equal(ex.image, before)
    twin = copy.deepcopy(ex)  # the app's sessions copy explorers: the caches are shared
    assert twin.redo() and np.array_equal(twin.image, alt)
    assert ran == [] and snapped == []  # every state above was decoded once, before
    assert twin._renderer._psi[0][1] is ex._renderer._psi[0][1]


def test_a_field_only_run_works_on_a_small_crop_with_the_same_result(monkeypatch):
    """No z iterations: the loss is evaluated on the selection's MCUs + FIELD_MARGIN_BLOCKS
    (not + MARGIN_BLOCKS) with the same normaliser, so the result is the same."""
    from explorable_jpeg.explore import optimize as optimize_module
    from explorable_jpeg.explore.loop import FIELD_MARGIN_BLOCKS, MARGIN_BLOCKS
    from explorable_jpeg.explore.objectives import VarianceObjective
    from tests.conftest import natural_image, random_decoder

    small_dec = random_decoder(seed=2, scale=0.1)
    _, code = compress(natural_image(192, 224, seed=4), quality=10, subsampling="4:2:0")
    mask = np.zeros((192, 224), dtype=bool)
    mask[80:120, 96:136] = True
    shapes: list[tuple[int, int]] = []
    prepare = VarianceObjective.prepare

    def recording(self, region):
        shapes.append(region.shape)
        prepare(self, region)

    monkeypatch.setattr(VarianceObjective, "prepare", recording)
    images, results = [], []
    for margin in (FIELD_MARGIN_BLOCKS, MARGIN_BLOCKS):  # the small crop, then the old one
        monkeypatch.setattr(optimize_module, "FIELD_MARGIN_BLOCKS", margin)
        ex = Explorer(small_dec, code)
        res = ex.apply("variance-up", mask, field_iters=15, budget_s=600).result
        assert res.iterations == 0 and res.field_iterations > 0 and res.improved
        images.append(ex.image)
        results.append(res)
        assert check(code, ex.image).consistent
    assert shapes == [(112, 112), (192, 224)]  # px 80:120 ± 32, in whole MCUs; all of it
    assert results[0].loss_best == pytest.approx(results[1].loss_best, rel=1e-5)
    assert np.array_equal(images[0], images[1])
