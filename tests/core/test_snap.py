"""Snap + check: 8-bit outputs re-encode, with the file's tables and sampling, identically."""

import numpy as np
import pytest

from explorable_jpeg import check, compress, decode_plain, libjpeg_decode, read_jpeg, snap
from explorable_jpeg.consistency.projection import project_image
from explorable_jpeg.decoding.plain import component_planes_plain
from tests.conftest import natural_image

SAMPLINGS = ["gray", "4:4:4", "4:2:2", "4:2:0"]


def _compress(img, subsampling, **kw):
    if subsampling == "gray":
        img = img[..., 0]
    return compress(img, subsampling="4:2:0" if subsampling == "gray" else subsampling, **kw)


@pytest.mark.parametrize("subsampling", SAMPLINGS)
@pytest.mark.parametrize("quality", [5, 10, 30, 50])
def test_plain_decode_re_encodes_identically(subsampling, quality):
    img = natural_image(56, 72, seed=quality)
    _, code = _compress(img, subsampling, quality=quality)
    report = check(code, decode_plain(code))
    assert report.consistent, report.summary()


@pytest.mark.parametrize("subsampling", SAMPLINGS)
def test_plain_decode_at_qf90_at_least_as_consistent_as_libjpeg(subsampling):
    img = natural_image(64, 80, seed=90)
    data, code = _compress(img, subsampling, quality=90)
    ours = check(code, decode_plain(code)).identical_fraction
    libjpeg = check(code, libjpeg_decode(data)).identical_fraction
    assert ours >= libjpeg
    assert ours >= 0.999


@pytest.mark.parametrize("fixture", ["realworld_mate_wood.jpg", "realworld_mate_blinds.jpg"])
@pytest.mark.parametrize("subsampling", ["4:2:0", "4:4:4"])
def test_snap_with_non_ijg_camera_tables(fixtures_dir, fixture, subsampling):
    tables = [c.table for c in read_jpeg(fixtures_dir / fixture).components]
    img = natural_image(48, 64, seed=7)
    data, code = compress(img, tables=tables, subsampling=subsampling)
    ours = check(code, decode_plain(code)).identical_fraction
    libjpeg = check(code, libjpeg_decode(data)).identical_fraction
    assert ours >= libjpeg
    assert ours == 1.0  # blinds has steps of 1: exact since the greedy stage (was < 1)


@pytest.mark.parametrize("subsampling", SAMPLINGS)
@pytest.mark.parametrize("seed", [0, 1])
def test_snap_of_random_consistent_images_is_exact(subsampling, seed):
    """Random points of the consistent set (what a decoder with random z produces)."""
    img = natural_image(40, 56, seed=11 + seed)
    _, code = _compress(img, subsampling, quality=25)
    rng = np.random.default_rng(seed)
    planes = component_planes_plain(code) + rng.normal(0, 12, (len(code.components), 40, 56))
    planes = project_image(planes, code)
    assert check(code, snap(planes, code)).consistent


def test_check_detects_a_wrong_image(rgb_image):
    _, code = compress(rgb_image, quality=30)
    report = check(code, 255 - rgb_image)
    assert not report.consistent
    assert report.violating_blocks > 0 and report.worst_excess > 0.5


@pytest.mark.parametrize("subsampling", SAMPLINGS)
@pytest.mark.parametrize("size", [(37, 53), (16, 16), (17, 33), (48, 64)])
def test_mcu_tiles_encode_like_the_whole_image(subsampling, size):
    """snap's per-MCU simulation (edge MCUs included) matches the whole-image encoder."""
    from explorable_jpeg.jpeg.libjpeg.forward import unquantized_dct8
    from explorable_jpeg.snap import tiles

    rng = np.random.default_rng(size[0])
    img = rng.integers(0, 256, (*size, 3)).astype(np.uint8)
    _, code = _compress(img, subsampling, quality=50)
    if subsampling == "gray":
        img = img[..., 0]
    full = unquantized_dct8(img, code)
    for g in tiles.groups(code, np.ones(code.mcu_grid, dtype=bool)):
        batch = img[tiles.pixel_index(g, code)]
        for i, t in enumerate(tiles.tile_dct8(batch, code, g)):
            np.testing.assert_array_equal(t, full[i][tiles.block_index(g, code, i)])


