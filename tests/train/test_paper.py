"""The paper reproduction's chroma-model check (Supp. D) on core's DCT."""

import numpy as np

from explorable_jpeg_train import paper
from tests.conftest import natural_image


def test_low_frequency_planes_pass_the_16x16_remodel_unchanged():
    """Pipeline 2 (low 8×8 of the 16×16 DCT, ×½, back up) is an orthogonal projection onto
    the planes that ``upsample_from_low8`` makes: those come back exactly, and twice is once."""
    rng = np.random.default_rng(0)
    x = paper.upsample_from_low8(rng.normal(0, 20, size=(2, 3, 8, 8)))
    assert x.shape == (32, 48)
    remodel = paper.upsample_from_low8(0.5 * paper._dct16(x)[:, :, :8, :8])
    np.testing.assert_allclose(remodel, x, atol=1e-9)
    y = rng.normal(0, 20, size=(32, 48))
    once = paper.upsample_from_low8(0.5 * paper._dct16(y)[:, :, :8, :8])
    twice = paper.upsample_from_low8(0.5 * paper._dct16(once)[:, :, :8, :8])
    np.testing.assert_allclose(twice, once, atol=1e-9)
    assert np.abs(once - y).mean() > 5  # the noise's high frequencies are gone


def test_a_constant_plane_survives_every_pipeline():
    plane = np.full((32, 32), 77.0)
    np.testing.assert_allclose(paper.upsample_from_low8(paper._dct8(paper.box2(plane))), 77.0)
    remodel = paper.upsample_from_low8(0.5 * paper._dct16(plane)[:, :, :8, :8])
    np.testing.assert_allclose(remodel, 77.0)


def test_supp_d_numbers_on_a_natural_image():
    """(i) our box-average model is the float 2×2 average (0 up to float error); (ii) against
    libjpeg's integer subsampling it differs by rounding only (well under a grey level);
    the paper's 16×16 remodel is visibly further away."""
    r = paper.chroma_models_rmse(natural_image(64, 96, seed=0))
    assert r["ours_vs_real"] < 1e-9
    assert 0.1 < r["ours_vs_libjpeg_integer"] < 0.7
    assert r["remodel_vs_real"] > 0.5
