"""Training package: config, phases (tiny CPU runs), resume, losses, critic, export, upload."""

from __future__ import annotations

import csv
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from explorable_jpeg_train import checkpoint, distributed, losses
from explorable_jpeg_train.__main__ import main
from explorable_jpeg_train.config import CriticConfig, load_config
from explorable_jpeg_train.critic import chroma_critic, luma_critic
from explorable_jpeg_train.tools.upload import main as upload_main
from tests.conftest import natural_image

CONFIGS = Path(__file__).parents[2] / "packages" / "train" / "configs"

TINY = [
    "data.crop=32",
    "data.batch=2",
    "model.luma_channels=8",
    "model.luma_blocks=1",
    "model.chroma_channels=8",
    "model.chroma_blocks=1",
    "l1.luma_steps=2",
    "l1.chroma_steps=2",
    "l1.warmup=1",
    "gan.luma_steps=2",
    "gan.chroma_steps=2",
    "gan.n_critic=1",
    "gan.z_steps=1",
    "gan.warmup=1",
    "gan.critic.channels=8",
    "gan.critic.layers=2",
    "probe_batch=2",
    "log_every=1",
    "eval_every=1",
    "save_every_s=0",
    "tensorboard=false",
    'device="cpu"',
]


def _sets(items: list[str]) -> list[str]:
    return [a for item in items for a in ("--set", item)]


def _fixed_batch(seed: int):
    """One colour batch (4 crops of 32², three synthetic images from ``seed``) that the
    fixed-batch tests hand to every phase instead of ``sample_batch``."""
    from explorable_jpeg_train.batch import sample_batch

    cfg = load_config(CONFIGS / "smoke.toml", ["data.crop=32", "data.batch=4"])
    images = [
        torch.from_numpy(natural_image(72, 80, seed=seed + i)).permute(2, 0, 1) for i in range(3)
    ]
    g1, g2 = torch.Generator().manual_seed(1), torch.Generator().manual_seed(2)
    return sample_batch(images, cfg.data, g1, g2, True)


def _rows(path: Path) -> list[dict]:
    with open(path) as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def image_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("images")
    for i in range(3):
        Image.fromarray(natural_image(72, 80, seed=10 + i)).save(d / f"img{i}.png")
    return d


@pytest.fixture(scope="module")
def full_run(image_dir, tmp_path_factory) -> Path:
    """Every phase, 2 steps each, on 32² crops with batch 2."""
    run_dir = tmp_path_factory.mktemp("run")
    sets = [*TINY, f'data.train="{image_dir}"', f'run_dir="{run_dir}"']
    assert main([str(CONFIGS / "smoke.toml"), *_sets(sets)]) == 0
    return run_dir


@pytest.mark.parametrize(
    "name",
    [
        "l1.toml",
        "l1_finetune.toml",
        "l1_grow.toml",
        "l1_ema_cpu.toml",
        "l1_ema2_cpu.toml",
        "gan.toml",
        "gan_perc.toml",
        "gan_v5.toml",
        "gan_v6.toml",
        "smoke.toml",
    ],
)
def test_configs_load(name):
    cfg = load_config(CONFIGS / name)
    assert cfg.phases and cfg.data.crop % 16 == 0


def test_config_overrides_are_typed_and_unknown_keys_fail():
    cfg = load_config(CONFIGS / "gan.toml", ["gan.lr_g=1e-4", "seed=7", "gan.critic.norm=none"])
    assert cfg.gan.lr_g == 1e-4 and cfg.seed == 7 and cfg.gan.critic.norm == "none"
    cfg = load_config(None, ["gan.gp_weight=5", 'phases=["export"]'])
    assert type(cfg.gan.gp_weight) is float and cfg.gan.gp_weight == 5.0  # TOML's 5, coerced
    assert cfg.phases == ["export"]
    with pytest.raises(ValueError, match="unknown key"):
        load_config(None, ["gan.lr=1"])
    with pytest.raises(ValueError, match="must be int"):
        load_config(None, ["seed=abc"])
    with pytest.raises(ValueError, match="unknown phases"):
        load_config(None, ['phases=["nope"]'])


