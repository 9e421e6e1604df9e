"""The fast subset of the mutation fuzzer (6 cases of each of its 9 kinds); ``nox -s fuzz``
runs 320 (``python -m tests.fuzz.fuzzer``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fuzz.fuzzer import MUTATIONS, _judge, generate_cases, run_case, warm_up

FAST_CASES = generate_cases(6 * len(MUTATIONS))


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("fuzz")
    warm_up(path)  # imports and one good decode, not charged to the first case
    return path


@pytest.mark.parametrize("case", FAST_CASES, ids=[c.name for c in FAST_CASES])
def test_mutated_file_is_decoded_consistently_or_refused_in_one_line(case, workdir):
    outcome = run_case(case, workdir, time_bound_s=10.0, memory_bound_mb=256.0)
    assert outcome.clean, outcome.detail


def test_cases_are_seeded_and_cover_every_kind():
    again = generate_cases(len(FAST_CASES))
    assert [c.data for c in again] == [c.data for c in FAST_CASES]
    assert {c.kind for c in FAST_CASES} == set(MUTATIONS)
    assert len({c.data for c in FAST_CASES}) > 0.9 * len(FAST_CASES)


def test_the_judge_flags_what_is_not_clean(tmp_path):
    src = tmp_path / "in.jpg"
    assert _judge(2, "error: bad sampling factors 0x1 in frame header\n", src)[0] == "clean-refused"
    assert _judge(0, "", src)[0] == "clean-decoded"
    for rc, err in [
        (2, "decode: 100%|##########|\rerror: truncated JPEG file\n"),  # a bar before it
        (2, "WARNING x\nerror: truncated JPEG file\n"),
        (2, "error: libjpeg could not read the file: reading info of /tmp/x/in.jpg failed\n"),
        (2, "error: internal error (KeyError: 3); rerun with -v for details\n"),
        (3, "error: internal error\n"),
        (1, ""),
    ]:
        assert _judge(rc, err, src)[0] == "bad", err


def test_forged_dimensions_are_refused_without_importing_torch(tmp_path):
    """Reading (and refusing) a file needs neither torch nor the ops package: a hostile file
    costs the refusal, not the ~3 s import of torch."""
    import struct

    from tests.conftest import run_fresh_python
    from tests.fuzz.fuzzer import _of, base_files

    data = base_files()[0][1]
    sof = _of(data, (0xC0, 0xC1, 0xC2))[0]
    forged = data[: sof.start + 5] + struct.pack(">HH", 9999, 10000) + data[sof.start + 9 :]
    path = tmp_path / "forged.jpg"
    path.write_bytes(forged)
    code = (
        "import sys, explorable_jpeg as ej\n"
        "try:\n"
        f"    ej.read_jpeg({str(path)!r})\n"
        "except ej.ExplorableJpegError as e:\n"
        "    print(type(e).__name__)\n"
        "else:\n"
        "    raise SystemExit('forged file was accepted')\n"
        "bad = [m for m in sys.modules if m == 'torch' or m.startswith('explorable_jpeg.ops')]\n"
        "assert not bad, bad\n"
    )
    result = run_fresh_python(code)
    assert result.stdout.strip().endswith("Error"), result.stdout


def test_cli_refuses_a_forged_file_before_importing_torch(tmp_path):
    """``explorable-jpeg decode`` of a forged-dimension file: one ``error:`` line, exit 2,
    and neither torch nor a model loaded (the file is read before the decoder)."""
    import struct

    from tests.conftest import run_fresh_python
    from tests.fuzz.fuzzer import _of, base_files

    data = base_files()[0][1]
    sof = _of(data, (0xC0, 0xC1, 0xC2))[0]
    forged = data[: sof.start + 5] + struct.pack(">HH", 9999, 10000) + data[sof.start + 9 :]
    path = tmp_path / "forged.jpg"
    path.write_bytes(forged)
    out = tmp_path / "out.png"
    code = (
        "import sys\n"
        "from explorable_jpeg.cli import main\n"
        f"rc = main(['decode', {str(path)!r}, '-o', {str(out)!r}, '--model', 'gan'])\n"
        "assert rc == 2, rc\n"
        "assert 'torch' not in sys.modules\n"
    )
    stderr = run_fresh_python(code).stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), stderr
    assert "forged or damaged image size" in lines[0]
    assert not out.exists()
