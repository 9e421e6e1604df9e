"""snap's interior stage (:mod:`explorable_jpeg.snap.interior`) on fuzzer-made files: header
flips of a 4:2:0 q30 file (cases 2889 and 3159 of ``--cases 5000``) whose damaged tables
leave one MCU that no earlier stage of snap reaches, although plenty of 8-bit tiles
re-encode to it."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from explorable_jpeg.consistency.check import check
from explorable_jpeg.decoding.plain import decode_plain
from explorable_jpeg.jpeg.io import read_jpeg
from explorable_jpeg.snap.bins import mcu_scores
from explorable_jpeg.snap.descent import jacobian
from explorable_jpeg.snap.tiles import groups
from tests.fuzz.fuzzer import base_files, generate_cases

interior = importlib.import_module("explorable_jpeg.snap.interior")  # snap is also a function

REACHED = (2889, 3159)  # header_flip, c420_q30: one MCU each that only this stage reaches
IMPOSSIBLE = 613  # entropy_flip, c422_q60_restart: a Cb block needing colours off the RGB cube


def _code(index: int):
    case = generate_cases(1, start=index)[0]
    return read_jpeg(case.data)


@pytest.mark.parametrize("index", REACHED)
def test_the_interior_stage_makes_a_damaged_table_file_consistent(index, monkeypatch):
    code = _code(index)
    assert check(code, decode_plain(code)).consistent_where_reachable
    monkeypatch.setattr(interior, "MAX_MCUS", 0)  # the pipeline without the stage
    assert not check(code, decode_plain(code)).consistent_where_reachable


def test_the_stage_changes_only_the_mcus_it_makes_exact(monkeypatch):
    code = _code(REACHED[1])
    monkeypatch.setattr(interior, "MAX_MCUS", 0)
    before = decode_plain(code)
    monkeypatch.undo()
    failing = np.argwhere(mcu_scores(before, code) > 0)
    assert len(failing) == 1
    rows, cols = code.mcu_grid
    every = np.argwhere(np.ones((rows, cols), dtype=bool))  # exact MCUs are skipped
    after = interior.interior_stage(before.copy(), code, every, seed=0)
    assert (mcu_scores(after, code) == 0).all()
    mh, mw = code.mcu_size
    (r, c) = failing[0]
    changed = np.argwhere((after != before).reshape(*after.shape[:2], -1).any(axis=-1))
    assert len(changed) > 0
    assert (changed[:, 0] // mh == r).all() and (changed[:, 1] // mw == c).all()


def test_an_mcu_the_stage_cannot_make_exact_keeps_its_pixels(monkeypatch):
    code = _code(IMPOSSIBLE)
    monkeypatch.setattr(interior, "MAX_MCUS", 0)
    before = decode_plain(code)
    monkeypatch.undo()
    failing = np.argwhere(mcu_scores(before, code) > 0)
    assert len(failing) == 1
    after = interior.interior_stage(before.copy(), code, failing, seed=0)
    assert np.array_equal(after, before)


def test_nearest_pixels_reaches_a_box_around_a_real_tile():
    """FISTA from the far corner of the cube ends inside a box of ±24 around ``Jᵀp`` of a
    random gray tile ``p``: the squared gap to the box falls below 1e-6."""
    code = _code(REACHED[0])
    gray = read_jpeg(base_files()[0][1])  # the unmutated gray_q50 file
    assert not gray.is_color and code.is_color
    for c in (code, gray):
        g = groups(c, np.eye(*c.mcu_grid, dtype=bool))[0]
        jac = jacobian(c, g)
        rng = np.random.default_rng(0)
        p = rng.uniform(-100, 100, (len(g.rows), jac.shape[0]))
        t = p @ jac
        found = interior.nearest_pixels(np.full_like(p, 127.0), jac, t - 24, t + 24, rounds=600)
        tf = found @ jac
        gap = ((tf - np.clip(tf, t - 24, t + 24)) ** 2).sum(axis=1)
        assert (gap < 1e-6).all(), gap
        assert found.min() >= -128 and found.max() <= 127