def test_every_phase_runs_and_writes_checkpoints_logs_and_weights(full_run):
    meta = json.loads((full_run / "checkpoint.json").read_text())
    assert meta["done"] == ["l1_luma", "l1_chroma", "gan_luma", "gan_chroma", "export"]
    with np.load(full_run / "checkpoint.npz") as npz:
        keys = npz.files
    assert any(k.startswith("model/critic/") for k in keys)
    assert any(k.startswith("optim/opt_d/") for k in keys)
    assert "rng/gen" in keys
    for phase in ("l1_luma", "l1_chroma", "gan_luma", "gan_chroma"):
        rows = _rows(full_run / f"log_{phase}.csv")
        assert [r["step"] for r in rows] == ["0", "1"]
    gan_rows = _rows(full_run / "log_gan_luma.csv")
    assert all(np.isfinite(float(r[k])) for r in gan_rows for k in ("d_loss", "g_adv", "gp"))
    if importlib.util.find_spec("stlpips_pytorch"):  # the probe's perceptual metric
        probes = [*_rows(full_run / "log_l1_luma.csv"), *gan_rows]
        keys = ("probe_stlpips", "probe_stlpips_z0", "probe_stlpips_zrand")
        values = [float(r[k]) for r in probes for k in keys if r.get(k)]
        assert len(values) == 6 and all(0 <= v < 1 for v in values)
    for v in ("l1", "gan"):
        assert (full_run / "weights" / v / "model.safetensors").is_file()


def test_exported_gan_weights_decode_consistently(full_run):
    from explorable_jpeg import check, compress
    from explorable_jpeg.decoding.decoder import Decoder

    dec = Decoder.from_pretrained(full_run / "weights", variant="gan", device="cpu")
    assert dec.z_channels == 64
    _, code = compress(natural_image(40, 48, seed=3), quality=20)
    for seed in (None, 1):
        out = dec.decode(code, seed=seed)
        assert check(code, out).consistent


def test_export_writes_the_l1_default_ensemble(full_run):
    """``[export] l1_ensemble`` / ``export --ensemble``: config.json's "ensemble" of the l1
    decoder; a gan run always gets 1 (an ensemble would average its texture away)."""
    from explorable_jpeg_train.export import load_run

    assert load_config(None, ["export.l1_ensemble=2"]).export.l1_ensemble == 2
    assert load_run(full_run / "l1", 2).config_dict()["ensemble"] == 2
    assert load_run(full_run / "l1").ensemble == 1
    assert load_run(full_run / "gan", 2).ensemble == 1


def test_resume_continues_with_identical_next_step(full_run, image_dir, tmp_path):
    base = [
        *TINY,
        f'data.train="{image_dir}"',
        f'gan.init="{full_run / "l1"}"',
        'phases=["gan_luma"]',
        "gan.luma_steps=3",
    ]
    straight, resumed = tmp_path / "a", tmp_path / "b"
    cfg = str(CONFIGS / "smoke.toml")
    assert main([cfg, *_sets([*base, f'run_dir="{straight}"'])]) == 0
    assert main([cfg, *_sets([*base, f'run_dir="{resumed}"']), "--session-steps", "2"]) == 0
    assert json.loads((resumed / "checkpoint.json").read_text())["step"] == 2
    with pytest.raises(SystemExit):  # an existing checkpoint needs --resume
        main([cfg, *_sets([*base, f'run_dir="{resumed}"'])])
    assert main([cfg, *_sets([*base, f'run_dir="{resumed}"']), "--resume"]) == 0
    a, b = _rows(straight / "log_gan_luma.csv"), _rows(resumed / "log_gan_luma.csv")
    assert [r["step"] for r in b] == ["0", "1", "2"]
    for key in ("g_loss", "d_loss", "l1_z0", "l1_zmap", "div_ratio"):
        assert a[2][key] == b[2][key], key


def test_resume_with_a_larger_budget_continues_a_finished_phase(full_run, image_dir, tmp_path):
    """A finished phase is done for the same budget; with a raised ``*_steps`` it goes on from
    the saved step exactly as one longer run would."""
    base = [
        *TINY,
        f'data.train="{image_dir}"',
        f'gan.init="{full_run / "l1"}"',
        'phases=["gan_luma"]',
    ]
    long, short = tmp_path / "long", tmp_path / "short"
    cfg = str(CONFIGS / "smoke.toml")
    assert main([cfg, *_sets([*base, "gan.luma_steps=4", f'run_dir="{long}"'])]) == 0
    two = [*base, "gan.luma_steps=2", f'run_dir="{short}"']
    assert main([cfg, *_sets(two)]) == 0
    assert main([cfg, *_sets(two), "--resume"]) == 0  # same budget: already done
    assert [r["step"] for r in _rows(short / "log_gan_luma.csv")] == ["0", "1"]
    four = [*base, "gan.luma_steps=4", f'run_dir="{short}"']
    assert main([cfg, *_sets(four), "--resume"]) == 0
    meta = json.loads((short / "checkpoint.json").read_text())
    assert meta["step"] == 4 and meta["done"] == ["gan_luma"] and meta["phase"] is None
    a, b = _rows(long / "log_gan_luma.csv"), _rows(short / "log_gan_luma.csv")
    assert [r["step"] for r in b] == ["0", "1", "2", "3"]
    for key in ("g_loss", "d_loss", "l1_z0", "div_ratio"):
        assert [r[key] for r in a] == [r[key] for r in b], key
    # a phase whose state was replaced by a later phase's is not reopened
    both = [*TINY, f'data.train="{image_dir}"', f'gan.init="{full_run / "l1"}"']
    both += ['phases=["gan_luma", "gan_chroma"]', f'run_dir="{tmp_path / "both"}"']
    assert main([cfg, *_sets(both)]) == 0
    assert main([cfg, *_sets([*both, "gan.luma_steps=3"]), "--resume"]) == 0
    assert len(_rows(tmp_path / "both" / "log_gan_luma.csv")) == 2


