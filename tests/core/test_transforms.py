import numpy as np
import pytest
import torch

from explorable_jpeg.ops.color import rgb_to_ycbcr, ycbcr_to_rgb
from explorable_jpeg.ops.dct import (
    DCT_MATRIX,
    blockify,
    blocks_to_channels,
    channels_to_blocks,
    dct_blocks,
    dct_matrix,
    idct_blocks,
    unblockify,
)
from explorable_jpeg.ops.sampling import box_downsample, box_upsample, upsample_display


@pytest.mark.parametrize("size", [8, 16])
def test_dct_matrix_is_orthonormal(size):
    c = dct_matrix(size)
    np.testing.assert_allclose(c @ c.T, np.eye(size), atol=1e-12)
    assert np.array_equal(dct_matrix(), DCT_MATRIX)


def test_16_point_dct_even_rows_are_the_8_point_rows_mirrored():
    """DCT-II of length 2N, even frequencies: ``C₁₆[2k, n] = C₈[k, n] / √2`` for n < 8 and
    ``C₈[k, 15 − n] / √2`` for n ≥ 8 (the 8-point DCT of ``x[n] + x[15 − n]``)."""
    c8, c16 = dct_matrix(8), dct_matrix(16)
    expected = np.concatenate([c8, c8[:, ::-1]], axis=1) / np.sqrt(2)
    np.testing.assert_allclose(c16[::2], expected, atol=1e-12)


def test_dct_dc_of_constant_block_is_8_times_value():
    block = np.full((8, 8), 3.0)
    c = dct_blocks(block)
    assert c[0, 0] == pytest.approx(24.0)
    assert np.abs(c.flatten()[1:]).max() < 1e-12


def test_blockify_dct_round_trip_numpy_and_torch_agree():
    rng = np.random.default_rng(0)
    x = rng.random((2, 16, 24))
    blocks = blockify(x)
    assert blocks.shape == (2, 2, 3, 8, 8)
    np.testing.assert_allclose(unblockify(idct_blocks(dct_blocks(blocks))), x, atol=1e-12)
    t = torch.as_tensor(x, dtype=torch.float64)
    np.testing.assert_allclose(dct_blocks(blockify(t)).numpy(), dct_blocks(blocks), atol=1e-12)


def test_dct_is_differentiable_and_preserves_energy():
    x = torch.randn(1, 16, 16, dtype=torch.float64, requires_grad=True)
    y = dct_blocks(blockify(x))
    (y**2).sum().backward()
    torch.testing.assert_close(x.grad, 2 * x.detach())  # orthonormal: ‖Cx‖² = ‖x‖²


def test_channels_round_trip():
    b = np.arange(2 * 3 * 64).reshape(2, 3, 8, 8)
    ch = blocks_to_channels(b)
    assert ch.shape == (64, 2, 3)
    assert ch[9, 1, 2] == b[1, 2, 1, 1]
    np.testing.assert_array_equal(channels_to_blocks(ch), b)


def test_ycbcr_round_trip_and_known_values():
    rgb = np.random.default_rng(1).random((5, 7, 3)) * 255
    np.testing.assert_allclose(ycbcr_to_rgb(rgb_to_ycbcr(rgb)), rgb, atol=1e-3)
    white = rgb_to_ycbcr(np.array([255.0, 255.0, 255.0]))
    np.testing.assert_allclose(white, [255, 128, 128], atol=1e-3)
    t = torch.as_tensor(np.moveaxis(rgb, -1, 0))
    np.testing.assert_allclose(np.moveaxis(rgb_to_ycbcr(t).numpy(), 0, -1), rgb_to_ycbcr(rgb))


def test_box_down_up_sampling():
    x = np.arange(16.0).reshape(4, 4)
    d = box_downsample(x, 2, 2)
    np.testing.assert_allclose(d, [[2.5, 4.5], [10.5, 12.5]])
    np.testing.assert_allclose(box_downsample(box_upsample(d, 2, 2), 2, 2), d)
    up = upsample_display(d, 2, 2)
    assert up.shape == (4, 4)
    # the triangle filter keeps constants and stays within the input range
    np.testing.assert_allclose(upsample_display(np.full((3, 3), 7.0), 2, 2), 7.0)
    assert up.min() >= d.min() and up.max() <= d.max()