def test_banded_snap_equals_the_whole_image_contract(monkeypatch):
    """Large images are snapped in bands of MCU rows; the result is still exact."""
    import importlib

    # the attribute explorable_jpeg.snap is the function snap(): import the module by name
    pipeline = importlib.import_module("explorable_jpeg.snap.pipeline")

    img = natural_image(72, 56, seed=21)
    _, code = compress(img, quality=20, subsampling="4:2:0")
    monkeypatch.setattr(pipeline, "BAND_PIXELS", 16 * 56)  # one MCU row per band
    bands = []
    inner = pipeline.snap

    def spy(planes, code, *args, **kwargs):
        if kwargs.get("_bands") is False:
            bands.append(code.height)
        return inner(planes, code, *args, **kwargs)

    monkeypatch.setattr(pipeline, "snap", spy)  # the bands call the module's snap
    planes = component_planes_plain(code)
    out = snap(planes, code, fallback=component_planes_plain)
    assert bands == [16, 16, 16, 16, 8]  # 72 rows: four whole MCU rows and a half one
    assert out.shape == img.shape
    assert check(code, out).consistent


@pytest.mark.parametrize("subsampling", ["gray", "4:2:0"])
def test_snap_is_local_an_edit_leaves_far_mcus_unchanged(subsampling, caplog):
    """libjpeg codes every MCU from its own pixels and the integer searches draw per-MCU
    (per-block) random streams, so changing the target inside one region changes no MCU
    outside it."""
    import logging

    img = natural_image(96, 128, seed=4)
    _, code = _compress(img, subsampling, quality=85)
    rng = np.random.default_rng(0)
    n = len(code.components)
    planes = component_planes_plain(code) + rng.normal(0, 6, (n, 96, 128))
    edited = planes.copy()
    edited[:, :24, :24] += rng.normal(0, 25, (n, 24, 24))
    with caplog.at_level(logging.DEBUG, logger="explorable_jpeg"):
        a, b = snap(planes, code), snap(edited, code)
    stages = ("integer repair", "greedy luma", "greedy chroma")
    assert any(m in r.message for r in caplog.records for m in stages)  # a search ran
    mh, mw = code.mcu_size
    rows, cols = -(-24 // mh), -(-24 // mw)  # MCUs touched by the edit
    far = np.ones((96, 128), dtype=bool)
    far[: rows * mh, : cols * mw] = False
    assert not np.array_equal(a[~far], b[~far])
    np.testing.assert_array_equal(a[far], b[far])


def test_real_fine_table_file_decodes_exactly(fixtures_dir):
    """``realworld_mate_blinds.jpg`` (GIMP, luma steps 1–6, 4:2:2): 99.57% identical before
    the greedy stage, libjpeg's own decode 96.80%."""
    code = read_jpeg(fixtures_dir / "realworld_mate_blinds.jpg")
    report = check(code, decode_plain(code))
    assert report.consistent, report.summary()


def test_refine_adam_matches_torch_optim_to_the_bit():
    """snap's own Adam (torch.optim's first use imports torch._dynamo, 1.9 s) is the same
    arithmetic as torch.optim.Adam."""
    import torch

    from explorable_jpeg.snap.refine import Adam

    torch.manual_seed(0)
    a = torch.randn(3, 5, 7, dtype=torch.float64, requires_grad=True)
    b = a.detach().clone().requires_grad_(True)
    ref, mine = torch.optim.Adam([a], lr=0.3), Adam(b, 0.3)
    for _ in range(30):
        for x in (a, b):
            x.grad = None
            (x.sin() * x).sum().backward()
        ref.step()
        mine.step()
    assert torch.equal(a, b)
    assert not torch.equal(a, torch.zeros_like(a))
