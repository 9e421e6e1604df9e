"""Decoder networks and pipeline: consistency for any z and weights, loading, tiling, z files."""

import logging
import shutil

import numpy as np
import pytest
import torch

from explorable_jpeg import check, compress
from explorable_jpeg.decoding.decoder import BUNDLED_WEIGHTS, Decoder, WeightsError
from explorable_jpeg.decoding.zfile import ZFileError, load_z, save_z
from tests.conftest import natural_image, random_decoder


@pytest.mark.parametrize("subsampling", ["gray", "4:4:4", "4:2:2", "4:2:0"])
@pytest.mark.parametrize("quality", [5, 30, 75])
def test_outputs_are_consistent_for_random_z_and_weights(subsampling, quality):
    img = natural_image(40, 56, seed=quality)
    if subsampling == "gray":
        img = img[..., 0]
    _, code = compress(
        img, quality=quality, subsampling="4:2:0" if subsampling == "gray" else subsampling
    )
    dec = random_decoder(seed=quality)
    for seed in (0, 1):
        out = dec.decode(code, seed=seed)
        assert out.shape == img.shape
        report = check(code, out)
        assert report.consistent, report.summary()


def test_continuous_planes_are_consistent_by_construction():
    """Before 8-bit rounding every coefficient lies strictly inside its bin (at image edges
    that are not whole MCUs, exactness of the replicated padding comes with the snap)."""
    from explorable_jpeg.consistency.projection import component_coefficients, to_canvas

    img = natural_image(48, 64, seed=8)  # whole MCUs: no edge replication involved
    _, code = compress(img, quality=10, subsampling="4:2:0")
    dec = random_decoder()
    with torch.no_grad():
        planes = dec.decode_planes(code, dec.random_z(code, 3)).double()
    canvas = to_canvas(planes, code)
    for i, comp in enumerate(code.components):
        c = component_coefficients(canvas[i], code, i).numpy()
        assert np.abs(c - comp.coefficients).max() < 0.5 + 1e-6


def test_z_none_is_deterministic_and_seeds_differ(rgb_image):
    _, code = compress(rgb_image, quality=10)
    dec = random_decoder()
    np.testing.assert_array_equal(dec.decode(code), dec.decode(code))
    a, b = dec.decode(code, seed=1), dec.decode(code, seed=2)
    assert np.abs(a.astype(int) - b.astype(int)).mean() > 0.5
    np.testing.assert_array_equal(a, dec.decode(code, seed=1))


def test_gradients_reach_z(rgb_image):
    _, code = compress(rgb_image, quality=10)
    dec = random_decoder()
    z = dec.random_z(code, 0).requires_grad_(True)
    dec.decode_planes(code, z, tile_blocks=None).pow(2).mean().backward()
    assert z.grad is not None and z.grad.abs().sum() > 0


def test_to_gan_starts_at_the_l1_output(rgb_image):
    _, code = compress(rgb_image, quality=20)
    l1 = random_decoder(z=False)
    gan = l1.to_gan()
    assert gan.z_channels == 64
    with torch.no_grad():
        a = l1.decode_planes(code)
        b = gan.decode_planes(code, gan.random_z(code, 5))
    torch.testing.assert_close(a, b)


def test_tiled_decode_equals_untiled():
    img = natural_image(96, 136, seed=4)
    _, code = compress(img, quality=15, subsampling="4:2:0")
    dec = random_decoder(scale=0.05)  # tame weights: float rounding is not amplified
    z = dec.random_z(code, 1)
    with torch.no_grad():
        full = dec.decode_planes(code, z, tile_blocks=None)
        tiled = dec.decode_planes(code, z, tile_blocks=4)
    torch.testing.assert_close(tiled, full, atol=1e-3, rtol=0)


