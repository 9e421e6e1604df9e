"""Offline checks of the ``train_extra`` allow-list and down-scale rules (no .deb needed)."""

from __future__ import annotations

import pytest
from PIL import Image

from explorable_jpeg_train import prepare_extra as pe

VAL_STEMS = {"aitzgorri_by_Aitzol_Berasategi", "RainDrops", "ColorfulCups", "Grey", "Path"}


def test_selection_names_unique_and_well_formed() -> None:
    names = [p.output_name for p in pe.SELECTION]
    assert len(names) == len(set(names))
    for p in pe.SELECTION:
        assert p.output_name == f"{p.package}__{p.stem}.png"
    assert 10 <= len(pe.SELECTION) <= 30


def test_selection_has_no_palapeli_and_no_val_photo() -> None:
    for p in pe.SELECTION:
        assert "palapeli" not in p.package and "palapeli" not in p.path
        assert p.stem not in VAL_STEMS
        assert (p.package, p.stem) not in pe.VAL_PHOTOS
    pe.check_selection(pe.SELECTION, set(pe.VAL_PHOTOS))


def test_check_selection_refuses_forbidden_entries() -> None:
    bad_pkg = (pe.Pick("palapeli-data", "usr/share/palapeli/collection/castle.jpg", "x"),)
    with pytest.raises(ValueError):
        pe.check_selection(bad_pkg, set())
    val = (pe.Pick("mate-backgrounds", "usr/share/backgrounds/mate/nature/RainDrops.jpg", "x"),)
    with pytest.raises(ValueError):
        pe.check_selection(val, set())
    dup = (pe.SELECTION[0], pe.SELECTION[0])
    with pytest.raises(ValueError):
        pe.check_selection(dup, set())


@pytest.mark.parametrize(
    "size", [(1280, 1024), (1600, 1203), (1920, 1278), (3000, 1993), (800, 600)]
)
def test_jpeg_factor_at_least_two_and_fits(size: tuple[int, int]) -> None:
    f = pe.scale_factor(*size, jpeg=True)
    assert f >= 2.0
    w, h = pe.target_size(*size, f)
    assert max(w, h) <= pe.MAX_SIDE


@pytest.mark.parametrize(
    "size", [(3000, 1994), (2000, 1333), (1920, 1277), (1280, 853), (900, 600)]
)
def test_png_factor_caps_long_side_at_1280(size: tuple[int, int]) -> None:
    f = pe.scale_factor(*size, jpeg=False)
    assert f >= 1.0
    w, h = pe.target_size(*size, f)
    assert max(w, h) <= 1280
    if max(size) > 1280:
        assert max(w, h) >= 1279
    else:
        assert (w, h) == size


def test_is_jpeg_path() -> None:
    assert pe.is_jpeg_path("a/b/Photo.JPG") and pe.is_jpeg_path("x.jpeg")
    assert not pe.is_jpeg_path("x.png")


def test_near_copy_measures() -> None:
    grad = Image.linear_gradient("L").convert("RGB").resize((300, 200))
    same = grad.resize((150, 100), Image.Resampling.LANCZOS)
    other = grad.transpose(Image.Transpose.FLIP_TOP_BOTTOM)
    assert pe.hamming(pe.dhash(grad), pe.dhash(same)) <= pe.NEAR_COPY_BITS
    assert pe.thumb_mad(pe.thumb(grad), pe.thumb(same)) <= pe.NEAR_COPY_MAD
    assert pe.thumb_mad(pe.thumb(grad), pe.thumb(other)) > pe.NEAR_COPY_MAD


def test_prepare_probe_halves_every_image(tmp_path):
    from PIL import Image

    from explorable_jpeg_train.prepare_probe import halve_folder
    from tests.conftest import natural_image

    src = tmp_path / "src"
    src.mkdir()
    Image.fromarray(natural_image(64, 90, seed=1)).save(src / "a.png")
    Image.fromarray(natural_image(50, 40, seed=2, color=False)).save(src / "b.png")
    (src / "notes.txt").write_text("not an image")
    out = halve_folder(src, tmp_path / "out")
    sizes = {p.name: Image.open(p).size for p in out}
    assert sizes == {"a.png": (45, 32), "b.png": (20, 25)}
    assert all(Image.open(p).mode == "RGB" for p in out)
