"""The fast forms used by snap and the encoder model equal their reference forms."""

import numpy as np
import pytest
import torch

from explorable_jpeg import compress
from explorable_jpeg.consistency.projection import crop_canvas, project, to_canvas
from explorable_jpeg.decoding.plain import component_planes_plain
from explorable_jpeg.jpeg.libjpeg.forward import (
    downsample_libjpeg,
    fdct_islow,
    fdct_islow_ints,
    quantize_islow,
    ycc_planes,
)
from explorable_jpeg.jpeg.libjpeg.inverse import idct_islow, idct_islow_ints
from explorable_jpeg.ops.color import rgb_to_ycbcr_libjpeg
from explorable_jpeg.snap.bins import mcu_scores, outside_bin
from explorable_jpeg.snap.continuous import planes_to_image, project_planes
from explorable_jpeg.snap.tiles import failing_mcus, groups
from tests.conftest import natural_image


def _extreme_blocks(rng: np.random.Generator) -> np.ndarray:
    """Random level-shifted samples, ±128/127 checkerboards and single spikes."""
    rand = rng.integers(-128, 128, size=(200, 8, 8))
    corners = rng.choice([-128, 127], size=(200, 8, 8))
    spikes = np.zeros((128, 8, 8), dtype=np.int64)
    flat = spikes.reshape(128, 64)
    flat[np.arange(64), np.arange(64)] = -128
    flat[64 + np.arange(64), np.arange(64)] = 127
    board = np.where((np.arange(8)[:, None] + np.arange(8)) % 2, 127, -128)[None]
    return np.concatenate([rand, corners, spikes, board, -board - 1])


def test_fdct_gemm_equals_the_integer_reference():
    rng = np.random.default_rng(0)
    blocks = _extreme_blocks(rng)
    np.testing.assert_array_equal(fdct_islow(blocks), fdct_islow_ints(blocks))
    view = blocks.reshape(-1, 8, 8)[::3].transpose(0, 2, 1)  # a strided view
    np.testing.assert_array_equal(fdct_islow(view), fdct_islow_ints(view))
    assert fdct_islow(blocks.astype(np.int32)).dtype == np.int64


def test_idct_gemm_equals_the_integer_reference():
    rng = np.random.default_rng(1)
    for lim, tab_hi in ((60, 100), (2047, 256), (1024, 256)):
        q = rng.integers(-lim, lim + 1, size=(300, 8, 8)).astype(np.int16)
        table = rng.integers(1, tab_hi, size=(8, 8))
        np.testing.assert_array_equal(idct_islow(q, table), idct_islow_ints(q, table))
    q[:, 1:, :] = 0  # DC-only columns (libjpeg's shortcut gives the same numbers)
    np.testing.assert_array_equal(idct_islow(q, table), idct_islow_ints(q, table))


def test_int32_colour_conversion_equals_libjpeg_model():
    rng = np.random.default_rng(2)
    rgb = rng.integers(0, 256, size=(300, 301, 3)).astype(np.uint8)
    edges = np.array(np.meshgrid(*[[0, 1, 127, 128, 254, 255]] * 3)).reshape(3, -1).T
    for x in (rgb, edges.astype(np.uint8)):
        np.testing.assert_array_equal(np.stack(ycc_planes(x), -1), rgb_to_ycbcr_libjpeg(x))
    np.testing.assert_array_equal(
        ycc_planes(rgb, luma_only=True)[0], rgb_to_ycbcr_libjpeg(rgb)[..., 0]
    )


@pytest.mark.parametrize("factors", [(1, 2), (2, 1), (2, 2), (1, 4), (2, 4)])
def test_strided_downsampling_equals_the_reshape_form(factors):
    fy, fx = factors
    plane = np.random.default_rng(3).integers(0, 256, size=(8 * fy * 3, 8 * fx * 5))
    ref = downsample_libjpeg(plane.astype(np.int64), fy, fx)  # int64: the reshape path
    np.testing.assert_array_equal(downsample_libjpeg(plane.astype(np.int32), fy, fx), ref)
    np.testing.assert_array_equal(downsample_libjpeg(plane.astype(np.uint8), fy, fx), ref)


def test_outside_bin_equals_requantization():
    rng = np.random.default_rng(4)
    table = rng.integers(1, 40, size=(8, 8))
    t = rng.integers(-3000, 3000, size=(500, 8, 8))
    q = quantize_islow(t, table) + rng.integers(-1, 2, size=t.shape)
    np.testing.assert_array_equal(outside_bin(t, q, table), quantize_islow(t, table) != q)


@pytest.mark.parametrize("subsampling,shape", [("4:2:0", (48, 64)), ("4:2:2", (37, 53))])
def test_numpy_projection_equals_the_torch_projection(subsampling, shape):
    img = natural_image(*shape, seed=5)
    _, code = compress(img, quality=30, subsampling=subsampling)
    x = component_planes_plain(code) + np.random.default_rng(6).normal(0, 3, (3, *shape))
    margins = [np.full(c.coefficients.shape, 0.02) for c in code.components]
    ref = crop_canvas(
        project(to_canvas(torch.as_tensor(x), code), code, [torch.as_tensor(m) for m in margins]),
        code,
    ).numpy()
    np.testing.assert_allclose(project_planes(x, code, margins), ref, atol=1e-9)


def test_failing_mcus_of_the_active_groups_equal_the_whole_image_scores():
    img = natural_image(45, 70, seed=7)
    _, code = compress(img, quality=50, subsampling="4:2:0")
    noisy = planes_to_image(component_planes_plain(code), code).astype(np.int16)
    noisy = noisy + np.random.default_rng(8).integers(-3, 4, noisy.shape)
    noisy = np.clip(noisy, 0, 255).astype(np.uint8)
    scores = mcu_scores(noisy, code)
    assert (scores > 0).any() and (scores == 0).any()
    every = groups(code, np.ones_like(scores, dtype=bool))
    np.testing.assert_array_equal(failing_mcus(noisy, code, every), np.argwhere(scores > 0))
