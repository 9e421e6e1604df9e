"""The `explorable-jpeg` CLI end to end: compress → decode → check."""

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from explorable_jpeg import read_jpeg
from explorable_jpeg.cli import main
from explorable_jpeg.decoding.decoder import Decoder
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


def test_python_m_explorable_jpeg_runs_the_cli():
    proc = subprocess.run(
        [sys.executable, "-m", "explorable_jpeg", "tools"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0 and proc.stdout.startswith("variance-up: Variance +")


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


# ------------------------------------------------------------------ issue 22: arguments
def _small_jpeg(tmp_path):
    src, jpg, mask = tmp_path / "s.png", tmp_path / "x.jpg", tmp_path / "m.png"
    Image.fromarray(natural_image(32, 32, seed=8)).save(src)
    main(["compress", str(src), "-q", "30", "-o", str(jpg)])
    Image.fromarray(np.full((32, 32), 255, np.uint8)).save(mask)
    return jpg, mask


@pytest.mark.parametrize(
    "extra, words",
    [
        (["--param", "delta=nan"], "delta=nan: nan is not a finite number"),
        (["--param", "delta=inf"], "not a finite number"),
        (["--param", "periods=4,nan"], "not a finite number"),
        (["--budget", "-1"], "--budget must be a positive number"),
        (["--budget", "nan"], "--budget must be a positive number"),
        (["--iters", "-1"], "--iters must be 0 or more"),
        (["--reach", "1.5"], "--reach must lie in [0, 1]"),
    ],
)
def test_explore_refuses_bad_numbers_in_one_line_before_any_bar(tmp_path, capsys, extra, words):
    jpg, mask = _small_jpeg(tmp_path)
    capsys.readouterr()
    out = tmp_path / "o.png"
    argv = ["explore", str(jpg), "--tool", "variance-up", "--mask", str(mask), "-o", str(out)]
    assert main(argv + extra) == 2
    captured = capsys.readouterr()
    err = captured.err.splitlines()  # str.splitlines also splits tqdm's carriage returns
    assert err == [err[0]] and err[0].startswith("error: ") and words in err[0]
    assert "z has no effect" not in captured.err and not out.exists()


def test_sample_refuses_bad_n_and_seed_without_creating_the_directory(tmp_path, capsys):
    jpg, _ = _small_jpeg(tmp_path)
    capsys.readouterr()
    out = tmp_path / "samples"
    assert main(["sample", str(jpg), "-n", "0", "-o", str(out)]) == 2
    assert capsys.readouterr().err.strip() == "error: -n must be at least 1, got 0"
    assert main(["decode", str(jpg), "-o", str(tmp_path / "d.png"), "--seed", "-3"]) == 2
    assert "--seed must lie in" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize("dtype", ["int64", "bool"])
def test_integer_and_boolean_z_files_are_refused(tmp_path, capsys, dtype):
    import torch
    from safetensors.torch import save_file

    jpg, _ = _small_jpeg(tmp_path)
    code = read_jpeg(jpg)
    shape = Decoder.from_pretrained(variant="gan").z_shape(code)
    z = torch.zeros(shape, dtype=getattr(torch, dtype))
    zpath = tmp_path / "z.safetensors"
    save_file({"z": z}, str(zpath))
    capsys.readouterr()
    rc = main(["decode", str(jpg), "-o", str(tmp_path / "d.png"), "--z-in", str(zpath)])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1
    assert f"has dtype {dtype}, expected a floating-point tensor" in err[0]


def test_corrupt_data_refused_by_default_and_opt_in_output_passes_check(tmp_path, capsys):
    from tests.conftest import corrupt_entropy, pillow_jpeg

    bad = tmp_path / "bad.jpg"
    bad.write_bytes(corrupt_entropy(pillow_jpeg(quality=30)))
    out = tmp_path / "o.png"
    assert main(["decode", str(bad), "-o", str(out), "--model", "plain"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "corrupt JPEG data (libjpeg: Corrupt JPEG data" in err[0]
    assert "--allow-corrupt" in err[0] and not out.exists()
    rc = main(["decode", str(bad), "-o", str(out), "--model", "plain", "--allow-corrupt"])
    err = capsys.readouterr().err
    if rc == 0:  # written only when it passes check against the recovered coefficients
        assert main(["check", str(bad), str(out), "--allow-corrupt"]) == 0
        assert main(["check", str(bad), str(out)]) == 2  # check refuses it by default too
    else:
        assert rc == 2 and "cannot all be reproduced" in err and not out.exists()


# ------------------------------------------------------------------ --param from the registry
@pytest.mark.parametrize(
    "tool, item, words",
    [
        ("variance-up", "delta=abc", "--param delta=abc: delta must be a number, got 'abc'"),
        ("random", "n=2.5", "--param n=2.5: n must be an integer, got '2.5'"),
        ("random", "close=maybe", "--param close=maybe: close must be true or false"),
        ("scribble", "mode=blur", "mode must be one of colour, color, brighten, darken, tv"),
        ("variance-up", "delta=5", "--param delta=5: delta must be in [0, 2], got 5"),
        ("random", "n=1", "--param n=1: n must be in [2, 16], got 1"),
        ("periodicity", "periods=8,1", "--param periods=8,1: periods must be ≥ 2, got 1"),
        ("variance-up", "reach=-0.5", "reach must be in [0, 1], got -0.5"),
        (
            "variance-up",
            "oops=1",
            "--param oops=1: variance-up has no parameter 'oops'; its parameters: delta, reach",
        ),
        ("uniform", "reach=0.5", "uniform has no parameter 'reach'; its parameters: direction,"),
        ("imprint", "source=x.png", "--param source=x.png: source (the content to paste"),
    ],
)
def test_explore_param_is_checked_against_the_registry_in_one_line(
    tmp_path, capsys, tool, item, words
):
    jpg, mask = _small_jpeg(tmp_path)
    capsys.readouterr()
    out = tmp_path / "o.png"
    argv = ["explore", str(jpg), "--tool", tool, "--mask", str(mask), "--param", item]
    assert main([*argv, "-o", str(out)]) == 2
    captured = capsys.readouterr()
    err = captured.err.splitlines()  # str.splitlines also splits tqdm's carriage returns
    assert len(err) == 1 and err[0].startswith("error: ") and words in err[0], err
    assert not out.exists()


def test_explore_param_refusals_come_before_reading_the_input(tmp_path, capsys):
    missing = str(tmp_path / "missing.jpg")
    argv = ["explore", missing, "--tool", "hsv", "--mask", missing, "-o", str(tmp_path / "o.png")]
    assert main([*argv, "--param", "hue=2"]) == 2
    assert capsys.readouterr().err.strip() == (
        "error: --param hue=2: hue must be in [-1, 1], got 2"
    )


def test_cli_and_engine_refuse_the_same_values():
    """Every bounded numeric parameter of every tool: just outside its range is refused by
    both ``--param`` parsing and ``Explorer.apply``'s registry check; its default passes both."""
    from explorable_jpeg.cli.params import parse_params
    from explorable_jpeg.cli.tools import cli_value
    from explorable_jpeg.errors import CliError
    from explorable_jpeg.explore import SPECS, ExplorationError

    checked = 0
    for tool in SPECS.values():
        for name, p in tool.accepted().items():
            if p.kind not in ("float", "int", "floats"):
                continue
            default = tool.defaults()[name]
            assert parse_params(tool.name, [f"{name}={cli_value(default)}"]) == {
                name: p.convert(default)
            }
            for bad in (p.minimum - 1 if p.minimum is not None else None,
                        p.maximum + 1 if p.maximum is not None else None):  # fmt: skip
                if bad is None:
                    continue
                with pytest.raises(CliError, match=f"{name} must be"):
                    parse_params(tool.name, [f"{name}={bad:g}"])
                with pytest.raises(ExplorationError, match=f"{tool.name}: {name} must be"):
                    tool.complete({name: bad})
                checked += 1
    assert checked >= 20


def test_docs_tools_md_is_what_the_registry_generates():
    """``docs/tools.md`` is regenerated by ``explorable-jpeg tools --markdown > docs/tools.md``."""
    from pathlib import Path

    from explorable_jpeg.cli.tools import tools_markdown
    from explorable_jpeg.explore import SPECS

    committed = (Path(__file__).resolve().parents[2] / "docs" / "tools.md").read_text()
    assert committed == tools_markdown(), "docs/tools.md is stale: regenerate it"
    for tool in SPECS.values():
        assert f"## `{tool.name}` — {tool.label}" in committed
        for p in tool.params:
            assert f"| `{p.name}` |" in committed


def test_tools_and_explore_help_show_every_tool_and_default(capsys):
    from explorable_jpeg.explore import SPECS

    assert main(["tools"]) == 0
    listing = capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["explore", "--help"])
    helptext = capsys.readouterr().out
    for tool in SPECS.values():
        assert f"{tool.name}: {tool.label}" in listing
        assert f"  {tool.name} " in helptext
    assert "delta=0.03  (a number in [0, 2])" in listing
    assert "n=4  (an integer in [2, 16])" in listing
    assert "periods=auto" in helptext and "digits=0,1,2,3,4,5,6,7,8,9" in helptext
