"""Smoke test of the evaluator's ``--quick`` path (the CI version of ``nox -s eval``)."""

from __future__ import annotations

import importlib.util
import json
import math

import numpy as np
import pytest
from PIL import Image

from explorable_jpeg_train import evaluate
from tests.conftest import natural_image


def test_quick_eval_writes_json_markdown_and_sane_numbers(tmp_path):
    folder = tmp_path / "imgs"
    folder.mkdir()
    for k in range(2):
        Image.fromarray(natural_image(40, 56, seed=k)).save(folder / f"im{k}.png")
    out = tmp_path / "res" / "eval.json"
    evaluate.main(
        [
            "--images",
            str(folder),
            "--quick",
            "--models",
            "libjpeg,jpegqs,plain,l1x1,l1,l1x2,gan",
            "--out",
            str(out),
        ]  # fmt: skip
    )
    payload = json.loads(out.read_text())
    md = out.with_suffix(".md").read_text()
    cfg = payload["config"]
    assert cfg["quick"] and cfg["qf"] == [10] and cfg["z_samples"] == 2
    assert "lpips" in cfg["not_computed"] and "niqe" in cfg["not_computed"]
    rows = payload["summary"]
    models = {r["model"] for r in rows}
    assert {"libjpeg", "plain", "l1x1", "l1", "l1x2", "gan"} <= models
    assert {r["mode"] for r in rows} == {"gray", "color"}
    for r in rows:
        assert r["n"] == 2
        assert 15 < r["psnr_y"] < 60 and math.isfinite(r["psnr_b"])
        assert r["psnr_b"] <= r["psnr_y"] + 1e-9  # BEF ≥ 0
        assert 0 < r["ssim"] <= 1
        assert r["decode_s"] >= 0
        if r["stlpips"] is not None:
            assert 0 <= r["stlpips"] < 1
        if r["model"] in ("plain", "l1x1", "l1", "l1x2", "gan"):
            assert r["identical_fraction"] == 1.0  # our decoders are exactly consistent
        if r["model"] != "gan":
            assert r["diversity"] == 0.0
    psnr = {m: {(r["mode"], r["qf"]): r["psnr_y"] for r in rows if r["model"] == m}
            for m in ("l1x1", "l1", "l1x2")}  # fmt: skip
    assert psnr["l1x1"].keys() == psnr["l1x2"].keys()
    assert psnr["l1x1"] != psnr["l1x2"]  # the ensemble is a different decoding
    # a bare "l1" is the decoder as shipped: the bundled l1's own ensemble (config.json)
    from explorable_jpeg.decoding.decoder import Decoder

    own = Decoder.from_pretrained(variant="l1").ensemble
    assert psnr["l1"] == psnr[f"l1x{own}"]
    gan = [r for r in rows if r["model"] == "gan"]
    assert all(r["diversity"] >= 1.0 for r in gan)  # z visibly moves Y (measured: 4.2, 5.2)
    assert "| gray | 10 | libjpeg |" in md and "not computed — lpips" in md
    if importlib.util.find_spec("matplotlib") is not None:
        assert (out.parent / "eval_imgs.png").stat().st_size > 1000


def test_psnr_b_penalises_blocking_only_across_block_edges():
    from explorable_jpeg_train.metrics import blocking_effect_factor, psnr, psnr_b

    yy, xx = np.mgrid[0:64, 0:64]
    ref = 120 + 50 * np.sin(xx / 9.0) * np.cos(yy / 13.0)  # smooth: no blocking
    offsets = np.random.default_rng(0).normal(0, 4, (8, 8))
    blocky = ref + np.kron(offsets, np.ones((8, 8)))  # a constant error per 8×8 block
    assert blocking_effect_factor(ref) < 0.01
    assert blocking_effect_factor(blocky) > 1.0  # measured: 10.7
    assert psnr_b(ref, blocky) < psnr(ref, blocky) - 1.0  # measured: 34.3 vs 36.9 dB
    smooth = np.tile(np.linspace(0, 255, 64), (64, 1))
    assert blocking_effect_factor(smooth) == 0.0  # equal steps everywhere: no blocking


def test_markdown_table_has_a_vgg_column_only_when_measured():
    from explorable_jpeg_train.evaluate import markdown_table

    row = dict(mode="gray", qf=10, model="gan", psnr_y=27.0, psnr_b=26.0, ssim=0.7)
    row.update(stlpips=0.11, gain_db=-1.0, diversity=4.5, identical_fraction=1.0)
    row.update(min_identical_fraction=1.0, decode_s=0.02)
    plain = markdown_table([row])
    assert "VGG" not in plain and plain.splitlines()[2].count("|") == 12
    vgg = markdown_table([{**row, "stlpips_vgg": 0.2345}])
    head, rule, line = vgg.splitlines()
    assert "ST-LPIPS (VGG)" in head and "0.2345" in line
    assert head.count("|") == rule.count("|") == line.count("|") == 13


def test_model_names_with_an_ensemble():
    assert evaluate._neural_name("l1") == ("l1", None)  # the model's own default
    assert evaluate._neural_name("l1x1") == ("l1", 1)
    assert evaluate._neural_name("l1x8") == ("l1", 8)
    for bad in ("l1x3", "l2", "l1x", "l1x0"):
        with pytest.raises(ValueError, match="unknown model"):
            evaluate._neural_name(bad)