def test_save_and_load_round_trip(tmp_path, rgb_image):
    _, code = compress(rgb_image, quality=20)
    dec = random_decoder(scale=0.05)
    dec.save_pretrained(tmp_path / "gan")
    again = Decoder.from_pretrained(tmp_path, variant="gan", device="cpu")
    assert again.config_dict() == dec.config_dict()
    with torch.no_grad():  # fp16 storage: equal up to half precision
        for p in dec.parameters():
            p.copy_(p.half().float())
        torch.testing.assert_close(
            again.decode_planes(code), dec.decode_planes(code), atol=1e-3, rtol=0
        )


def test_bundled_weights_load_without_network():
    for variant in ("l1", "gan"):
        dec = Decoder.from_pretrained(variant=variant, device="cpu")
        assert dec.variant == variant
    assert (BUNDLED_WEIGHTS / "l1" / "README.md").is_file()


def test_wrong_weights_raise_weights_error(tmp_path):
    folder = tmp_path / "w"
    random_decoder().save_pretrained(folder)
    cfg = (folder / "config.json").read_text().replace('"channels": 16', '"channels": 24', 1)
    (folder / "config.json").write_text(cfg)
    with pytest.raises(WeightsError, match="do not fit"):
        Decoder.from_folder(folder)
    (folder / "model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(WeightsError):
        Decoder.from_folder(folder)
    with pytest.raises(WeightsError):
        Decoder.from_folder(tmp_path / "missing")


def _populate_hub_cache(cache, repo: str, source) -> None:
    commit = "0" * 40
    base = cache / f"models--{repo.replace('/', '--')}"
    (base / "refs").mkdir(parents=True)
    (base / "refs" / "main").write_text(commit)
    snap = base / "snapshots" / commit / "l1"
    snap.mkdir(parents=True)
    for name in ("config.json", "model.safetensors"):
        shutil.copy(source / name, snap / name)


def test_hub_path_from_prepopulated_cache_offline(tmp_path, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    src = tmp_path / "src"
    random_decoder(z=False).save_pretrained(src)
    _populate_hub_cache(tmp_path, "someone/jpeg-weights", src)
    dec = Decoder.from_pretrained("someone/jpeg-weights", variant="l1", device="cpu")
    assert dec.luma.config.channels == 16  # the cached weights, not the bundled ones


def test_hub_unreachable_falls_back_to_bundled_with_a_log_line(tmp_path, monkeypatch, caplog):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    with caplog.at_level(logging.WARNING, logger="explorable_jpeg.decoding.decoder"):
        dec = Decoder.from_pretrained("nobody/not-cached", variant="l1", device="cpu")
    assert dec.luma.config == Decoder.from_pretrained(variant="l1", device="cpu").luma.config
    assert any("bundled weights" in r.message for r in caplog.records)


def test_z_files_round_trip_and_reject_bad_ones(tmp_path, rgb_image):
    _, code = compress(rgb_image, quality=20)
    _, other = compress(rgb_image, quality=21)
    dec = random_decoder()
    z = dec.random_z(code, 7)
    path = tmp_path / "z.safetensors"
    save_z(path, z, code)
    torch.testing.assert_close(load_z(path, code, dec.z_shape(code)), z)
    with pytest.raises(ZFileError, match="another JPEG"):
        load_z(path, other, dec.z_shape(other))
    save_z(path, torch.full_like(z, float("nan")), code)
    with pytest.raises(ZFileError, match="NaN"):
        load_z(path, code, dec.z_shape(code))
    path.write_bytes(b"\x00" * 20)
    with pytest.raises(ZFileError, match="corrupt"):
        load_z(path, code, dec.z_shape(code))


def test_unreachable_hub_uses_the_cache_without_waiting(tmp_path, monkeypatch):
    """Not offline, but the endpoint refuses connections: the cached files are used."""
    from huggingface_hub import constants

    for var in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    src = tmp_path / "src"
    random_decoder(z=False).save_pretrained(src)
    _populate_hub_cache(tmp_path, "someone/cached", src)
    dec = Decoder.from_pretrained("someone/cached", variant="l1", device="cpu")
    assert dec.luma.config.channels == 16
