"""Exploration files (format 3): small, bit-exact, and formats 1–2 still read."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from explorable_jpeg import compress
from explorable_jpeg.decoding.zfile import code_fingerprint
from explorable_jpeg.explore import ExplorationFileError, Explorer, rect_mask
from explorable_jpeg.explore.files import FILE_VERSION
from explorable_jpeg.explore.packing import BlobWriter, TilePool, read_blob
from tests.conftest import natural_image, random_decoder

H, W = 120, 176
BOXES = [(8, 8, 40, 48), (64, 100, 96, 150), (30, 60, 70, 90)]

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def dec():
    return random_decoder(seed=3, scale=0.1)


@pytest.fixture(scope="module")
def code():
    return compress(natural_image(H, W, seed=6), quality=15, subsampling="4:2:0")[1]


@pytest.fixture(scope="module")
def explored(dec, code):
    """Three field edits on small selections, one undone, and an alternative."""
    ex = Explorer(dec, code)
    for k, box in enumerate(BOXES):
        ex.apply("scribble", rect_mask(ex.shape, *box), mode=("darken", "brighten")[k % 2],
                 delta=0.3, max_iters=3)  # fmt: skip
        assert ex.field is not None
    ex.add_alternative("third")
    ex.undo()
    return ex


def _states(ex: Explorer) -> list:
    h = ex._history
    return [ex.state, *h.undo, *h.redo, *ex.alternatives.values()]


def test_small_selection_edits_give_a_small_file(explored, tmp_path):
    """Format 2 stored every state's full-size float16 field and float32 z (here ≈ 960 KB);
    format 3 keeps the fields' nonzero MCU tiles, each distinct one once, and every array
    compressed (the z tensors, changed by each edit, are now most of it)."""
    path = tmp_path / "e.safetensors"
    explored.save(path)
    states = _states(explored)
    full = sum(s.z.numel() * 4 + (0 if s.field is None else s.field.numel() * 2) for s in states)
    assert full > 700_000
    size = path.stat().st_size
    assert size < full / 6, (size, full)


def test_fields_cost_their_nonzero_tiles_only(dec, code, tmp_path):
    """Six states whose fields grow by one 32 × 32 edit each (z unchanged): the file holds
    the distinct nonzero 16 × 16 tiles (at most 4 new per state) and little else, where
    format 2 took 6 full fields (6 × 127 KB) and 6 z tensors."""
    from explorable_jpeg.explore.state import State

    ex = Explorer(dec, code)
    rng = np.random.default_rng(1)
    field = torch.zeros(ex.field_shape, dtype=torch.float16)
    for k in range(6):
        y, x = 16 * (k % 3), 24 * k + 8 * (k % 2)
        field = field.clone()
        field[:, y : y + 32, x : x + 32] = torch.from_numpy(rng.normal(0, 4, (3, 32, 32)))
        ex.set_state(State(ex.z, field))
    path = tmp_path / "e.safetensors"
    ex.save(path)
    tile_bytes = 3 * 16 * 16 * 2
    assert path.stat().st_size < 6 * 4 * tile_bytes + 8_000, path.stat().st_size
    other = Explorer(dec, code)
    other.load(path)
    assert torch.equal(other.field, field)


def test_every_state_reads_back_bit_identical(dec, code, explored, tmp_path):
    path = tmp_path / "e.safetensors"
    explored.save(path)
    from safetensors import safe_open

    with safe_open(str(path), "pt") as f:
        meta = json.loads(f.metadata()["exploration"])
    assert meta["version"] == FILE_VERSION == 3
    other = Explorer(dec, code)
    np.testing.assert_array_equal(other.load(path), explored.image)
    for a, b in zip(_states(explored), _states(other), strict=True):
        assert torch.equal(a.z, b.z)
        assert (a.field is None) == (b.field is None)
        if a.field is not None:
            assert b.field.dtype == torch.float16 and torch.equal(a.field, b.field)
    assert other.undo() and explored.undo()
    np.testing.assert_array_equal(other.image, explored.image)
    assert other.redo() and other.redo() and explored.redo() and explored.redo()
    assert torch.equal(other.field, explored.field)
    np.testing.assert_array_equal(other.image, explored.image)
    assert explored.undo()  # the fixture as it was: one step undone


def test_a_format_2_file_still_reads(dec, code, explored, tmp_path):
    """Format 2: full-size tensors ``z`` / ``field``, ``undo.<k>.z`` / ``.field``, ``alt.<k>.…``."""
    from safetensors.torch import save_file

    state, before = explored.state, explored._history.undo[0]
    tensors = {"z": state.z.float().clone(), "field": state.field.clone(),
               "undo.0.z": before.z.float().clone()}  # fmt: skip
    if before.field is not None:
        tensors["undo.0.field"] = before.field.clone()
    meta = {"version": 2, "fingerprint": code_fingerprint(code), "width": W, "height": H,
            "undo": 1, "redo": 0, "alternatives": []}  # fmt: skip
    path = tmp_path / "v2.safetensors"
    save_file(tensors, str(path), metadata={"exploration": json.dumps(meta)})
    other = Explorer(dec, code)
    np.testing.assert_array_equal(other.load(path), explored.image)
    assert torch.equal(other.field, state.field)
    assert other.undo() and (other.field is None) == (before.field is None)


def test_a_damaged_blob_is_refused_as_a_corrupt_file(dec, code, explored, tmp_path):
    from safetensors import safe_open
    from safetensors.torch import save_file

    path = tmp_path / "e.safetensors"
    explored.save(path)
    with safe_open(str(path), "pt") as f:
        meta, tensors = f.metadata(), {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118
    tensors["blob.0"] = tensors["blob.0"][:-3].clone()
    save_file(tensors, str(path), metadata=meta)
    with pytest.raises(ExplorationFileError, match="corrupt exploration file"):
        Explorer(dec, code).load(path)


@pytest.mark.parametrize("shape,tile", [((3, 37, 53), (16, 16)), ((1, 24, 8), (8, 8))])
def test_tiles_keep_only_nonzero_tiles_once_each(shape, tile):
    rng = np.random.default_rng(0)
    first = np.zeros(shape, np.float16)
    part = first[:, 2:9, 3:20]
    part[...] = rng.normal(size=part.shape).astype(np.float16)
    second = first.copy()
    second[:, -3:, -5:] = 1.5  # a later edit in the bottom-right tile only
    pool = TilePool(shape, tile)
    index1, index2 = pool.add(first), pool.add(second)
    assert len(pool.tiles) == len(index1) + 1 == len(index2)  # the shared tiles stored once
    stacked = pool.stacked(np.dtype(np.float16))
    for field, index in ((first, index1), (second, index2)):
        np.testing.assert_array_equal(pool.field(stacked, index), field)
    blobs = BlobWriter()
    j = blobs.add(stacked)
    assert blobs.add(stacked.copy()) == j  # by content
    np.testing.assert_array_equal(read_blob(blobs.tensors, blobs.specs, j), stacked)