def test_critic_warmup_trains_only_the_critic(full_run, image_dir, tmp_path):
    run_dir = tmp_path / "cw"
    sets = [*TINY, f'data.train="{image_dir}"', f'gan.init="{full_run / "l1"}"']
    sets += ['phases=["gan_luma"]', "gan.luma_steps=3", "gan.critic_warmup=2"]
    assert main([str(CONFIGS / "smoke.toml"), *_sets([*sets, f'run_dir="{run_dir}"'])]) == 0
    rows = _rows(run_dir / "log_gan_luma.csv")
    assert [bool(r["g_loss"]) for r in rows] == [False, False, True]
    assert all(r["d_loss"] for r in rows)
    # two critic-only steps and one generator step: the generator moved once
    start = checkpoint.load_npz_state(full_run / "l1" / "luma.npz")
    end = checkpoint.load_npz_state(run_dir / "gan" / "luma.npz")
    assert any(not torch.equal(start[k], end[k]) for k in start)
    short = tmp_path / "cw2"
    sets2 = [*sets[:-2], "gan.luma_steps=2", "gan.critic_warmup=2", f'run_dir="{short}"']
    assert main([str(CONFIGS / "smoke.toml"), *_sets(sets2)]) == 0
    end2 = checkpoint.load_npz_state(short / "gan" / "luma.npz")
    assert all(torch.equal(start[k], end2[k]) for k in start)


def test_l1_fine_tune_from_exported_weights_with_extra_folders(full_run, image_dir, tmp_path):
    """``l1.init`` starts from a weights folder (its architecture, not ``[model]``), so the
    first logged L1 equals the source decoder's; ``data.extra`` adds training images."""
    extra = tmp_path / "extra"
    extra.mkdir()
    Image.fromarray(natural_image(64, 64, seed=99)).save(extra / "x.png")
    run_dir = tmp_path / "ft"
    sets = [
        *TINY,
        f'data.train="{image_dir}"',
        f'data.extra=["{extra}"]',
        f'l1.init="{full_run / "weights" / "l1"}"',
        "model.luma_channels=16",  # ignored: the init source's architecture wins
        'phases=["l1_luma", "l1_chroma"]',
        f'run_dir="{run_dir}"',
    ]
    assert main([str(CONFIGS / "smoke.toml"), *_sets(sets)]) == 0
    cfg = json.loads((run_dir / "l1" / "config.json").read_text())
    src = json.loads((full_run / "weights" / "l1" / "config.json").read_text())
    assert cfg["luma"]["channels"] == src["luma"]["channels"] == 8
    assert cfg["chroma"] == src["chroma"]
    tuned = checkpoint.load_npz_state(run_dir / "l1" / "luma.npz")
    _, states = checkpoint.load_decoder_weights(full_run / "weights" / "l1")
    assert tuned.keys() == states["luma"].keys()
    # fine-tuned weights moved away from the (fp16) source, but not far
    diff = max((tuned[k] - states["luma"][k].float()).abs().max().item() for k in tuned)
    assert 0 < diff < 0.1
    with pytest.raises(ValueError, match="z inputs"):
        main(
            [
                str(CONFIGS / "smoke.toml"),
                *_sets(
                    [
                        *sets[:-1],
                        f'run_dir="{tmp_path / "g"}"',
                        f'l1.init="{full_run / "weights" / "gan"}"',
                    ]
                ),
            ]
        )


def test_gradient_penalty_zero_for_unit_lipschitz_linear_critic():
    g = torch.Generator().manual_seed(0)
    w = torch.randn(3 * 4 * 4, generator=g)

    def critic(x, w=w):
        return x.flatten(1) @ w

    real = torch.randn(5, 3, 4, 4, generator=g)
    fake = torch.randn(5, 3, 4, 4, generator=g)
    unit = losses.gradient_penalty(lambda x: critic(x, w / w.norm()), real, fake, g)
    assert float(unit) < 1e-10
    assert float(losses.gradient_penalty(lambda x: critic(x, 3 * w / w.norm()), real, fake, g)) > 3
    assert (
        float(losses.gradient_penalty(lambda x: critic(x, 0.2 * w / w.norm()), real, fake, g)) > 0.5
    )


