"""Checkpoints without pickle: tensors in ``.npz`` (numpy), everything else in ``.json``.

``<run_dir>/checkpoint.npz`` holds, under prefixed keys,

* ``model/<name>/<param>``          — float32 state dicts (generator, critic, …),
* ``optim/<name>/<index>/<field>``  — Adam moments per parameter (by position in the group),
* ``rng/<name>``                    — ``torch.Generator`` states (uint8),

and ``<run_dir>/checkpoint.json`` the rest: phase, step, elapsed seconds, finished phases,
optimizer hyper-parameters, the device type of every generator and the config. Both are
written to a temporary name and renamed, so an interrupted save never leaves a broken
checkpoint. Loading works on another machine: tensors are mapped to the current device;
a random-generator state saved on another device type (CUDA ↔ CPU) cannot be restored, so
that generator is re-seeded from ``(seed, step)`` and a warning says so.

Also here: reading decoder weights for initialisation from an npz run directory
(``luma.npz``/``chroma.npz`` + ``config.json``) or a weights folder (``config.json`` +
fp16 ``model.safetensors``) — the latter with a small numpy reader, so that training needs
neither the ``safetensors`` package nor ``jpeglib``.
"""

from __future__ import annotations

import json
import logging
import os
import struct
from pathlib import Path

import numpy as np
import torch

logger = logging.getLogger("explorable_jpeg_train")

CKPT_NPZ = "checkpoint.npz"
CKPT_JSON = "checkpoint.json"


