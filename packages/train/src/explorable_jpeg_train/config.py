"""Typed run configuration, read from a TOML file with ``--set key=value`` overrides.

    cfg = load_config("packages/train/configs/gan.toml", ["gan.luma_steps=100", "seed=3"])

Every section of the file is a dataclass below; unknown keys are an error (a typo must not
silently fall back to a default). Values given with ``--set`` are parsed as TOML values
(``1e-4``, ``true``, ``[1, 2]``, ``"text"``); a bare word that is not valid TOML is a string.
Phases (run in the order listed): ``l1_luma``, ``l1_chroma``, ``gan_luma``, ``gan_chroma``,
``export``.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from pathlib import Path

import tomllib

PHASES = ("l1_luma", "l1_chroma", "gan_luma", "gan_chroma", "export")


@dataclasses.dataclass
class DataConfig:
    train: str = "data_cache/train"  # folder of training images (lossless)
    extra: list[str] = dataclasses.field(default_factory=list)  # more folders (TRAIN_DATA.md)
    val: str = ""  # folder for the fixed probe batch; empty: the training folder
    crop: int = 128  # crop side in pixels (multiple of 16)
    batch: int = 16  # per process (per GPU)
    min_scale: float = 0.5  # random antialiased down-scale in [min_scale, 1]
    qmin: int = 1
    qmax: int = 95
    perturb_p: float = 0.3  # fraction of tables perturbed per entry (×0.7–1.3)


@dataclasses.dataclass
class ModelConfig:
    luma_channels: int = 96
    luma_blocks: int = 5
    chroma_channels: int = 64
    chroma_blocks: int = 3


@dataclasses.dataclass
class L1Config:
    luma_steps: int = 0  # 0: no step limit (the time budget decides)
    luma_minutes: float = 5.0
    chroma_steps: int = 0
    chroma_minutes: float = 3.0
    lr: float = 2e-4
    warmup: int = 200
    clip: float = 1.0
    p_gt_luma: float = 0.5  # chroma phase: probability of conditioning on the true luma
    init: str = ""  # fine-tune from an npz run dir or weights folder (its architecture wins)
    grow: bool = False  # with init: grow its luma net into [model]'s size (grow.py)
    amp: bool = False  # luma net in bfloat16 autocast (loss, IDCT and optimiser in float32)
    ema: float = 0.0  # decay β of the weight average probed and written out (ema.py); 0: off


@dataclasses.dataclass
class CriticConfig:
    channels: int = 64
    layers: int = 4  # 3×3 convs after the input conv; layers 2 and 4 have stride 2
    norm: str = "layer"  # "layer" (LayerNorm over C, H, W, no affine) or "none"
    pixels: bool = True  # also show the candidate's pixels (space-to-depth) to the critic


@dataclasses.dataclass
class GanConfig:
    luma_steps: int = 0  # generator steps; 0: no step limit
    luma_minutes: float = 4.0
    chroma_steps: int = 0
    chroma_minutes: float = 2.0
    n_critic: int = 4  # critic steps per generator step
    lr_g: float = 5e-5
    lr_d: float = 1e-4
    betas_g: list[float] = dataclasses.field(default_factory=lambda: [0.5, 0.9])
    betas_d: list[float] = dataclasses.field(default_factory=lambda: [0.5, 0.9])
    warmup: int = 100  # generator and critic steps of linear warm-up
    clip_g: float = 1.0  # gradient-norm clipping of the generator (0: none)
    clip_d: float = 0.0  # of the critic (0: none; the gradient penalty regularises it)
    gp_weight: float = 10.0
    drift: float = 1e-3  # ε·E[D(real)²] keeps critic values near 0 (ProGAN)
    adv_start: int = 0  # generator steps before the adversarial term is switched on
    critic_warmup: int = 0  # first steps train only the critic (a fresh critic for a trained
    # generator: without it the diversity term runs ahead before the critic pushes back)
    w_adv: float = 1e-2
    w_range: float = 1.0
    w_map: float = 1.0
    w_zero: float = 1.0  # L1 at z = 0 keeps z = 0 the distortion-optimal decoding
    w_div: float = 1.0
    div_cap: float = 8.0  # gray levels of output change per unit of mean |Δz|
    div_cap_chroma: float = 0.0  # the chroma phase's cap (Cb/Cr levels); 0: div_cap
    div_cap_scale: str = "none"  # "table": the cap shrinks with the table (losses.py)
    div_reduce: str = "image"  # cap per crop ("image") or on the batch mean ("batch")
    w_perc: float = 0.0  # ST-LPIPS of a random-z decoding to the truth (losses.py)
    perc_net: str = "vgg"  # "vgg" or "alex" (the evaluation reports alex)
    perc_batch: int = 8  # crops of the generator batch that get the perceptual term
    z_steps: int = 5  # Adam steps of the map loss's inner z search
    z_lr: float = 0.3
    p_gt_luma: float = 0.5
    init: str = ""  # npz run dir or weights folder; empty: this run's l1/ output
    chroma_init: str = ""  # the chroma net's source when not init's (e.g. an earlier gan)
    grow: bool = False  # grow init's luma net into [model]'s size (grow.py)
    ema: float = 0.0  # decay β of the generator's weight average written out (ema.py); 0: off
    critic: CriticConfig = dataclasses.field(default_factory=CriticConfig)


@dataclasses.dataclass
class ExportConfig:
    out: str = ""  # empty: <run_dir>/weights
    l1_card: str = ""
    gan_card: str = ""
    # Self-ensemble the exported l1 decoder uses by default (config.json "ensemble"; 1, 2, 4
    # or 8 flipped/transposed views, that many times the network time; the gan always 1).
    l1_ensemble: int = 1


@dataclasses.dataclass
class RunConfig:
    run_dir: str = "runs/default"
    seed: int = 0
    device: str = "auto"  # "auto": cuda:LOCAL_RANK when available, else cpu
    phases: list[str] = dataclasses.field(default_factory=lambda: list(PHASES))
    save_every_s: float = 60.0  # checkpoint interval (seconds); also at the end of a phase
    log_every: int = 20  # steps between CSV rows
    eval_every: int = 200  # steps between probe evaluations (PSNR, diversity)
    probe_quality: int = 10
    probe_batch: int = 8
    probe_crop: int = 0  # probe crop size; 0: data.crop (set it to compare runs' curves)
    tensorboard: bool = True  # used only when tensorboard is installed
    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
    l1: L1Config = dataclasses.field(default_factory=L1Config)
    gan: GanConfig = dataclasses.field(default_factory=GanConfig)
    export: ExportConfig = dataclasses.field(default_factory=ExportConfig)

    def __post_init__(self) -> None:
        bad = [p for p in self.phases if p not in PHASES]
        if bad:
            raise ValueError(f"unknown phases {bad}; choose from {PHASES}")
        if self.data.crop % 16:
            raise ValueError(f"data.crop must be a multiple of 16, got {self.data.crop}")
        if self.l1.grow and not self.l1.init:
            raise ValueError("l1.grow grows the l1.init source's luma net: set l1.init")


def _parse_value(text: str):
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def _set(tree: dict, dotted: str, value) -> None:
    *parents, leaf = dotted.split(".")
    node = tree
    for key in parents:
        node = node.setdefault(key, {})
        if not isinstance(node, dict):
            raise ValueError(f"--set {dotted}: {key} is not a section")
    node[leaf] = value


def _build(cls, data: dict, where: str):
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ValueError(f"unknown key(s) {unknown} in [{where or 'top level'}]")
    kwargs = {}
    for key, value in data.items():
        hint = hints[key]
        path = f"{where}.{key}" if where else key
        if dataclasses.is_dataclass(hint):
            if not isinstance(value, dict):
                raise ValueError(f"{path} must be a table")
            kwargs[key] = _build(hint, value, path)
        else:
            kwargs[key] = _coerce(hint, value, path)
    return cls(**kwargs)


def _coerce(hint, value, path: str):
    origin = typing.get_origin(hint)
    if origin in (list, types.GenericAlias) or hint is list:
        if not isinstance(value, list):
            raise ValueError(f"{path} must be a list, got {value!r}")
        (item,) = typing.get_args(hint) or (object,)
        return [_coerce(item, v, path) for v in value]
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint is str and isinstance(value, (int, float)):
        return str(value)
    if hint in (int, float, str, bool) and not isinstance(value, hint):
        raise ValueError(f"{path} must be {hint.__name__}, got {value!r}")
    if hint is int and isinstance(value, bool):
        raise ValueError(f"{path} must be int, got {value!r}")
    return value


def load_config(path: str | Path | None, overrides: list[str] | None = None) -> RunConfig:
    """Read a TOML file (a run's ``config.toml.json``, or only defaults when ``path`` is
    None) and apply ``key=value`` overrides."""
    tree: dict = {}
    if path is not None and str(path).endswith(".json"):  # a run's resolved config
        tree = json.loads(Path(path).read_text())
    elif path is not None:
        with open(path, "rb") as f:
            tree = tomllib.load(f)
    for item in overrides or []:
        key, sep, text = item.partition("=")
        if not sep:
            raise ValueError(f"--set expects key=value, got {item!r}")
        _set(tree, key.strip(), _parse_value(text.strip()))
    return _build(RunConfig, tree, "")


def config_to_dict(cfg) -> dict:
    """Plain nested dict (JSON/TOML-able) of a config."""
    return dataclasses.asdict(cfg)
