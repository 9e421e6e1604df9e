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
from tests.conftest import corrupt_entropy, pillow_jpeg

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


# ------------------------------------------------------------------ issue 22: reliability
def _segment(data: bytes, marker: int) -> int:
    """Offset of the first marker segment 0xFF <marker> (before the first scan)."""
    pos = data.find(bytes([0xFF, marker]))
    assert pos > 0
    return pos


def test_zero_quantization_entry_is_refused_at_read_time():
    data = bytearray(pillow_jpeg())
    dqt = _segment(bytes(data), 0xDB)
    data[dqt + 5 + 7] = 0  # 8th entry (zigzag) of table 0
    with pytest.raises(
        CorruptJpegError, match=r"quantization table 0 has an entry of 0 \(position 7"
    ):
        read_jpeg(bytes(data))


def test_zero_entry_in_a_16_bit_table_is_refused():
    import struct

    data = pillow_jpeg()
    dqt = _segment(data, 0xDB)
    (length,) = struct.unpack(">H", data[dqt + 2 : dqt + 4])
    table = list(data[dqt + 5 : dqt + 5 + 64])
    table[3] = 0
    seg = bytes([0x10]) + b"".join(struct.pack(">H", v) for v in table)
    new = data[:dqt] + b"\xff\xdb" + struct.pack(">H", 2 + len(seg)) + seg
    new += data[dqt + 2 + length :]  # drops the other tables of that segment, if any
    with pytest.raises(CorruptJpegError, match="entry of 0"):
        read_jpeg(new)


def _forge_size(data: bytes, width: int, height: int) -> bytes:
    import struct

    sof = _segment(data, 0xC0)
    return data[: sof + 5] + struct.pack(">HH", height, width) + data[sof + 9 :]


def test_forged_dimensions_are_refused_before_allocating():
    import resource
    import time

    data = _forge_size(pillow_jpeg(), 10000, 9999)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    with pytest.raises(CorruptJpegError, match=r"claims 10000x9999 pixels.*forged or damaged"):
        read_jpeg(data)
    assert time.perf_counter() - t0 < 1.0
    # nothing was allocated for 10000x9999 (its coefficients alone would be 300 MB)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 50_000  # kB


def test_a_size_the_data_can_hold_is_still_read():
    # the bound is a lower bound on the data: a genuine file at its real size passes,
    # including progressive files (1 bit per block in DC scans)
    for kw in ({}, {"progressive": True}, {"subsampling": 0}):
        code = read_jpeg(pillow_jpeg(quality=5, size=(16, 16), **kw))
        assert (code.width, code.height) == (16, 16)


def test_file_size_limit(tmp_path, monkeypatch):
    data = pillow_jpeg()
    with pytest.raises(ImageTooLargeError, match="above the limit of 100 "):
        read_jpeg(data, max_file_bytes=100)
    path = tmp_path / "x.jpg"
    path.write_bytes(data)
    monkeypatch.setenv("EXPLORABLE_JPEG_MAX_FILE_BYTES", "100")
    with pytest.raises(ImageTooLargeError, match="EXPLORABLE_JPEG_MAX_FILE_BYTES"):
        read_jpeg(path)


def test_corrupt_entropy_data_is_refused_by_default_with_libjpegs_reason():
    from explorable_jpeg.errors import CorruptJpegDataError

    bad = corrupt_entropy(pillow_jpeg(quality=30))
    with pytest.raises(CorruptJpegDataError, match=r"libjpeg: Corrupt JPEG data: .*allow_corrupt"):
        read_jpeg(bad)
    a = read_jpeg(bad, allow_corrupt=True)  # opt-in: what libjpeg recovered, deterministic
    b = read_jpeg(bad, allow_corrupt=True)
    for x, y in zip(a.components, b.components, strict=True):
        np.testing.assert_array_equal(x.coefficients, y.coefficients)


@pytest.mark.parametrize(
    "mutate, reason",
    [
        ("dup_sof", "libjpeg could not read the file: Invalid JPEG file structure: two SOF"),
        ("bad_table_index", "Quantization table 0x03 was not defined"),
        ("dimension_65535", "Maximum supported image dimension is 65500 pixels"),
    ],
)
def test_libjpeg_refusals_name_libjpegs_reason_and_no_temporary_path(
    tmp_path, capsys, mutate, reason
):
    import struct

    data = pillow_jpeg()
    sof = _segment(data, 0xC0)
    (length,) = struct.unpack(">H", data[sof + 2 : sof + 4])
    if mutate == "dup_sof":
        bad = data[:sof] + data[sof : sof + 2 + length] + data[sof:]
    elif mutate == "bad_table_index":
        bad = data[: sof + 12] + b"\x03" + data[sof + 13 :]
    else:  # enough entropy-coded data for a 65535x1 frame, so that libjpeg judges it
        bad = _forge_size(pillow_jpeg(quality=95, size=(64, 256)), 65535, 1)
    with pytest.raises(CorruptJpegError) as info:
        read_jpeg(bad)
    assert reason in str(info.value) and "/tmp" not in str(info.value)
    path = tmp_path / "in.jpg"
    path.write_bytes(bad)
    assert main(["decode", str(path), "-o", str(tmp_path / "o.png"), "--model", "plain"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and reason in err[0]
    assert "tmp" not in err[0].replace(str(tmp_path), "")


def test_coefficients_no_8_bit_image_has_are_refused_as_corrupt():
    # fuzz case 55: bytes flipped in the entropy-coded data that libjpeg decodes without a
    # warning, into a coefficient of 2 257 (x step) where no 8-bit block exceeds 1 024
    from explorable_jpeg.errors import CorruptJpegDataError
    from tests.fuzz.fuzzer import generate_cases

    data = generate_cases(1, start=55)[0].data
    with pytest.raises(CorruptJpegDataError, match="beyond what any 8-bit image gives"):
        read_jpeg(data)
    assert read_jpeg(data, allow_corrupt=True).width > 0