def test_critic_loss_and_range_loss_formulas():
    d_real, d_fake = torch.tensor([2.0, 4.0]), torch.tensor([1.0, 1.0])
    assert float(losses.critic_loss(d_real, d_fake, torch.tensor(0.5), 10.0)) == pytest.approx(3.0)
    x = torch.tensor([-10.0, 0.0, 100.0, 265.0])
    assert float(losses.range_loss(x)) == pytest.approx(5.0)
    assert float(losses.generator_adversarial_loss(d_fake)) == -1.0


def test_diversity_term_grows_with_spread_and_is_capped():
    g = torch.Generator().manual_seed(0)
    z1, z2 = torch.rand(2, 64, 2, 2, generator=g), torch.rand(2, 64, 2, 2, generator=g)
    x = torch.rand(2, 16, 16, generator=g) * 255
    noise = torch.randn(2, 16, 16, generator=g)
    vals = [float(losses.diversity_loss(x, x + s * noise, z1, z2, cap=1e9)) for s in (0, 1, 4)]
    assert vals[0] == 0.0 and vals[0] > vals[1] > vals[2]  # loss = −diversity
    assert float(losses.diversity_loss(x, x + 100 * noise, z1, z2, cap=8.0)) == -8.0


def test_diversity_cap_on_the_batch_mean_lets_smooth_crops_stay_put():
    z1, z2 = torch.zeros(2, 64, 1, 1), torch.ones(2, 64, 1, 1)  # mean |Δz| = 1
    x = torch.zeros(2, 8, 8)
    y = torch.stack([torch.zeros(8, 8), torch.full((8, 8), 16.0)])  # ratios 0 and 16
    assert float(losses.diversity_loss(x, y, z1, z2, cap=8.0)) == -4.0  # mean of (0, 8)
    assert float(losses.diversity_loss(x, y, z1, z2, cap=8.0, reduce="batch")) == -8.0
    with pytest.raises(ValueError, match="div_reduce"):
        losses.diversity_loss(x, y, z1, z2, cap=8.0, reduce="pixel")


def test_table_scaled_cap_follows_the_quantisation_step():
    from explorable_jpeg.jpeg.tables import ijg_tables

    ref = torch.as_tensor(ijg_tables(10)[0])
    tables = torch.stack([torch.as_tensor(ijg_tables(q)[0]) for q in (5, 10, 50, 90)])
    cap = losses.table_scaled_cap(8.0, tables, ref)
    assert cap[0] == 8.0 and cap[1] == 8.0  # coarser than QF 10: not above the cap
    assert 1.0 < cap[2] < 2.5 and cap[3] < 0.5 and cap[2] > cap[3]
    z1, z2 = torch.zeros(4, 64, 1, 1), torch.ones(4, 64, 1, 1)
    y = torch.full((4, 8, 8), 100.0)  # ratio 100 everywhere: every crop sits at its cap
    assert torch.isclose(losses.diversity_loss(y * 0, y, z1, z2, cap), -cap.mean())
    with pytest.raises(ValueError, match="per-crop cap"):
        losses.diversity_loss(y * 0, y, z1, z2, cap, reduce="batch")


