"""The training pipeline's on-the-fly codes (:mod:`explorable_jpeg_train.synth`) against real
libjpeg files read back with jpeglib: tables identical, ≥ 99.9% of coefficients identical."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from explorable_jpeg import compress
from explorable_jpeg.jpeg.tables import ANNEX_K_CHROMA, ANNEX_K_LUMA
from explorable_jpeg.ops.dct import blockify, dct_blocks
from explorable_jpeg_train.synth import ijg_tables_torch, make_codes, quantize
from tests.conftest import natural_image

FACTORS = {"4:4:4": (1, 1), "4:2:2": (1, 2), "4:2:0": (2, 2)}


def _share_equal(a: torch.Tensor, b: np.ndarray) -> float:
    b = torch.from_numpy(b.astype(np.float32))
    assert a.shape == b.shape
    return float((a == b).float().mean())


@pytest.mark.parametrize("quality", [5, 10, 30, 50, 75, 95])
def test_ijg_table_formula_matches_libjpeg_tables(quality):
    _, code = compress(natural_image(16, 16, seed=1), quality=quality, subsampling="4:4:4")
    q = torch.tensor([quality])
    luma = ijg_tables_torch(q, ANNEX_K_LUMA)[0].numpy()
    chroma = ijg_tables_torch(q, ANNEX_K_CHROMA)[0].numpy()
    np.testing.assert_array_equal(luma, code.components[0].table)
    np.testing.assert_array_equal(chroma, code.components[1].table)


@pytest.mark.parametrize("sampling", sorted(FACTORS))
@pytest.mark.parametrize("quality", [1, 10, 50, 90, 95])
def test_colour_codes_match_real_files(sampling, quality):
    rgb = natural_image(96, 128, seed=quality)
    _, code = compress(rgb, quality=quality, subsampling=sampling)
    x = torch.from_numpy(rgb).permute(2, 0, 1)[None].double()
    q = torch.tensor([quality])
    lt, ct = ijg_tables_torch(q, ANNEX_K_LUMA), ijg_tables_torch(q, ANNEX_K_CHROMA)
    ycc, q_y, q_cb, q_cr, c_y = make_codes(x, lt.double(), ct.double(), FACTORS[sampling])
    # the unrounded luma coefficients: within half a step of the code, and the exact DCT's
    # (of the same integer Y) up to jfdctint's rounding
    off = c_y - q_y
    assert float(off.abs().max()) <= 0.5
    m = lt.double()[:, None, None]
    exact = dct_blocks(blockify(ycc[:, 0].double() - 128))
    assert float((c_y * m - exact).abs().max()) < 0.25  # DCT units (gray levels)
    shares = [
        _share_equal(ours[0].float(), comp.coefficients)
        for ours, comp in zip((q_y, q_cb, q_cr), code.components, strict=True)
    ]
    assert min(shares) >= 0.999, shares


@pytest.mark.parametrize("quality", [10, 50, 90])
def test_gray_codes_match_real_files(quality):
    gray = natural_image(64, 80, seed=3, color=False)
    _, code = compress(gray, quality=quality)
    t = ijg_tables_torch(torch.tensor([quality]), ANNEX_K_LUMA).double()
    ours = quantize(torch.from_numpy(gray)[None].double(), t)
    assert _share_equal(ours[0].float(), code.components[0].coefficients) >= 0.999


def test_perturbed_tables_match_real_files():
    """Random non-IJG tables (the pipeline's perturbed tables), 4:2:0."""
    gen = torch.Generator().manual_seed(0)
    q = torch.tensor([40.0])
    lt = ijg_tables_torch(q, ANNEX_K_LUMA)
    ct = ijg_tables_torch(q, ANNEX_K_CHROMA)
    lt = (lt * (0.7 + 0.6 * torch.rand(lt.shape, generator=gen))).round().clamp(1, 255)
    ct = (ct * (0.7 + 0.6 * torch.rand(ct.shape, generator=gen))).round().clamp(1, 255)
    rgb = natural_image(80, 112, seed=5)
    tables = [lt[0].numpy().astype(np.uint16), ct[0].numpy().astype(np.uint16)]
    _, code = compress(rgb, tables=tables, subsampling="4:2:0")
    np.testing.assert_array_equal(code.components[0].table, tables[0])
    x = torch.from_numpy(rgb).permute(2, 0, 1)[None].float()
    _, q_y, q_cb, q_cr, _ = make_codes(x, lt, ct, (2, 2))
    for ours, comp in zip((q_y, q_cb, q_cr), code.components, strict=True):
        assert _share_equal(ours[0], comp.coefficients) >= 0.999
