"""Nox sessions for the Explorable JPEG monorepo.

Sessions:
    tests  -- install core (+test extra), train and app packages editable, run pytest
    lint   -- ruff check + ruff format --check
    bench  -- install core, run benchmarks/bench.py

Torch selection (see ``install_torch``):
    * ``EXPLORABLE_JPEG_TORCH`` set  -> ``pip install $EXPLORABLE_JPEG_TORCH`` (a spec such as
      ``torch==2.5.1``, a wheel URL/path, or a spec followed by extra pip arguments).
    * an NVIDIA GPU is present      -> ``pip install torch`` (the default, CUDA-enabled build).
    * otherwise                     -> a CPU-only build: a local ``torch-*+cpu-*.whl`` from a
      wheelhouse if one exists (``EXPLORABLE_JPEG_WHEELHOUSE``, local ``PIP_FIND_LINKS`` dirs,
      ``/opt/wheels``), else the PyTorch CPU index, else plain ``torch``.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from pathlib import Path
from urllib.parse import unquote, urlparse

import nox

nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["tests", "lint"]

TORCH_ENV = "EXPLORABLE_JPEG_TORCH"
WHEELHOUSE_ENV = "EXPLORABLE_JPEG_WHEELHOUSE"
TORCH_MIN = (2, 2)  # keep in sync with packages/core/pyproject.toml
PYTORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
DEFAULT_WHEELHOUSES = ("/opt/wheels",)
# Pinned so that `ruff format --check` does not drift between machines; bump deliberately.
RUFF_VERSION = "0.17.6"

CORE = "packages/core"
TRAIN = "packages/train"
APP = "packages/app"


# --------------------------------------------------------------------------------------------
# torch installation helpers
# --------------------------------------------------------------------------------------------


def _gpu_present() -> bool:
    """True when `nvidia-smi` exists and exits 0 (driver + device usable)."""
    exe = shutil.which("nvidia-smi")
    if not exe:
        return False
    try:
        proc = subprocess.run(
            [exe], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return proc.returncode == 0


def _session_python_info(session: nox.Session) -> tuple[str, str]:
    """Return (cpython tag like 'cp311', sys.platform) of the session interpreter."""
    out = session.run(
        "python",
        "-c",
        "import sys; print(f'cp{sys.version_info[0]}{sys.version_info[1]}', sys.platform)",
        silent=True,
    )
    tag, plat = str(out).split()[-2:]
    return tag, plat


def _installed_torch_ok(session: nox.Session, want_cuda: bool) -> bool:
    """True if the session venv already has a torch that satisfies our needs."""
    code = (
        "try:\n"
        "    import torch\n"
        "except Exception:\n"
        "    print('TORCH_MISSING')\n"
        "else:\n"
        "    v = torch.__version__.split('+')[0].split('.')\n"
        "    print('TORCH', v[0], v[1], int(torch.version.cuda is not None))\n"
    )
    out = str(session.run("python", "-c", code, silent=True))
    for line in out.splitlines():
        parts = line.split()
        if parts and parts[0] == "TORCH" and len(parts) == 4:
            try:
                version = (int(parts[1]), int(parts[2]))
            except ValueError:
                return False
            has_cuda = parts[3] == "1"
            return version >= TORCH_MIN and (has_cuda or not want_cuda)
    return False


def _wheelhouse_dirs() -> list[Path]:
    candidates: list[str] = []
    candidates += [p for p in os.environ.get(WHEELHOUSE_ENV, "").split(os.pathsep) if p]
    for item in os.environ.get("PIP_FIND_LINKS", "").split():
        parsed = urlparse(item)
        if parsed.scheme in ("", "file"):
            candidates.append(unquote(parsed.path) if parsed.scheme else item)
    candidates += DEFAULT_WHEELHOUSES
    seen: list[Path] = []
    for c in candidates:
        p = Path(c)
        if p.is_dir() and p not in seen:
            seen.append(p)
    return seen


def _version_key(version: str) -> tuple[int, ...]:
    key = []
    for part in version.split("+")[0].split("."):
        digits = "".join(ch for ch in part if ch.isdigit())
        key.append(int(digits) if digits else 0)
    return tuple(key)


def _local_cpu_torch(pytag: str, plat: str) -> tuple[str, Path] | None:
    """Find the newest local CPU torch wheel for this interpreter: (version, wheel dir)."""
    plat_words = {"linux": "linux", "darwin": "macosx", "win32": "win"}.get(plat, plat)
    best: tuple[tuple[int, ...], str, Path] | None = None
    for d in _wheelhouse_dirs():
        for whl in d.glob("torch-*.whl"):
            parts = unquote(whl.name)[: -len(".whl")].split("-")
            if len(parts) < 5 or parts[0] != "torch":
                continue
            version, pyt, plat_tag = parts[1], parts[-3], parts[-1]
            if not version.endswith("+cpu") or pyt != pytag or plat_words not in plat_tag:
                continue
            key = _version_key(version)
            if best is None or key > best[0]:
                best = (key, version, d)
    return None if best is None else (best[1], best[2])


def install_torch(session: nox.Session) -> None:
    """Install a suitable torch into the session venv (see module docstring)."""
    spec = os.environ.get(TORCH_ENV, "").strip()
    if spec:
        session.log(f"{TORCH_ENV}={spec!r}: installing that torch")
        session.install(*shlex.split(spec))
        return

    want_cuda = _gpu_present()
    if _installed_torch_ok(session, want_cuda):
        session.log("torch already installed in this venv; not reinstalling")
        return

    if want_cuda:
        session.log("NVIDIA GPU detected: installing the default (CUDA) torch build")
        session.install("torch")
        return

    pytag, plat = _session_python_info(session)
    local = _local_cpu_torch(pytag, plat)
    if local is not None:
        version, wheel_dir = local
        session.log(f"no GPU: installing local CPU wheel torch=={version} from {wheel_dir}")
        try:
            session.install(f"torch=={version}", "--find-links", str(wheel_dir))
            return
        except nox.command.CommandFailed:
            session.warn("local CPU torch wheel failed to install; trying the PyTorch CPU index")

    if plat == "linux":
        # On Linux the PyPI torch wheel is the multi-GB CUDA build; prefer the CPU index.
        session.log(f"no GPU: installing CPU torch from {PYTORCH_CPU_INDEX}")
        try:
            session.install(
                "torch", "--index-url", PYTORCH_CPU_INDEX, "--retries", "1", "--timeout", "20"
            )
            return
        except nox.command.CommandFailed:
            session.warn("PyTorch CPU index unusable; falling back to the default torch")
    session.install("torch")


# --------------------------------------------------------------------------------------------
# sessions
# --------------------------------------------------------------------------------------------


@nox.session
def tests(session: nox.Session) -> None:
    """Run the test suite (pytest exit code 5 -- no tests collected -- fails the session)."""
    install_torch(session)
    session.install("-e", f"{CORE}[test]", "-e", TRAIN)
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """Static checks: ruff lint and ruff format check."""
    session.install(f"ruff=={RUFF_VERSION}")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def bench(session: nox.Session) -> None:
    """Run the benchmark script (benchmarks/bench.py)."""
    install_torch(session)
    session.install("-e", CORE)
    session.run("python", "benchmarks/bench.py", *session.posargs)