class _ToyPerceptual(torch.nn.Module):
    """A small fixed conv feature distance standing in for ST-LPIPS (same call signature)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 8, 3, padding=1)
        torch.nn.init.normal_(self.conv.weight, generator=torch.Generator().manual_seed(0))
        self.requires_grad_(False)
        self.source = "toy"

    def forward(self, a, b):
        return (torch.relu(self.conv(a)) - torch.relu(self.conv(b))).abs().mean((1, 2, 3))


def test_perceptual_term_reaches_both_gan_phases_and_lowers(
    full_run, image_dir, tmp_path, monkeypatch
):
    from explorable_jpeg_train import gan, metrics

    fixed = _fixed_batch(seed=20)
    monkeypatch.setattr(gan, "sample_batch", lambda *a, **k: fixed)
    seen: list[tuple[str, str]] = []

    def toy(net, device):
        seen.append((net, device))
        return _ToyPerceptual()

    monkeypatch.setattr(metrics, "load_stlpips_net", toy)
    run_dir = tmp_path / "perc"
    sets = [
        *TINY,
        f'data.train="{image_dir}"',
        f'gan.init="{full_run / "l1"}"',
        'phases=["gan_luma", "gan_chroma"]',
        "gan.luma_steps=25",
        "gan.chroma_steps=25",
        "gan.lr_g=1e-3",
        "gan.w_adv=0",
        "gan.w_zero=0",
        "gan.w_map=0",
        "gan.w_div=0",
        "gan.w_perc=1",
        "gan.perc_batch=2",
        'gan.perc_net="alex"',
        'gan.div_cap_scale="table"',
        "eval_every=1000",
        "log_every=1",
        f'run_dir="{run_dir}"',
    ]
    assert main([str(CONFIGS / "smoke.toml"), *_sets(sets)]) == 0
    assert seen.count(("alex", "cpu")) >= 2  # one per phase (the probes' metric also loads)
    for phase in ("gan_luma", "gan_chroma"):
        vals = [float(r["perc"]) for r in _rows(run_dir / f"log_{phase}.csv")]
        assert np.mean(vals[-3:]) < np.mean(vals[:3]), (phase, vals[:3], vals[-3:])


@pytest.mark.skipif(not importlib.util.find_spec("stlpips_pytorch"), reason="stlpips-pytorch")
@pytest.mark.parametrize("net", ["alex", "vgg"])
def test_stlpips_perceptual_loss_is_differentiable_and_zero_on_identity(net):
    loss = losses.PerceptualLoss(net)
    g = torch.Generator().manual_seed(0)
    x = torch.rand(2, 48, 48, generator=g) * 255
    a = (x + 20 * torch.randn(2, 48, 48, generator=g)).requires_grad_(True)
    d = loss(a, x)
    d.backward()
    assert float(d) > 0 and float(a.grad.abs().sum()) > 0
    assert float(loss(x, x)) < 1e-6


@pytest.mark.parametrize("make", [luma_critic, chroma_critic])
def test_critics_give_one_score_per_image_and_have_no_batchnorm(make):
    d = make(CriticConfig(channels=8, layers=2))
    n_in = d.body[0].in_channels
    out = d(torch.randn(3, n_in, 4, 6))
    assert out.shape == (3,)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in d.modules())


def test_checkpoint_roundtrip_restores_model_optimizer_and_rng(tmp_path):
    net = torch.nn.Linear(3, 2)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    net(torch.randn(4, 3)).sum().backward()
    opt.step()
    gen = torch.Generator().manual_seed(5)
    checkpoint.save_checkpoint(tmp_path, {"step": 1}, {"net": net}, {"opt": opt}, {"g": gen})
    expect = torch.rand(3, generator=gen)
    net2 = torch.nn.Linear(3, 2)
    opt2 = torch.optim.Adam(net2.parameters(), lr=1e-3)
    gen2 = torch.Generator().manual_seed(99)
    meta = checkpoint.load_checkpoint(tmp_path, {"net": net2}, {"opt": opt2}, {"g": gen2}, 0)
    assert meta["step"] == 1
    assert torch.equal(net.weight, net2.weight)
    s1, s2 = opt.state_dict()["state"][0], opt2.state_dict()["state"][0]
    assert torch.equal(s1["exp_avg_sq"], s2["exp_avg_sq"])
    assert torch.equal(torch.rand(3, generator=gen2), expect)
    assert not list(tmp_path.glob("*.pkl")) and not list(tmp_path.glob("*.pt"))


def test_safetensors_reader_matches_bundled_weights():
    from explorable_jpeg.decoding.decoder import BUNDLED_WEIGHTS

    cfg, states = checkpoint.load_decoder_weights(BUNDLED_WEIGHTS / "gan")
    assert cfg["luma"]["z_channels"] == 64
    assert states["luma"]["head.weight"].dtype == torch.float32
    assert states["chroma"]["tail.bias"].shape == (128,)


def test_gradient_averaging_code_path_with_gloo_world_size_one(tmp_path):
    import torch.distributed as dist

    dist.init_process_group(
        "gloo", init_method=f"file://{tmp_path / 'store'}", rank=0, world_size=1
    )
    try:
        info = distributed.DistInfo(0, 1, 0)
        assert info.enabled
        net = torch.nn.Linear(3, 2)
        net(torch.ones(1, 3)).sum().backward()
        before = net.weight.grad.clone()
        distributed.average_gradients(list(net.parameters()), info)
        distributed.broadcast_module(net, info)
        assert torch.equal(net.weight.grad, before)
    finally:
        distributed.cleanup()


def test_upload_dry_run_lists_weight_files(full_run, capsys):
    assert upload_main([str(full_run / "weights"), "someone/repo", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "gan/model.safetensors" in out and "l1/config.json" in out
    assert upload_main([str(full_run), "someone/repo", "--dry-run"]) == 1


def test_training_imports_neither_jpeglib_nor_safetensors():
    """The GPU box has torch, numpy and pillow only: training must import without the rest."""
    import subprocess
    import sys

    code = (
        "import sys, importlib.abc\n"
        "class Block(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path, target=None):\n"
        "        if name.split('.')[0] in ('jpeglib', 'safetensors', 'huggingface_hub'):\n"
        "            raise ImportError(name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import explorable_jpeg_train.__main__, explorable_jpeg_train.gan\n"
        "import explorable_jpeg_train.l1_phase\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_log_rows_with_new_keys_keep_every_column_under_its_name(tmp_path):
    from explorable_jpeg_train.loop import append_csv_row

    path = tmp_path / "log.csv"
    append_csv_row(path, {"step": 0, "d_loss": 1.0, "g_loss": 2.0})
    append_csv_row(path, {"step": 1, "d_loss": 3.0, "g_adv": 4.0, "g_loss": 5.0, "probe": 6.0})
    append_csv_row(path, {"step": 2, "d_loss": 7.0, "g_adv": 8.0, "g_loss": 9.0})
    rows = _rows(path)
    assert list(rows[0]) == ["step", "d_loss", "g_loss", "g_adv", "probe"]
    assert [r["g_loss"] for r in rows] == ["2.0", "5.0", "9.0"]
    assert [r["g_adv"] for r in rows] == ["", "4.0", "8.0"]
    assert [r["probe"] for r in rows] == ["", "6.0", ""]


def test_each_phase_lowers_its_loss_on_a_fixed_batch(image_dir, tmp_path, monkeypatch):
    """Every phase, run on one fixed batch (``sample_batch`` patched), lowers its own loss:
    the L1 phases their pixel/chroma L1, the GAN phases the generator's L1 terms (at z = 0
    and z*) and the critic's WGAN-GP loss."""
    from explorable_jpeg_train import gan, l1_phase

    fixed = _fixed_batch(seed=10)
    monkeypatch.setattr(l1_phase, "sample_batch", lambda *a, **k: fixed)
    monkeypatch.setattr(gan, "sample_batch", lambda *a, **k: fixed)
    run_dir = tmp_path / "fixed"
    sets = [
        *TINY,
        f'data.train="{image_dir}"',
        f'run_dir="{run_dir}"',
        "l1.luma_steps=40",
        "l1.chroma_steps=40",
        "l1.lr=2e-3",
        "gan.luma_steps=25",
        "gan.chroma_steps=25",
        "gan.lr_g=1e-3",
        "gan.lr_d=1e-3",
        "gan.adv_start=0",
        "gan.w_adv=1e-3",
        "eval_every=1000",
        'phases=["l1_luma", "l1_chroma", "gan_luma", "gan_chroma"]',
    ]
    assert main([str(CONFIGS / "smoke.toml"), *_sets(sets)]) == 0

    def first_last(phase: str, key: str) -> tuple[float, float]:
        vals = [float(r[key]) for r in _rows(run_dir / f"log_{phase}.csv")]
        return float(np.mean(vals[:3])), float(np.mean(vals[-3:]))

    for phase, key in [
        ("l1_luma", "l1"),
        ("l1_chroma", "l1"),
        ("gan_luma", "l1_z0"),
        ("gan_luma", "d_loss"),
        ("gan_chroma", "l1_z0"),
        ("gan_chroma", "d_loss"),
    ]:
        first, last = first_last(phase, key)
        assert last < first, (phase, key, first, last)


