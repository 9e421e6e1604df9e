"""Explorer mechanics: crops and paste-back, history, files, errors, cancellation, CLI."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest
import torch
from PIL import Image

from explorable_jpeg import ExplorableJpegError, Explorer, check, compress, read_jpeg
from explorable_jpeg.cli import main
from explorable_jpeg.explore import (
    ExplorationError,
    ExplorationFileError,
    RegionError,
    UnknownToolError,
    rect_mask,
)
from explorable_jpeg.explore.objectives import Objective, VarianceObjective
from tests.conftest import natural_image, random_decoder

H, W = 48, 64


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def dec():
    return random_decoder(seed=1, scale=0.1)


@pytest.fixture(scope="module")
def code():
    _, code = compress(natural_image(H, W, seed=3), quality=10, subsampling="4:2:0")
    return code


MASK = rect_mask((H, W), 16, 16, 40, 48)


def test_far_pixels_are_untouched_and_crop_is_pasted_back(dec):
    """A selection on the left of a wide image: beyond the receptive field, nothing moves."""
    _, code = compress(natural_image(48, 160, seed=5), quality=10, subsampling="4:2:0")
    ex = Explorer(dec, code)
    before, z_before = ex.image, ex.z
    mask = rect_mask((48, 160), 8, 8, 32, 32)
    ex.apply("variance-up", mask, max_iters=8, margin_blocks=4)
    moved = (ex.z != z_before).any(dim=0)
    ys, xs = torch.nonzero(moved, as_tuple=True)
    assert moved.any() and int(xs.max()) <= 32 // 8 + 1  # z changes: selection + 1-block halo
    far = 8 * (32 // 8 + 1 + 2 + 2)  # halo + receptive field (luma 4 blocks) + chroma MCU
    # the float decoding there is unchanged; the snap's randomised 8-bit repair of a few
    # MCUs may land on another equally consistent rounding (±1–3 levels)
    diff = np.abs(ex.image[:, far + 16 :].astype(int) - before[:, far + 16 :])
    assert diff.mean() < 0.1 and diff.max() <= 4
    assert check(code, ex.image).consistent


def test_gray_image(dec):
    _, code = compress(natural_image(40, 56, seed=2, color=False), quality=10)
    ex = Explorer(dec, code)
    res = ex.apply("variance-up", rect_mask((40, 56), 8, 8, 32, 40), max_iters=6)
    assert res.image.ndim == 2 and check(code, res.image).consistent


def test_undo_redo_restore_exact_z(dec, code):
    ex = Explorer(dec, code)
    z0, img0 = ex.z, ex.image
    assert not ex.can_undo and not ex.undo()
    ex.apply("uniform", MASK, magnitude=1.0)
    z1, img1 = ex.z, ex.image
    res = ex.apply("variance-up", MASK, max_iters=4)
    assert res.result.improved  # otherwise nothing is committed to the history
    z2 = ex.z
    assert ex.undo() and torch.equal(ex.z, z1)
    np.testing.assert_array_equal(ex.image, img1)
    assert ex.undo() and torch.equal(ex.z, z0)
    np.testing.assert_array_equal(ex.image, img0)
    assert ex.redo() and torch.equal(ex.z, z1)
    assert ex.redo() and torch.equal(ex.z, z2)
    assert not ex.redo()


def test_history_depth_is_bounded(dec, code):
    ex = Explorer(dec, code, history_depth=2)
    for k in range(4):
        ex.set_z(torch.full(dec.z_shape(code), 0.1 * k))
    assert ex.undo() and ex.undo() and not ex.undo()


def test_save_load_round_trip(dec, code, tmp_path):
    ex = Explorer(dec, code)
    ex.apply("uniform", MASK, magnitude=0.7, direction=20)
    ex.add_alternative("mine")
    ex.apply("uniform", MASK, magnitude=0.2)
    ex.undo()
    path = tmp_path / "exploration.safetensors"
    ex.save(path)
    other = Explorer(dec, code)
    other.load(path)
    assert torch.equal(other.z, ex.z)
    np.testing.assert_array_equal(other.image, ex.image)
    assert other.can_undo and other.can_redo
    assert torch.equal(other.alternatives["mine"].z, ex.alternatives["mine"].z)
    assert other.redo() and ex.redo() and torch.equal(other.z, ex.z)


def test_load_rejects_another_jpeg_and_garbage(dec, code, tmp_path):
    path = tmp_path / "e.safetensors"
    Explorer(dec, code).save(path)
    _, other_code = compress(natural_image(H, W, seed=9), quality=10)
    with pytest.raises(ExplorationFileError, match="another JPEG"):
        Explorer(dec, other_code).load(path)
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a safetensors file")
    with pytest.raises(ExplorationFileError):
        Explorer(dec, code).load(bad)
    with pytest.raises(ExplorationFileError):
        Explorer(dec, code).load(tmp_path / "missing.safetensors")


@pytest.mark.parametrize(
    "mask,says",
    [
        (np.zeros((H, W), bool), "selection is empty"),
        (np.ones((H + 8, W), bool), f"mask is {W}x{H + 8} but the image is {W}x{H}"),
        ((100, 100, 120, 120), "outside the"),  # a rectangle outside the image
    ],
)
def test_bad_masks_raise_region_error(dec, code, mask, says):
    """A bad selection is refused before any work, with a message naming the problem, as an
    error the callers' ``except ExplorableJpegError`` catches; the state is untouched."""
    ex = Explorer(dec, code)
    z0 = ex.z.clone()
    with pytest.raises(RegionError, match=says) as info:
        ex.apply("variance-up", mask, max_iters=1)
    assert isinstance(info.value, ExplorableJpegError)
    assert torch.equal(ex.z, z0) and not ex.can_undo


