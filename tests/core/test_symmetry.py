"""Flips and transpositions in the DCT domain, and the decoder's self-ensemble."""

import numpy as np
import pytest
import torch

from explorable_jpeg import check, compress, read_jpeg
from explorable_jpeg.models.luma import coefficients_to_pixels
from explorable_jpeg.ops.symmetry import (
    coefficients_forward,
    coefficients_inverse,
    grid_forward,
    grid_inverse,
    table_forward,
    transforms,
)
from tests.conftest import natural_image, random_decoder


@pytest.mark.parametrize("k", range(8))
def test_dct_domain_transform_is_the_pixel_transform(k):
    """Decoding the transformed code gives the transformed pixels (the signs are right)."""
    g = torch.Generator().manual_seed(k)
    q = torch.randint(-20, 21, (1, 64, 3, 5), generator=g).double()
    table = torch.randint(1, 60, (1, 8, 8), generator=g).double()
    pixels = coefficients_to_pixels(q, table)
    moved = coefficients_to_pixels(coefficients_forward(q, k), table_forward(table, k))
    assert torch.allclose(moved, grid_forward(pixels, k), atol=1e-9)
    assert torch.equal(coefficients_inverse(coefficients_forward(q, k), k), q)
    assert torch.equal(grid_inverse(grid_forward(pixels, k), k), pixels)
    if k:
        assert not torch.equal(coefficients_forward(q, k), q)


def test_transforms_order_and_sizes():
    assert transforms(1) == (0,)
    assert transforms(2) == (0, 3)
    assert sorted(transforms(4)) == [0, 1, 2, 3]
    assert sorted(transforms(8)) == list(range(8))
    assert sorted(transforms(8, transpose=False)) == [0, 1, 2, 3]
    for bad in (0, 3, 16):
        with pytest.raises(ValueError, match="ensemble"):
            transforms(bad)


@pytest.mark.parametrize("subsampling", ["gray", "4:2:0", "4:2:2"])
def test_self_ensemble_is_consistent_and_differs(subsampling, one_torch_thread):
    """Odd sizes: the flips move the partial edge blocks to the other side; the mean of the
    views still re-encodes to the file."""
    img = natural_image(37, 61, seed=4)
    if subsampling == "gray":
        img = img[..., 0]
    sampling = "4:2:0" if subsampling == "gray" else subsampling
    data, _ = compress(img, quality=20, subsampling=sampling)
    code = read_jpeg(data)
    dec = random_decoder(z=False, seed=2, scale=0.3)
    plain = dec.decode(code)
    assert np.array_equal(plain, dec.decode(code, ensemble=1))
    for n in (2, 8):
        out = dec.decode(code, ensemble=n)
        report = check(code, out)
        assert report.consistent, report.summary()
        assert np.abs(out.astype(int) - plain).mean() > 0.05  # the views do differ


def test_bad_ensemble_size_is_refused():
    img = natural_image(16, 16, seed=0)
    _, code = compress(img, quality=50)
    with pytest.raises(ValueError, match="ensemble"):
        random_decoder(z=False).decode(code, ensemble=3)


def test_the_models_own_ensemble_is_its_default(tmp_path, one_torch_thread):
    """``config.json``'s ``"ensemble"`` is what ``decode()`` uses when not told otherwise; it
    survives save/load, a bad value is refused as a weights error, and ``to_gan`` drops it."""
    from explorable_jpeg.decoding.decoder import Decoder, WeightsError

    data, _ = compress(natural_image(40, 48, seed=5), quality=15)
    code = read_jpeg(data)
    dec = random_decoder(z=False, seed=3, scale=0.3)
    assert dec.ensemble == 1 and np.array_equal(dec.decode(code), dec.decode(code, ensemble=1))
    dec.ensemble = 2
    dec.save_pretrained(tmp_path / "l1")
    loaded = Decoder.from_folder(tmp_path / "l1")
    assert loaded.ensemble == 2 and loaded.config_dict()["ensemble"] == 2
    one, two = loaded.decode(code, ensemble=1), loaded.decode(code, ensemble=2)
    assert not np.array_equal(one, two)
    assert np.array_equal(loaded.decode(code), two)  # the default is the model's own 2
    assert loaded.to_gan().ensemble == 1
    cfg = loaded.config_dict()
    del cfg["ensemble"]  # configs written before the key existed
    assert Decoder.from_config(cfg).ensemble == 1
    for bad in (3, "2", 0):
        cfg["ensemble"] = bad
        with pytest.raises(WeightsError, match="ensemble"):
            Decoder.from_config(cfg)
