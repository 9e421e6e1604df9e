"""Unreachable edge blocks: files whose padding is not libjpeg's edge replication."""

from __future__ import annotations

import struct

import numpy as np
import pytest

import explorable_jpeg as ej
from explorable_jpeg.cli import main as cli_main
from explorable_jpeg.consistency.reachability import unreachable_blocks

SAMPLINGS = ["4:4:4", "4:2:0", "4:2:2", "4:1:1", "4:4:0"]


def crop_header(data: bytes, height: int, width: int) -> bytes:
    """What ``jpegtran -crop`` leaves at an edge that is not on the MCU grid: the same scan
    under a smaller frame size, so the edge blocks keep picture beyond the new border."""
    i = data.index(b"\xff\xc0")
    return data[: i + 5] + struct.pack(">HH", height, width) + data[i + 9 :]


def _partial(code: ej.JpegCode, index: int) -> np.ndarray:
    """Blocks of component ``index`` whose footprint crosses the right or bottom border."""
    fy, fx = code.factors(index)
    by, bx = code.components[index].blocks
    rows = 8 * fy * (np.arange(by) + 1) > code.height
    cols = 8 * fx * (np.arange(bx) + 1) > code.width
    return rows[:, None] | cols[None, :]


def _noise(h: int, w: int, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).random((h, w, 3)) * 255).astype(np.uint8)


@pytest.mark.parametrize("sampling", ["gray", *SAMPLINGS])
def test_files_libjpeg_wrote_are_never_flagged(sampling):
    """Soundness: a block libjpeg encoded from an image of the file's size is reachable."""
    rng = np.random.default_rng(7)
    for h, w in [(9, 13), (23, 41), (38, 28), (60, 10), (17, 50)]:
        contents = [_noise(h, w, h * w), (rng.random((h, w, 3)) > 0.5).astype(np.uint8) * 255]
        for img in contents:
            for qf in (5, 95, 100):
                if sampling == "gray":
                    data, _ = ej.compress(img[..., 0], quality=qf)
                else:
                    data, _ = ej.compress(img, quality=qf, subsampling=sampling)
                flags = unreachable_blocks(ej.read_jpeg(data))
                assert not any(f.any() for f in flags), (h, w, qf)


@pytest.mark.parametrize("sampling", ["gray", "4:4:4", "4:2:0", "4:2:2"])
def test_cropped_files_flag_their_edge_blocks_only(sampling):
    img = _noise(64, 80, 3)
    if sampling == "gray":
        data, _ = ej.compress(img[..., 0], quality=75)
    else:
        data, _ = ej.compress(img, quality=75, subsampling=sampling)
    code = ej.read_jpeg(crop_header(data, 59, 75))
    flags = unreachable_blocks(code)
    for i, f in enumerate(flags):
        partial = _partial(code, i)
        assert not (f & ~partial).any()  # never an interior block
    y = flags[0]
    assert y.sum() >= 0.8 * _partial(code, 0).sum()  # noise beyond the border: nearly all


def test_plain_decoding_of_a_cropped_file_is_consistent_where_reachable():
    img = _noise(48, 64, 5)
    data, _ = ej.compress(img, quality=60, subsampling="4:2:0")
    cropped = crop_header(data, 45, 61)
    code = ej.read_jpeg(cropped)
    out = ej.decode_plain(code)
    report = ej.check(code, out)
    assert not report.consistent  # the unreachable blocks do differ…
    assert report.consistent_where_reachable  # …and nothing else
    assert report.unreachable_blocks > 0
    assert report.worst_excess == 0
    assert "CONSISTENT WHERE REACHABLE" in report.summary()


def test_real_lossless_crop_fixture(fixtures_dir):
    """``jpegtran -crop 203x141+1760+640`` of a real photo (see ``fixtures/SOURCES.md``)."""
    path = fixtures_dir / "realworld_lomiri_picos_203x141.jpg"
    code = ej.read_jpeg(path)
    flags = unreachable_blocks(code)
    assert flags[0].sum() >= 40 and not flags[1].any() and not flags[2].any()
    out = ej.decode_plain(code)
    report = ej.check(code, out)
    assert report.consistent_where_reachable and report.unreachable_blocks == flags[0].sum()
    # the visible pixels of the edge blocks are not bent towards the impossible target
    # (before: 2.6 gray levels on the last 3 columns and rows, up to 11)
    diff = np.abs(out.astype(np.float64) - ej.libjpeg_decode(path)).max(axis=-1)
    assert diff[:, -3:].mean() < 0.6 and diff[-3:].mean() < 0.6


def test_cli_check_exit_code_on_a_cropped_file(tmp_path, capsys):
    from PIL import Image

    data, _ = ej.compress(_noise(32, 48, 9), quality=70, subsampling="4:2:0")
    jpg = tmp_path / "crop.jpg"
    jpg.write_bytes(crop_header(data, 29, 45))
    png = tmp_path / "out.png"
    Image.fromarray(ej.decode_plain(ej.read_jpeg(jpg))).save(png)
    assert cli_main(["check", str(jpg), str(png)]) == 0
    assert "CONSISTENT WHERE REACHABLE" in capsys.readouterr().out
    assert cli_main(["check", "--strict", str(jpg), str(png)]) == 1


def test_a_block_that_needs_samples_above_255_is_unreachable():
    """Another encoder's rounding can ask for more than white: a block whose DC is 40 steps
    above that of a pure-white block needs a mean sample far above 255."""
    import dataclasses

    white = np.full((32, 32), 255, np.uint8)
    code = ej.read_jpeg(ej.compress(white, quality=90)[0])
    coef = code.components[0].coefficients.copy()
    coef[1, 2, 0, 0] += 40
    comp = dataclasses.replace(code.components[0], coefficients=coef)
    bright = dataclasses.replace(code, components=(comp,))
    flags = unreachable_blocks(bright)[0]
    assert flags.sum() == 1 and flags[1, 2]
    assert not unreachable_blocks(code)[0].any()
    report = ej.check(bright, ej.decode_plain(bright))
    assert report.consistent_where_reachable and report.unreachable_blocks == 1
    assert "samples outside 0-255" in report.summary()