def test_chroma_phase_uses_its_own_diversity_cap(full_run, image_dir, tmp_path, monkeypatch):
    from explorable_jpeg_train import gan

    caps: list[tuple[int, float]] = []
    real = gan.L.diversity_loss

    def spy(out1, out2, z1, z2, cap, *rest):
        caps.append((out1.dim(), cap))  # luma outputs (B, H, W), chroma (B, 2, H, W)
        return real(out1, out2, z1, z2, cap, *rest)

    monkeypatch.setattr(gan.L, "diversity_loss", spy)
    sets = [
        *TINY,
        f'data.train="{image_dir}"',
        f'gan.init="{full_run / "l1"}"',
        'phases=["gan_luma", "gan_chroma"]',
        "gan.div_cap=8",
        "gan.div_cap_chroma=2",
        f'run_dir="{tmp_path / "caps"}"',
    ]
    assert main([str(CONFIGS / "smoke.toml"), *_sets(sets)]) == 0
    assert sorted(set(caps)) == [(3, 8.0), (4, 2.0)]


def test_probe_crop_sets_the_probe_size_apart_from_the_training_crop(
    image_dir, tmp_path, monkeypatch
):
    from explorable_jpeg_train import l1_phase

    sizes: list[int] = []
    real = l1_phase.probe_batch

    def spy(images, size, *a, **k):
        sizes.append(size)
        return real(images, size, *a, **k)

    monkeypatch.setattr(l1_phase, "probe_batch", spy)
    sets = [*TINY, f'data.train="{image_dir}"', 'phases=["l1_luma"]', "probe_crop=48"]
    assert main([str(CONFIGS / "smoke.toml"), *_sets([*sets, f'run_dir="{tmp_path / "a"}"'])]) == 0
    assert (
        main([str(CONFIGS / "smoke.toml"), *_sets([*sets[:-1], f'run_dir="{tmp_path / "b"}"'])])
        == 0
    )
    assert sizes == [48, 32]  # TINY trains on 32² crops