def test_unknown_tool_and_parameter(dec, code):
    ex = Explorer(dec, code)
    with pytest.raises(UnknownToolError):
        ex.apply("sharpen", MASK)
    with pytest.raises(ExplorationError, match="unknown parameter"):
        ex.apply("variance-up", MASK, strength=2)


def test_mask_from_rgb_image_white_is_selected(dec, code):
    img = np.zeros((H, W, 3), np.uint8)
    img[16:40, 16:48] = 255
    ex = Explorer(dec, code)
    res = ex.apply("uniform", img, magnitude=1.0)
    changed = (ex.z != 0).any(dim=0)
    assert changed[2:5, 2:6].all() and not changed[0, 0]
    assert check(code, res.image).consistent


def test_cancel_keeps_current_z_and_progress_reports(dec, code):
    ex = Explorer(dec, code)
    z0 = ex.z
    cancel = threading.Event()
    cancel.set()
    res = ex.optimize(VarianceObjective(0.05), MASK, cancel=cancel)
    assert res.cancelled and res.iterations == 0 and torch.equal(ex.z, z0)
    seen = []
    ex.optimize(VarianceObjective(0.05), MASK, max_iters=4, progress=lambda f, m: seen.append(f))
    assert seen[-1] == 1.0 and seen == sorted(seen)


class _Uphill(Objective):
    """A loss that only gets worse when z moves away from its start."""

    def prepare(self, region):
        super().prepare(region)
        self.rgb0 = region.rgb0

    def loss(self, rgb):
        return 1.0 + (rgb - self.rgb0).abs().mean() + 1e-3 * rgb.mean()


def test_an_uphill_objective_leaves_the_state_as_it_was(dec, code):
    """Every move makes ``_Uphill`` worse, so optimising it must keep the start exactly: the
    same z, the same image, nothing added to the history."""
    ex = Explorer(dec, code)
    z0, image0 = ex.z.clone(), ex.image.copy()
    res = ex.optimize(_Uphill(), MASK, max_iters=6)
    assert not res.improved and res.loss_best == res.loss_start
    assert torch.equal(ex.z, z0) and np.array_equal(ex.image, image0)
    assert not ex.can_undo


def test_a_spent_budget_still_takes_one_step(dec, code):
    """A budget used up by the set-up (a busy CPU) still gives one optimisation step, so
    Apply never silently does nothing."""
    ex = Explorer(dec, code)
    z0 = ex.z
    res = ex.optimize(VarianceObjective(), MASK, budget_s=0.0, max_iters=50)
    assert res.iterations == 1
    assert res.improved and not torch.equal(ex.z, z0)