def _atomic_write_bytes(path: Path, writer) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        writer(f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def state_to_numpy(module: torch.nn.Module) -> dict[str, np.ndarray]:
    return {k: v.detach().float().cpu().numpy() for k, v in module.state_dict().items()}


def save_npz(module: torch.nn.Module, path: Path) -> None:
    """A module's float32 state dict as an npz (the run format read by ``export``)."""
    arrays = state_to_numpy(module)
    _atomic_write_bytes(Path(path), lambda f: np.savez(f, **arrays))


def load_npz_state(path: Path) -> dict[str, torch.Tensor]:
    with np.load(path, allow_pickle=False) as npz:
        return {k: torch.from_numpy(npz[k].copy()) for k in npz.files}


def save_checkpoint(
    run_dir: Path,
    meta: dict,
    modules: dict[str, torch.nn.Module],
    optimizers: dict[str, torch.optim.Optimizer],
    generators: dict[str, torch.Generator],
) -> None:
    """Write ``checkpoint.npz`` + ``checkpoint.json`` (see module docstring)."""
    run_dir = Path(run_dir)
    arrays: dict[str, np.ndarray] = {}
    meta = dict(meta)
    for name, mod in modules.items():
        for k, v in state_to_numpy(mod).items():
            arrays[f"model/{name}/{k}"] = v
    meta["optimizers"] = {}
    for name, opt in optimizers.items():
        sd = opt.state_dict()
        for idx, st in sd["state"].items():
            for field, val in st.items():
                t = torch.as_tensor(val).detach().cpu()
                arrays[f"optim/{name}/{idx}/{field}"] = t.float().numpy()
        meta["optimizers"][name] = sd["param_groups"]
    meta["generators"] = {}
    for name, gen in generators.items():
        arrays[f"rng/{name}"] = gen.get_state().numpy()
        meta["generators"][name] = gen.device.type
    arrays["rng/torch_global"] = torch.get_rng_state().numpy()
    _atomic_write_bytes(run_dir / CKPT_NPZ, lambda f: np.savez(f, **arrays))
    text = json.dumps(meta, indent=2).encode()
    _atomic_write_bytes(run_dir / CKPT_JSON, lambda f: f.write(text))


def read_checkpoint_meta(run_dir: Path) -> dict | None:
    p = Path(run_dir) / CKPT_JSON
    if not p.is_file() or not (Path(run_dir) / CKPT_NPZ).is_file():
        return None
    return json.loads(p.read_text())


def _module_state(arrays, name: str) -> dict[str, torch.Tensor]:
    """The ``model/<name>/`` entries of a checkpoint's arrays as a state dict."""
    prefix = f"model/{name}/"
    return {
        k[len(prefix) :]: torch.from_numpy(np.array(arrays[k]))
        for k in arrays
        if k.startswith(prefix)
    }


def load_module_if_saved(run_dir: Path, name: str, module: torch.nn.Module) -> bool:
    """Restore ``module`` from the checkpoint's ``model/<name>/`` entries when it has them
    (a module added on resume, such as a weight average, starts fresh otherwise)."""
    with np.load(Path(run_dir) / CKPT_NPZ, allow_pickle=False) as npz:
        state = _module_state(npz, name)
    if not state:
        return False
    module.load_state_dict(state, strict=True)
    return True


def load_checkpoint(
    run_dir: Path,
    modules: dict[str, torch.nn.Module],
    optimizers: dict[str, torch.optim.Optimizer],
    generators: dict[str, torch.Generator],
    seed: int,
) -> dict:
    """Restore modules, optimizers and generators in place; returns the JSON metadata."""
    run_dir = Path(run_dir)
    meta = json.loads((run_dir / CKPT_JSON).read_text())
    with np.load(run_dir / CKPT_NPZ, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    for name, mod in modules.items():
        mod.load_state_dict(_module_state(arrays, name), strict=True)
    for name, opt in optimizers.items():
        params = [p for g in opt.param_groups for p in g["params"]]
        state: dict[int, dict] = {}
        prefix = f"optim/{name}/"
        for k, v in arrays.items():
            if not k.startswith(prefix):
                continue
            idx, field = k[len(prefix) :].split("/")
            i = int(idx)
            t = torch.from_numpy(v.copy())
            if field != "step":
                t = t.to(params[i].device, params[i].dtype)
            state.setdefault(i, {})[field] = t
        groups = meta["optimizers"][name]
        opt.load_state_dict({"state": state, "param_groups": groups})
    for name, gen in generators.items():
        saved_type = meta["generators"].get(name)
        if saved_type == gen.device.type:
            gen.set_state(torch.from_numpy(arrays[f"rng/{name}"].copy()))
        else:
            reseed = seed * 1_000_003 + int(meta.get("step", 0)) + 17
            logger.warning(
                "generator %r was saved on %s, now on %s: re-seeded with %d (the run "
                "continues, but not bit-identically)",
                name,
                saved_type,
                gen.device.type,
                reseed,
            )
            gen.manual_seed(reseed)
    torch.set_rng_state(torch.from_numpy(arrays["rng/torch_global"].copy()))
    return meta


# ---------------------------------------------------------------- initial weights

_ST_DTYPES = {"F16": np.float16, "F32": np.float32, "BF16": None, "F64": np.float64}


def read_safetensors_numpy(path: Path) -> dict[str, np.ndarray]:
    """Minimal safetensors reader (little-endian header length, JSON header, raw data)."""
    raw = Path(path).read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    data = raw[8 + n :]
    out = {}
    for key, info in header.items():
        if key == "__metadata__":
            continue
        dtype = _ST_DTYPES.get(info["dtype"])
        if dtype is None:
            raise ValueError(f"{path}: unsupported dtype {info['dtype']} for {key}")
        a, b = info["data_offsets"]
        out[key] = np.frombuffer(data[a:b], dtype=dtype).reshape(info["shape"]).astype(np.float32)
    return out


def load_decoder_weights(source: str | Path) -> tuple[dict, dict[str, dict[str, torch.Tensor]]]:
    """``(config, {"luma": state, "chroma": state})`` from a run dir or a weights folder.

    A run dir has ``config.json`` with ``luma``/``chroma`` sections and ``luma.npz`` /
    ``chroma.npz``; a weights folder (``weights/gan``) has ``config.json`` and
    ``model.safetensors`` with ``luma.``/``chroma.`` prefixed keys.
    """
    src = Path(source)
    cfg = json.loads((src / "config.json").read_text())
    if (src / "luma.npz").is_file():
        states = {
            p: load_npz_state(src / f"{p}.npz")
            for p in ("luma", "chroma")
            if (src / f"{p}.npz").is_file()
        }
        return cfg, states
    if (src / "model.safetensors").is_file():
        flat = read_safetensors_numpy(src / "model.safetensors")
        states: dict[str, dict[str, torch.Tensor]] = {"luma": {}, "chroma": {}}
        for k, v in flat.items():
            part, _, rest = k.partition(".")
            states[part][rest] = torch.from_numpy(v.copy())
        return cfg, states
    raise FileNotFoundError(f"{src}: neither luma.npz nor model.safetensors")
