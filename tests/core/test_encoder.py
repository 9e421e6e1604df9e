"""The numpy encoder model must agree with real libjpeg bit for bit."""

import numpy as np
import pytest

from explorable_jpeg import compress
from explorable_jpeg.jpeg.libjpeg.forward import bin_bounds, encode_coefficients, quantize_islow
from tests.conftest import natural_image


@pytest.mark.parametrize("subsampling", ["4:4:4", "4:2:2", "4:2:0", "4:4:0", "4:1:1", "gray"])
@pytest.mark.parametrize("shape", [(37, 53), (48, 64), (17, 9)])
@pytest.mark.parametrize("quality", [5, 50, 95])
def test_encoder_model_matches_libjpeg(subsampling, shape, quality):
    img = natural_image(*shape, seed=quality, color=subsampling != "gray")
    ss = "4:2:0" if subsampling == "gray" else subsampling
    _, code = compress(img, quality=quality, subsampling=ss)
    for sim, comp in zip(encode_coefficients(img, code), code.components, strict=True):
        np.testing.assert_array_equal(sim, comp.coefficients)


def test_bin_bounds_contain_exactly_the_values_that_quantize_to_q():
    table = np.full((8, 8), 3)
    t = np.arange(-100, 101)[:, None, None] * np.ones((1, 8, 8), dtype=np.int64)
    q = quantize_islow(t, table)
    lo, hi = bin_bounds(q, table)
    assert np.all((lo <= t) & (t <= hi))
    lo2, hi2 = bin_bounds(q + 1, table)
    assert not np.any((lo2 <= t) & (t <= hi2))