def test_alternatives_copy_into_region(dec, code):
    ex = Explorer(dec, code)
    res = ex.apply("random", MASK, n=2, max_iters=3)
    assert set(res.alternatives) == {"random 1", "random 2"}
    z_before = ex.z
    ex.use_alternative("random 2", MASK)
    blocks = torch.zeros(ex.z.shape[1:], dtype=torch.bool)
    blocks[2:5, 2:6] = True
    alt = ex.alternatives["random 2"].z
    assert torch.equal(ex.z[:, blocks], alt[:, blocks])
    assert torch.equal(ex.z[:, ~blocks], z_before[:, ~blocks])
    ex.use_alternative("random 2")
    assert torch.equal(ex.z, alt)
    with pytest.raises(ExplorationError):
        ex.use_alternative("nope")


# ---------------------------------------------------------------------- CLI
@pytest.fixture(scope="module")
def cli_files(tmp_path_factory, dec):
    d = tmp_path_factory.mktemp("explore")
    img = natural_image(H, W, seed=3)
    jpg = d / "in.jpg"
    compress(img, quality=10, subsampling="4:2:0", path=str(jpg))
    mask = np.zeros((H, W), np.uint8)
    mask[16:40, 16:48] = 255
    Image.fromarray(mask).save(d / "mask.png")
    dec.save_pretrained(d / "weights")
    return d


def _cli(d, *args):
    return main(["explore", str(d / "in.jpg"), "--mask", str(d / "mask.png"),
                 "--weights", str(d / "weights"), "--iters", "3", *args])  # fmt: skip


def test_cli_explore_output_passes_check(cli_files):
    d = cli_files
    assert main(["decode", str(d / "in.jpg"), "--weights", str(d / "weights"),
                 "-o", str(d / "dec.png"), "--z-out", str(d / "z0.safetensors")]) == 0  # fmt: skip
    out = d / "var.png"
    rc = _cli(d, "--tool", "variance-up", "--param", "delta=0.05",
              "--z-in", str(d / "z0.safetensors"), "--z-out", str(d / "z1.safetensors"),
              "-o", str(out))  # fmt: skip
    assert rc == 0
    code = read_jpeg(d / "in.jpg")
    assert check(code, np.asarray(Image.open(out))).consistent
    assert (d / "z1.safetensors").is_file()


def test_cli_random_and_digit_write_directories(cli_files):
    d = cli_files
    assert _cli(d, "--tool", "random", "--param", "n=2", "-o", str(d / "rnd")) == 0
    assert sorted(p.name for p in (d / "rnd").iterdir()) == ["random_1.png", "random_2.png"]
    assert _cli(d, "--tool", "digit", "--param", "digits=3,8", "-o", str(d / "dig")) == 0
    names = sorted(p.name for p in (d / "dig").iterdir())
    assert {"digit_3.png", "digit_8.png", "probabilities.json"} <= set(names)
    assert len(names) == 7  # 3 faces per digit
    probs = json.loads((d / "dig" / "probabilities.json").read_text())["probabilities"]
    assert {"digit 3", "digit 8"} <= set(probs) and len(probs) == 6


def test_cli_bad_input_is_one_error_line(cli_files, capsys, tmp_path):
    d = cli_files
    Image.fromarray(np.zeros((10, 10), np.uint8)).save(tmp_path / "small.png")
    out = str(tmp_path / "o.png")
    rc = main(["explore", str(d / "in.jpg"), "--mask", str(tmp_path / "small.png"),
               "--weights", str(d / "weights"), "--tool", "tv-down", "-o", out])  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and err[-1].startswith("error: ") and "mask" in err[-1]
    assert _cli(d, "--tool", "blur", "-o", str(tmp_path / "o.png")) == 2
    assert _cli(d, "--tool", "scribble", "-o", str(tmp_path / "o.png")) == 2
    assert _cli(d, "--tool", "tv-down", "--param", "oops", "-o", str(tmp_path / "o.png")) == 2