@pytest.mark.parametrize("z_channels", [0, 64])
def test_grown_luma_net_computes_the_small_nets_function_and_trains_everywhere(z_channels):
    """``grow_luma`` embeds a trained net (an L1 net, or a gan net with z inputs) in a wider,
    deeper one: same output at the start for any z, and every parameter (the zero
    cross-weights included) gets a gradient by the second step."""
    from explorable_jpeg.models import LumaNet, LumaNetConfig
    from explorable_jpeg_train.grow import grow_luma

    torch.manual_seed(0)
    small = LumaNet(LumaNetConfig(8, 2, z_channels))
    with torch.no_grad():  # a "trained" net: non-zero output layer
        small.tail.weight.normal_(0, 0.1)
        small.tail.bias.normal_(0, 0.1)
    big = grow_luma(small, LumaNetConfig(12, 4, z_channels))
    b = _fixed_batch(7)
    z = None
    if z_channels:
        z = torch.rand(b.q.shape[0], z_channels, *b.q.shape[-2:]) * 2 - 1
    with torch.no_grad():
        ref = small.offsets(b.q, b.table, z)
        out = big.offsets(b.q, b.table, z)
    assert ref.abs().max() > 1e-3
    torch.testing.assert_close(out, ref, rtol=0, atol=1e-6)
    opt = torch.optim.SGD(big.parameters(), lr=0.1)
    for _ in range(2):  # a new block's conv1 gets a gradient once its zero conv2 has moved
        opt.zero_grad()
        (big.offsets(b.q, b.table, z) - b.offsets).abs().mean().backward()
        opt.step()
    for name, p in big.named_parameters():
        assert p.grad is not None and p.grad.abs().max() > 0, name
    with pytest.raises(ValueError, match="cannot grow"):
        grow_luma(small, LumaNetConfig(4, 2, z_channels))
    with pytest.raises(ValueError, match="z_channels differ"):
        grow_luma(small, LumaNetConfig(12, 4, 64 - z_channels))


def test_l1_grow_and_amp_options_train_a_grown_net_from_init(full_run, image_dir, tmp_path):
    """``l1.grow`` builds [model]'s size from the init source (and needs one); ``l1.amp``
    trains it under bfloat16 autocast to finite weights."""
    run_dir = tmp_path / "grow"
    sets = [
        *TINY,
        f'data.train="{image_dir}"',
        f'l1.init="{full_run / "weights" / "l1"}"',
        "l1.grow=true",
        "l1.amp=true",
        "model.luma_channels=12",
        "model.luma_blocks=2",
        'phases=["l1_luma"]',
        f'run_dir="{run_dir}"',
    ]
    assert main([str(CONFIGS / "smoke.toml"), *_sets(sets)]) == 0
    cfg = json.loads((run_dir / "l1" / "config.json").read_text())
    assert (cfg["luma"]["channels"], cfg["luma"]["blocks"]) == (12, 2)
    state = checkpoint.load_npz_state(run_dir / "l1" / "luma.npz")
    assert state["head.weight"].shape[0] == 12 and "body.1.conv1.weight" in state
    assert all(torch.isfinite(v).all() for v in state.values())
    with pytest.raises(ValueError, match="set l1.init"):
        load_config(None, ["l1.grow=true"])


def test_gan_chroma_init_takes_the_chroma_net_from_another_source(full_run, image_dir, tmp_path):
    """``gan.chroma_init``: the gan run dir's chroma net comes from that source (with its
    z weights), the luma net from ``gan.init`` (an l1 source, z weights zero)."""
    run_dir = tmp_path / "mix"
    sets = [
        *TINY,
        f'data.train="{image_dir}"',
        f'gan.init="{full_run / "weights" / "l1"}"',
        f'gan.chroma_init="{full_run / "weights" / "gan"}"',
        'phases=["gan_luma"]',
        f'run_dir="{run_dir}"',
    ]
    assert main([str(CONFIGS / "smoke.toml"), *_sets(sets)]) == 0
    chroma = checkpoint.load_npz_state(run_dir / "gan" / "chroma.npz")
    _, src = checkpoint.load_decoder_weights(full_run / "weights" / "gan")
    assert chroma.keys() == src["chroma"].keys()
    assert any("z_proj" in k for k in chroma)
    for k in chroma:
        torch.testing.assert_close(chroma[k].float(), src["chroma"][k].float())
    _, l1 = checkpoint.load_decoder_weights(full_run / "weights" / "l1")
    luma = checkpoint.load_npz_state(run_dir / "gan" / "luma.npz")
    assert set(luma) - set(l1["luma"]) == {k for k in luma if "z_proj" in k} != set()


