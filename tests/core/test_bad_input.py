"""Every kind of bad input raises a specific error (library) or exits 2 with one line (CLI)."""

import numpy as np
import pytest

from explorable_jpeg import (
    CorruptJpegError,
    ImageTooLargeError,
    InvalidImageError,
    NotAJpegError,
    TruncatedJpegError,
    UnsupportedJpegError,
    check,
    compress,
    read_jpeg,
)
from explorable_jpeg.cli import main

BAD_FIXTURES = [
    ("not_a_jpeg.jpg", NotAJpegError, "not a JPEG"),
    ("arithmetic.jpg", UnsupportedJpegError, "arithmetic"),
    ("twelve_bit.jpg", UnsupportedJpegError, "12-bit"),
    ("lossless.jpg", UnsupportedJpegError, "lossless"),
    ("cmyk.jpg", UnsupportedJpegError, "CMYK"),
    ("ycck.jpg", UnsupportedJpegError, "YCCK"),
    ("huge_header.jpg", ImageTooLargeError, "above the limit"),
]


@pytest.mark.parametrize("name, exc, words", BAD_FIXTURES)
def test_bad_files_raise_specific_errors(fixtures_dir, name, exc, words):
    with pytest.raises(exc, match=words):
        read_jpeg(fixtures_dir / name)


@pytest.mark.parametrize("cut", [0.3, 0.7, 0.95])
def test_truncated_files_are_detected(fixtures_dir, cut):
    data = (fixtures_dir / "base_small.jpg").read_bytes()
    with pytest.raises(TruncatedJpegError, match="truncated"):
        read_jpeg(data[: int(len(data) * cut)])


def test_truncated_header_and_empty_data():
    with pytest.raises(NotAJpegError):
        read_jpeg(b"")
    with pytest.raises(TruncatedJpegError):
        read_jpeg(b"\xff\xd8\xff\xdb\x00\x43\x00")


def test_pixel_limit_is_configurable(fixtures_dir):
    with pytest.raises(ImageTooLargeError):
        read_jpeg(fixtures_dir / "gray.jpg", max_pixels=1000)


def test_corrupt_segment_length():
    data = b"\xff\xd8\xff\xe0\x00\x01" + b"\x00" * 20 + b"\xff\xd9"
    with pytest.raises(CorruptJpegError):
        read_jpeg(data)


def test_check_rejects_an_image_of_the_wrong_size(rgb_image):
    _, code = compress(rgb_image, quality=30)
    with pytest.raises(InvalidImageError, match="but the JPEG is"):
        check(code, rgb_image[:-8])


def test_compress_rejects_bad_arguments(rgb_image):
    with pytest.raises(ValueError):
        compress(rgb_image, quality=0)
    with pytest.raises(ValueError):
        compress(rgb_image)
    with pytest.raises(ValueError, match="subsampling"):
        compress(rgb_image, quality=50, subsampling="4:3:1")
    with pytest.raises(InvalidImageError):
        compress(np.full((4, 4), np.nan), quality=50)


@pytest.mark.parametrize("name, exc, words", BAD_FIXTURES)
def test_cli_reports_bad_files_with_exit_2_and_one_line(
    fixtures_dir, tmp_path, capsys, name, exc, words
):
    rc = main(["decode", str(fixtures_dir / name), "-o", str(tmp_path / "o.png")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2
    assert len(err) == 1 and err[0].startswith("error: ") and words in err[0]
    assert not (tmp_path / "o.png").exists()


def test_cli_unwritable_output_and_missing_input(fixtures_dir, tmp_path, capsys):
    rc = main(["decode", str(fixtures_dir / "gray.jpg"), "-o", str(tmp_path / "no/dir/o.png")])
    assert rc == 2 and "does not exist" in capsys.readouterr().err
    rc = main(["decode", str(tmp_path / "missing.jpg"), "-o", str(tmp_path / "o.png")])
    assert rc == 2 and "no such file" in capsys.readouterr().err
    rc = main(["check", str(fixtures_dir / "gray.jpg"), str(tmp_path / "missing.png")])
    assert rc == 2 and "no such file" in capsys.readouterr().err
