"""z files (``decode --z-out``, the app's z map download): compressed, bit-identical on
reading back, older uncompressed ones still read, corrupt ones refused."""

from __future__ import annotations

import pytest
import torch

from explorable_jpeg import compress
from explorable_jpeg.decoding.zfile import Z_TENSOR, ZFileError, load_z, save_z
from explorable_jpeg.explore.files import read_exploration
from tests.conftest import natural_image, random_decoder


@pytest.fixture(scope="module")
def code():
    return compress(natural_image(96, 128, seed=4), quality=15)[1]


@pytest.fixture(scope="module")
def dec():
    return random_decoder()


def _sparse(z: torch.Tensor) -> torch.Tensor:
    """z as an edit leaves it: zero except on one region (the start value is zero)."""
    out = torch.zeros_like(z)
    out[:, 2:6, 3:9] = z[:, 2:6, 3:9]
    return out


@pytest.mark.parametrize(("kind", "ratio"), [("dense", 0.85), ("sparse", 0.15)])
def test_z_files_are_compressed_and_read_back_bit_identical(dec, code, tmp_path, kind, ratio):
    """File size / raw float32 size below ``ratio``; the z read back is the same bits."""
    z = dec.random_z(code, 3)
    z = z if kind == "dense" else _sparse(z)
    path = tmp_path / "z.safetensors"
    save_z(path, z, code)
    raw = 4 * z.numel()
    size = path.stat().st_size
    assert size < ratio * raw, (size, raw)
    back = load_z(path, code, dec.z_shape(code))
    assert back.dtype == torch.float32 and torch.equal(back, z)
    state = read_exploration(path, code)[0]  # the app's "Continue an exploration"
    assert torch.equal(state.z, z) and state.field is None


def test_an_uncompressed_z_file_still_reads(dec, code, tmp_path):
    from safetensors.torch import save_file

    z = dec.random_z(code, 5)
    path = tmp_path / "old.safetensors"
    save_file({"z": z.contiguous()}, str(path), metadata={"width": str(code.width)})
    assert torch.equal(load_z(path, code, dec.z_shape(code)), z)
    assert torch.equal(read_exploration(path, code)[0].z, z)


def test_a_corrupt_compressed_z_is_refused(dec, code, tmp_path):
    from safetensors import safe_open
    from safetensors.torch import save_file

    path = tmp_path / "z.safetensors"
    save_z(path, dec.random_z(code, 1), code)
    with safe_open(str(path), framework="pt") as f:
        meta, data = f.metadata(), f.get_tensor(Z_TENSOR)
    save_file({Z_TENSOR: data[: data.numel() // 2].clone()}, str(path), metadata=meta)
    with pytest.raises(ZFileError, match="corrupt"):
        load_z(path, code, dec.z_shape(code))
    save_file({Z_TENSOR: data}, str(path), metadata={**meta, "codec": "rot13"})
    with pytest.raises(ZFileError, match="corrupt"):
        load_z(path, code, dec.z_shape(code))