def test_gan_grow_option_grows_the_init_luma_net(full_run, image_dir, tmp_path):
    """``gan.grow``: the gan luma net starts as the init source's, grown into [model]'s size."""
    run_dir = tmp_path / "ggrow"
    sets = [
        *TINY,
        f'data.train="{image_dir}"',
        f'gan.init="{full_run / "weights" / "gan"}"',
        "gan.grow=true",
        "model.luma_channels=12",
        "model.luma_blocks=2",
        'phases=["gan_luma"]',
        f'run_dir="{run_dir}"',
    ]
    assert main([str(CONFIGS / "smoke.toml"), *_sets(sets)]) == 0
    cfg = json.loads((run_dir / "gan" / "config.json").read_text())
    assert (cfg["luma"]["channels"], cfg["luma"]["blocks"], cfg["luma"]["z_channels"]) == (
        12,
        2,
        64,
    )
    state = checkpoint.load_npz_state(run_dir / "gan" / "luma.npz")
    assert state["body.1.z_proj.weight"].shape == (12, 64, 1, 1)


def test_weight_average_follows_its_formula():
    from explorable_jpeg_train.ema import averaged, make_ema, update_ema

    net = torch.nn.Linear(3, 2)
    assert make_ema(net, 0.0) is None and averaged(net, None) is net
    with pytest.raises(ValueError, match="ema decay"):
        make_ema(net, 1.0)
    ema = make_ema(net, 0.9)
    update_ema(ema, net)  # the first update copies θ
    start = net.weight.detach().clone()
    with torch.no_grad():
        net.weight.add_(1.0)
    update_ema(ema, net)  # θ̄ ← 0.9·θ̄ + 0.1·θ
    torch.testing.assert_close(averaged(net, ema).weight, start + 0.1)
    assert not averaged(net, ema).weight.requires_grad


def _npz_prefixed(run_dir: Path, prefix: str) -> dict[str, np.ndarray]:
    with np.load(run_dir / "checkpoint.npz") as npz:
        return {k[len(prefix) :]: npz[k] for k in npz.files if k.startswith(prefix)}


@pytest.mark.parametrize("phase", ["l1_luma", "gan_luma"])
def test_ema_is_what_a_phase_writes_and_resumes_bit_exactly(phase, full_run, image_dir, tmp_path):
    """With ``ema`` the phase writes the weight average (not the raw weights), checkpoints it,
    and a run resumed mid-way writes the same average as one straight run."""
    part = "l1" if phase == "l1_luma" else "gan"
    base = [*TINY, f'data.train="{image_dir}"', f'phases=["{phase}"]', f"{part}.ema=0.5"]
    base += [f"{part}.luma_steps=3", f'{part}.init="{full_run / "l1"}"']
    cfg = str(CONFIGS / "smoke.toml")
    straight, resumed = tmp_path / "a", tmp_path / "b"
    assert main([cfg, *_sets([*base, f'run_dir="{straight}"'])]) == 0
    assert main([cfg, *_sets([*base, f'run_dir="{resumed}"']), "--session-steps", "2"]) == 0
    assert main([cfg, *_sets([*base, f'run_dir="{resumed}"']), "--resume"]) == 0
    name = "luma_ema" if part == "l1" else "generator_ema"
    avg = _npz_prefixed(straight, f"model/{name}/module.")
    raw = _npz_prefixed(straight, "model/luma/")
    out = checkpoint.load_npz_state(straight / part / "luma.npz")
    assert avg.keys() == raw.keys() == out.keys()
    assert all(np.array_equal(out[k].numpy(), avg[k]) for k in out)
    assert any(not np.array_equal(avg[k], raw[k]) for k in avg)
    again = checkpoint.load_npz_state(resumed / part / "luma.npz")
    assert all(torch.equal(out[k], again[k]) for k in out)


def test_ema_switched_on_when_resuming_an_older_checkpoint_starts_there(
    full_run, image_dir, tmp_path
):
    run_dir = tmp_path / "r"
    base = [*TINY, f'data.train="{image_dir}"', 'phases=["l1_luma"]', "l1.luma_steps=3"]
    base += [f'l1.init="{full_run / "l1"}"', f'run_dir="{run_dir}"']
    cfg = str(CONFIGS / "smoke.toml")
    assert main([cfg, *_sets(base), "--session-steps", "2"]) == 0
    assert not _npz_prefixed(run_dir, "model/luma_ema/")
    assert main([cfg, *_sets([*base, "l1.ema=0.9"]), "--resume"]) == 0
    assert _npz_prefixed(run_dir, "model/luma_ema/module.")
    assert json.loads((run_dir / "checkpoint.json").read_text())["step"] == 3
