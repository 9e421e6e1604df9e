"""Projection onto the consistent set: consistent, idempotent, norm-minimal, exact for chroma."""

import numpy as np
import pytest
import torch

from explorable_jpeg import compress
from explorable_jpeg.consistency.projection import component_coefficients, project, to_canvas
from explorable_jpeg.snap.continuous import image_to_planes
from tests.conftest import natural_image


@pytest.fixture(params=["4:4:4", "4:2:2", "4:2:0", "gray"])
def code_and_canvas(request):
    color = request.param != "gray"
    img = natural_image(32, 48, seed=3, color=color)
    _, code = compress(img, quality=20, subsampling="4:2:0" if not color else request.param)
    rng = np.random.default_rng(0)
    other = natural_image(32, 48, seed=9, color=color).astype(np.float64)
    planes = image_to_planes(other + rng.normal(0, 10, other.shape), code)
    return code, to_canvas(torch.as_tensor(planes), code)


def _inside(code, canvas, tol=1e-9):
    for i, comp in enumerate(code.components):
        c = component_coefficients(canvas[i], code, i).numpy()
        if np.abs(c - comp.coefficients).max() > 0.5 + tol:
            return False
    return True


def test_projection_is_consistent_and_idempotent(code_and_canvas):
    code, x = code_and_canvas
    assert not _inside(code, x)
    p = project(x, code)
    assert _inside(code, p)
    torch.testing.assert_close(project(p, code), p, atol=1e-9, rtol=0)


def test_projection_is_norm_minimal(code_and_canvas):
    """Variational inequality of a convex projection: ⟨x − P(x), y − P(x)⟩ ≤ 0 for consistent y."""
    code, x = code_and_canvas
    p = project(x, code)
    rng = np.random.default_rng(1)
    for _ in range(5):
        y = project(p + torch.as_tensor(rng.normal(0, 20, p.shape)), code)
        assert torch.sum((x - p) * (y - p)).item() <= 1e-6
        assert torch.linalg.norm(x - p) <= torch.linalg.norm(x - y) + 1e-9


def test_chroma_projection_changes_every_sample_of_a_box_equally():
    img = natural_image(32, 32, seed=4)
    _, code = compress(img, quality=10, subsampling="4:2:0")
    x = to_canvas(torch.as_tensor(image_to_planes(natural_image(32, 32, seed=5), code)), code)
    d = (project(x, code) - x)[1].numpy()
    boxes = d.reshape(16, 2, 16, 2)
    np.testing.assert_allclose(boxes, boxes[:, :1, :, :1] * np.ones((1, 2, 1, 2)), atol=1e-9)
