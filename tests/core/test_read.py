"""Reading real files: coefficients, tables, sampling, progressive, restarts, orientation."""

import numpy as np
import pytest

from explorable_jpeg import compress, decode_plain, libjpeg_decode, read_jpeg
from explorable_jpeg.jpeg.tables import ijg_tables


def test_compress_then_read_gives_the_written_code(rgb_image):
    data, code = compress(rgb_image, quality=30, subsampling="4:2:0")
    again = read_jpeg(data)
    assert (again.width, again.height) == (72, 48)
    assert again.subsampling == "4:2:0"
    for a, b in zip(code.components, again.components, strict=True):
        np.testing.assert_array_equal(a.coefficients, b.coefficients)
    luma, chroma = ijg_tables(30)
    np.testing.assert_array_equal(again.components[0].table, luma)
    np.testing.assert_array_equal(again.components[2].table, chroma)


def test_ijg_tables_match_pillow_at_every_quality():
    import io

    from PIL import Image

    img = np.zeros((8, 8), np.uint8)
    for q in (1, 5, 10, 25, 49, 50, 75, 90, 100):
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, format="JPEG", quality=q)
        pil = np.array(Image.open(buf).quantization[0]).reshape(8, 8)
        np.testing.assert_array_equal(ijg_tables(q)[0], pil)


@pytest.mark.parametrize(
    "name, subsampling",
    [
        ("base_small.jpg", "4:2:0"),
        ("gray.jpg", "gray"),
        ("s422.jpg", "4:2:2"),
        ("s411.jpg", "4:1:1"),
        ("s440.jpg", "4:4:0"),
        ("realworld_mate_blinds.jpg", "4:2:2"),
    ],
)
def test_plain_decode_matches_libjpeg_within_one_level(fixtures_dir, name, subsampling):
    path = fixtures_dir / name
    code = read_jpeg(path)
    assert code.subsampling == subsampling
    ours = decode_plain(code, exact=False).astype(int)
    ref = libjpeg_decode(path).astype(int)
    assert ours.shape == ref.shape
    assert (np.abs(ours - ref) <= 1).mean() >= 0.99


def test_progressive_and_restart_files_carry_the_same_code(fixtures_dir):
    base = read_jpeg(fixtures_dir / "base_small.jpg")
    prog = read_jpeg(fixtures_dir / "progressive.jpg")
    rst = read_jpeg(fixtures_dir / "restart.jpg")
    assert prog.progressive and not base.progressive
    assert rst.restart_interval > 0
    for other in (prog, rst):
        for a, b in zip(base.components, other.components, strict=True):
            np.testing.assert_array_equal(a.coefficients, b.coefficients)
            np.testing.assert_array_equal(a.table, b.table)


def test_real_world_tables_are_read_and_are_not_ijg(fixtures_dir):
    code = read_jpeg(fixtures_dir / "realworld_mate_wood.jpg")
    luma = code.components[0].table
    assert not any(np.array_equal(luma, ijg_tables(q)[0]) for q in range(1, 101))
    assert luma.min() >= 1


def test_exif_orientation_is_reported_not_applied(fixtures_dir):
    code = read_jpeg(fixtures_dir / "orientation6.jpg")
    assert code.orientation == 6
    assert (code.width, code.height) == (128, 96)  # stored size, not rotated


def test_read_accepts_path_bytes_and_file_object(fixtures_dir):
    path = fixtures_dir / "gray.jpg"
    a = read_jpeg(path)
    b = read_jpeg(path.read_bytes())
    with open(path, "rb") as f:
        c = read_jpeg(f)
    for x in (b, c):
        np.testing.assert_array_equal(a.components[0].coefficients, x.components[0].coefficients)


def test_compress_with_explicit_tables_expands_luma_chroma_pairs(rgb_image, gray_image):
    luma, chroma = ijg_tables(40)
    for tables in ([luma, chroma], [luma], [luma, chroma, chroma]):
        _, code = compress(rgb_image, tables=tables, subsampling="4:2:2")
        np.testing.assert_array_equal(code.components[0].table, luma)
        np.testing.assert_array_equal(code.components[2].table, tables[-1])
    _, code = compress(gray_image, tables=[chroma])
    np.testing.assert_array_equal(code.components[0].table, chroma)
