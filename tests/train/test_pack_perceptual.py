"""The int8 packing of the VGG ST-LPIPS weights for GPU boxes (scripts/pack_perceptual.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import torch

SCRIPT = Path(__file__).resolve().parents[2] / "packages/train/scripts/pack_perceptual.py"


def _module():
    spec = importlib.util.spec_from_file_location("pack_perceptual", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _state() -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return {
        "net.slice1.0.weight": torch.randn(16, 3, 3, 3, generator=g) * 0.1,
        "net.slice2.6.weight": torch.randn(32, 16, 3, 3, generator=g)
        * torch.linspace(0.01, 1, 32)[:, None, None, None],
        "net.slice2.6.bias": torch.randn(32, generator=g),
        "net.slice3.11.filt": torch.rand(128, 1, 3, 3, generator=g),
        "lin0.model.1.weight": torch.rand(1, 64, 1, 1, generator=g),
    }


def test_quantise_round_trip_error_is_within_half_a_step_per_channel():
    m = _module()
    state = _state()
    packed = m.quantise(state)
    assert packed["net.slice2.6.weight::q"].dtype == np.int8
    # small kernels, biases, blur filters and the linear heads stay float32, exactly
    for k in (
        "net.slice1.0.weight",
        "net.slice2.6.bias",
        "net.slice3.11.filt",
        "lin0.model.1.weight",
    ):
        assert packed[k].dtype == np.float32
    back = m.dequantise(packed)
    assert set(back) == set(state)
    w = state["net.slice2.6.weight"].numpy()
    err = np.abs(back["net.slice2.6.weight"] - w).reshape(32, -1).max(1)
    step = np.abs(w).reshape(32, -1).max(1) / 127
    assert (err <= step / 2 + 1e-7).all()
    assert np.array_equal(back["net.slice3.11.filt"], state["net.slice3.11.filt"].numpy())


def test_unpack_writes_the_dequantised_state_where_the_package_looks(tmp_path):
    m = _module()
    state = _state()
    np.savez_compressed(tmp_path / "vgg_st_int8.npz", **m.quantise(state))
    path = m.unpack(tmp_path)
    assert path == tmp_path / "pylib" / "stlpips_pytorch" / m.WEIGHTS
    loaded = torch.load(path, map_location="cpu", weights_only=True)
    expected = m.dequantise(m.quantise(state))
    assert set(loaded) == set(state)
    for k, v in expected.items():
        assert torch.equal(loaded[k], torch.from_numpy(v))
