"""Corrupt entropy-coded data that libjpeg decodes without a warning, and libjpeg's messages
captured per file when several threads read at once."""

from __future__ import annotations

import dataclasses
import threading

import numpy as np
import pytest

import explorable_jpeg as ej
from explorable_jpeg.cli import main as cli_main
from explorable_jpeg.consistency.reachability import impossible_blocks, unreachable_blocks
from explorable_jpeg.errors import CorruptJpegDataError
from explorable_jpeg.jpeg.io import SAMPLE_MARGIN
from tests.fuzz.fuzzer import base_files, generate_cases


def _restart_damage() -> bytes:
    """Fuzz case 253: three bytes replaced inside the restart intervals of a 4:2:2 file.

    libjpeg decodes it without a warning, every coefficient is of ordinary size, and yet a
    luma block would need samples down to about −68; the plain decoding failed ``check``."""
    case = generate_cases(1, start=253)[0]
    assert case.name == "253-entropy_flip-c422_q60_restart"
    return case.data


def test_silently_damaged_restart_intervals_are_refused_as_corrupt_data():
    with pytest.raises(CorruptJpegDataError, match=r"need a sample outside -32\.\.287"):
        ej.read_jpeg(_restart_damage())
    code = ej.read_jpeg(_restart_damage(), allow_corrupt=True)  # the opt-in still reads it
    assert sum(int(f.sum()) for f in impossible_blocks(code, SAMPLE_MARGIN)) >= 1


def test_the_cli_refuses_it_in_one_specific_line(tmp_path, capsys):
    src = tmp_path / "damaged.jpg"
    src.write_bytes(_restart_damage())
    rc = cli_main(["decode", str(src), "-o", str(tmp_path / "out.png"), "--model", "plain"])
    lines = [x for x in capsys.readouterr().err.splitlines() if x.strip()]
    assert rc == 2 and len(lines) == 1
    assert lines[0].startswith("error: ") and "corrupt JPEG data" in lines[0]
    assert "--allow-corrupt" in lines[0] and not (tmp_path / "out.png").exists()


def test_the_undamaged_file_and_other_encoders_overshoot_are_accepted():
    """Soundness: nothing libjpeg wrote is flagged even without a margin, and a block that
    needs samples a little above 255 (another encoder's rounding) is unreachable but not
    taken for damage; 40 DC steps more than white at QF 50 (≈ +80 samples) is damage."""
    original = dict(base_files())["c422_q60_restart"]
    assert not any(f.any() for f in impossible_blocks(ej.read_jpeg(original), 0.0))
    white = np.full((32, 32), 255, np.uint8)
    code = ej.read_jpeg(ej.compress(white, quality=50)[0])
    step = int(code.components[0].table[0, 0])

    def brighter(dc_steps: int) -> ej.JpegCode:
        coef = code.components[0].coefficients.copy()
        coef[1, 2, 0, 0] += dc_steps
        comp = dataclasses.replace(code.components[0], coefficients=coef)
        return dataclasses.replace(code, components=(comp,))

    slightly = brighter(-(-16 * 8 // step))  # about 16 samples above white
    assert unreachable_blocks(slightly)[0][1, 2]
    assert not impossible_blocks(slightly, SAMPLE_MARGIN)[0].any()
    far = impossible_blocks(brighter(40), SAMPLE_MARGIN)[0]
    assert far.sum() == 1 and far[1, 2]


def _with_extraneous_bytes(n: int) -> bytes:
    """A valid file with ``n`` stray bytes before its EOI marker: libjpeg warns "Corrupt
    JPEG data: k extraneous bytes before marker 0xd9", ``k`` growing with ``n``."""
    img = (np.random.default_rng(0).random((64, 64)) * 255).astype(np.uint8)
    data, _ = ej.compress(img, quality=80)
    return data[:-2] + b"\x00" * n + b"\xff\xd9"


def _message(data: bytes) -> str:
    with pytest.raises(CorruptJpegDataError) as info:
        ej.read_jpeg(data)
    return str(info.value)


def test_threads_reading_bad_files_at_once_each_get_their_own_message():
    """libjpeg's messages are captured from the process-wide file descriptor 2; two threads
    capturing at once used to swap or merge their messages ("; 1 more such warnings")."""
    files = {n: _with_extraneous_bytes(n) for n in (3, 9)}
    expected = {n: _message(d) for n, d in files.items()}
    assert all("extraneous bytes" in m for m in expected.values())
    assert expected[3] != expected[9]
    got: list[tuple[int, str]] = []
    start = threading.Barrier(4)

    def read(n: int) -> None:
        start.wait()
        for _ in range(25):
            got.append((n, _message(files[n])))

    threads = [threading.Thread(target=read, args=(n,)) for n in (3, 9, 3, 9)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 100
    assert [m for n, m in got if m != expected[n]] == []
