"""Weights folders and Hugging Face Hub downloads, shared by every model of the package.

A weights folder holds ``config.json`` (the model's constructor arguments) and
``model.safetensors`` (its state dict; the decoders store fp16, the digit classifier fp32)
and, optionally, a ``README.md`` model card. Nothing is ever unpickled. The decoder
(:class:`explorable_jpeg.decoding.Decoder`) and the digit classifier
(:class:`explorable_jpeg.models.digit.DigitNet`) both save and load through this module;
each passes the exception class its users expect
(:class:`~explorable_jpeg.errors.WeightsError`,
:class:`~explorable_jpeg.errors.DigitWeightsError`).

``huggingface_hub.PyTorchModelHubMixin`` does not fit this layout: the decoder's repo has
one sub-folder per variant (``l1/``, ``gan/``), its weights are stored in fp16, its config
nests the two networks' configs, and the bundled weights are the offline fallback.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import urllib.parse
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

import torch
from torch import nn

from explorable_jpeg.errors import ExplorableJpegError

logger = logging.getLogger(__name__)

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
CARD_FILE = "README.md"

M = TypeVar("M", bound=nn.Module)


def save_folder(
    folder: str | os.PathLike[str],
    state: Mapping[str, torch.Tensor],
    config: Mapping[str, object],
    dtype: torch.dtype,
    card: str | None = None,
) -> None:
    """Write ``config.json``, ``model.safetensors`` (tensors cast to ``dtype``) and, when
    ``card`` is given, ``README.md`` to ``folder`` (created if needed)."""
    from safetensors.torch import save_file

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().to(dtype).contiguous().cpu() for k, v in state.items()}
    save_file(tensors, str(out / WEIGHTS_FILE), metadata={"format": "pt"})
    (out / CONFIG_FILE).write_text(json.dumps(dict(config), indent=2) + "\n")
    if card is not None:
        (out / CARD_FILE).write_text(card)


def read_config(path: Path, error: type[ExplorableJpegError]) -> dict:
    """The JSON object in ``path``; ``error`` if it is not valid JSON."""
    try:
        config = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise error(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(config, dict):
        raise error(f"{path} does not hold a JSON object")
    return config


def folder_files(
    folder: str | os.PathLike[str], error: type[ExplorableJpegError]
) -> tuple[Path, Path]:
    """``(config.json, model.safetensors)`` of a weights folder; ``error`` if one is missing."""
    root = Path(folder)
    cfg_path, w_path = root / CONFIG_FILE, root / WEIGHTS_FILE
    if not cfg_path.is_file() or not w_path.is_file():
        raise error(f"{root} has no {CONFIG_FILE} + {WEIGHTS_FILE}")
    return cfg_path, w_path


def load_weights(
    config: dict,
    weights: Path,
    build: Callable[[dict], M],
    error: type[ExplorableJpegError],
    device: str | torch.device = "cpu",
) -> M:
    """``build(config)`` with the state dict in ``weights`` (strict; stored fp16 or fp32,
    loaded as fp32), on ``device``, in eval mode.

    ``build`` raises ``error`` for a config that does not describe a model; an unreadable
    file or a state that does not fit the model raises ``error`` too, with the first line
    of the reason."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    model = build(config)
    try:
        state = load_file(str(weights))
    except (SafetensorError, OSError) as exc:
        raise error(f"cannot read weights {weights}: {exc}") from None
    try:
        model.load_state_dict({k: v.float() for k, v in state.items()}, strict=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0]
        raise error(f"weights {weights} do not fit the config: {first}") from None
    return model.to(device).eval()


def load_folder(
    folder: str | os.PathLike[str],
    build: Callable[[dict], M],
    error: type[ExplorableJpegError],
    device: str | torch.device = "cpu",
) -> M:
    """:func:`load_weights` of a local weights folder."""
    cfg_path, w_path = folder_files(folder, error)
    return load_weights(read_config(cfg_path, error), w_path, build, error, device)


def hub_reachable(timeout: float = 2.0) -> bool:
    """Can a TCP connection to the Hub endpoint be opened within ``timeout`` seconds?

    ``hf_hub_download`` spends tens of seconds in retries on an unreachable network; this
    probe lets an offline machine go straight to the local cache. Skipped (assumed
    reachable) when a proxy is configured, since the probe would bypass it.
    """
    if any(os.environ.get(v) for v in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")):
        return True
    from huggingface_hub import constants

    url = urllib.parse.urlparse(constants.ENDPOINT)
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        socket.create_connection((url.hostname, port), timeout=timeout).close()
    except OSError:
        return False
    return True


def hub_files(repo: str, subfolder: str | None, revision: str | None) -> tuple[Path, Path]:
    """Local paths of ``<subfolder>/config.json`` and ``<subfolder>/model.safetensors`` of
    Hub repo ``repo`` at ``revision``, downloaded or (offline, unreachable Hub) cached.

    Raises whatever ``huggingface_hub`` raises when the files are neither reachable nor
    cached (the caller decides on a fallback)."""
    from huggingface_hub import constants, hf_hub_download

    offline = bool(constants.HF_HUB_OFFLINE) or not hub_reachable()
    if offline:
        logger.info("Hugging Face Hub offline or unreachable: looking in the local cache")
    paths = [
        hf_hub_download(
            repo_id=repo,
            filename=name,
            subfolder=subfolder,
            revision=revision,
            local_files_only=offline,
        )
        for name in (CONFIG_FILE, WEIGHTS_FILE)
    ]
    return Path(str(paths[0])), Path(str(paths[1]))
