"""The `explorable-jpeg` CLI end to end: compress → decode → check."""

import json
import subprocess
import sys

import numpy as np
from PIL import Image

from explorable_jpeg import read_jpeg
from explorable_jpeg.cli import main
from explorable_jpeg.decoder import Decoder
from tests.conftest import natural_image


def test_compress_decode_check_round_trip(tmp_path, capsys):
    src = tmp_path / "src.png"
    Image.fromarray(natural_image(48, 80, seed=5)).save(src)
    jpg, png = tmp_path / "x.jpg", tmp_path / "y.png"
    assert main(["compress", str(src), "-q", "10", "--subsampling", "4:2:0", "-o", str(jpg)]) == 0
    code = read_jpeg(jpg)
    assert code.subsampling == "4:2:0" and (code.width, code.height) == (80, 48)
    assert main(["decode", str(jpg), "-o", str(png), "--model", "plain"]) == 0
    assert main(["check", str(jpg), str(png), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["consistent"] and report["identical_fraction"] == 1.0
    assert "libjpeg_decode" in report


def test_check_exits_1_for_an_inconsistent_image(tmp_path, capsys):
    img = natural_image(32, 32, seed=6)
    src, jpg, bad = tmp_path / "s.png", tmp_path / "x.jpg", tmp_path / "b.png"
    Image.fromarray(img).save(src)
    main(["compress", str(src), "-q", "30", "-o", str(jpg)])
    Image.fromarray(np.roll(img, 3, axis=1)).save(bad)
    assert main(["check", str(jpg), str(bad)]) == 1
    out = capsys.readouterr().out
    assert "NOT consistent" in out and "libjpeg's own decode" in out


def test_console_script_entry_point_runs(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "explorable_jpeg.cli", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0 and "decode" in proc.stdout


def test_decode_with_self_ensemble(tmp_path, capsys):
    src, jpg = tmp_path / "s.png", tmp_path / "x.jpg"
    Image.fromarray(natural_image(40, 56, seed=7)).save(src)
    main(["compress", str(src), "-q", "10", "-o", str(jpg)])
    one, two, own = tmp_path / "one.png", tmp_path / "two.png", tmp_path / "own.png"
    assert main(["decode", str(jpg), "-o", str(one), "--model", "l1", "--ensemble", "1"]) == 0
    assert main(["decode", str(jpg), "-o", str(two), "--model", "l1", "--ensemble", "2"]) == 0
    assert main(["decode", str(jpg), "-o", str(own), "--model", "l1"]) == 0
    assert main(["check", str(jpg), str(two)]) == 0
    assert not np.array_equal(np.asarray(Image.open(one)), np.asarray(Image.open(two)))
    # without --ensemble: the bundled l1's own size (config.json "ensemble")
    bundled = Decoder.from_pretrained(variant="l1").ensemble
    same = {1: one, 2: two}[bundled]
    assert np.array_equal(np.asarray(Image.open(own)), np.asarray(Image.open(same)))
    capsys.readouterr()
    assert main(["decode", str(jpg), "-o", str(two), "--model", "plain", "--ensemble", "2"]) == 2
    assert "--ensemble needs a neural model" in capsys.readouterr().err
