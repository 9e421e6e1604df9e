"""Nox sessions for the Explorable JPEG monorepo.

Sessions:
    app     -- install core + app, start the web app (http://127.0.0.1:7860)
    tests   -- install core (+test extra), train and app packages editable, run pytest
               (everything except the real-browser tests, marker ``browser``)
    fuzz    -- the seeded mutation fuzzer over malformed JPEGs (tests/fuzz, 320 cases)
    lint    -- ruff check + ruff format --check
    bench   -- install core, run benchmarks/bench.py
    space   -- assemble a Hugging Face Space folder in build/space/ and check it serves
    browser -- the real-browser tests (headless Chromium + chromedriver, selenium)

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
    out = session.run_install(
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
    out = str(session.run_install("python", "-c", code, silent=True))
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
    # stlpips-pytorch (no dependencies, ships its weights): the perceptual loss and metric tests
    session.install("-e", f"{CORE}[test]", "-e", TRAIN, "-e", APP, "stlpips-pytorch>=0.0.2")
    session.run("pytest", "-m", "not browser", *session.posargs)


@nox.session
def fuzz(session: nox.Session) -> None:
    """Mutation fuzzing of malformed JPEGs (tests/fuzz): 320 seeded cases by default, each
    decoded and checked, or refused with one specific ``error:`` line, within a time and
    memory bound; fails on any other outcome. ``-- --cases N --seed S`` to change."""
    install_torch(session)
    session.install("-e", f"{CORE}[test]")
    session.run("python", "-m", "tests.fuzz.fuzzer", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """Static checks: ruff lint, ruff format check, and mypy on core (its typed signatures;
    config in packages/core/pyproject.toml [tool.mypy])."""
    session.install(f"ruff=={RUFF_VERSION}", "mypy>=1.10")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    install_torch(session)  # mypy needs torch's and numpy's own annotations
    session.install("-e", CORE)
    session.run("mypy", "--config-file", f"{CORE}/pyproject.toml", f"{CORE}/src/explorable_jpeg")


@nox.session
def bench(session: nox.Session) -> None:
    """Run the benchmark script (benchmarks/bench.py)."""
    install_torch(session)
    session.install("-e", CORE)
    session.run("python", "benchmarks/bench.py", *session.posargs)


@nox.session
def app(session: nox.Session) -> None:
    """Start the web app on the bundled weights (arguments go to explorable-jpeg-app)."""
    install_torch(session)
    session.install("-e", CORE, "-e", APP)
    # two malloc arenas: with glibc's default (8 per core) the server's RSS kept growing
    # under several clients (soak: 353 -> 1097 MB in 10 min; with 2: flat at ~656 MB)
    session.run("explorable-jpeg-app", *session.posargs, env={"MALLOC_ARENA_MAX": "2"})


SPACE_DIR = Path("build/space")


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serves_http_200(session: nox.Session, folder: Path, timeout_s: float = 180.0) -> None:
    """Start ``python app.py`` in ``folder``, wait for HTTP 200 on /, then stop it."""
    import time
    import urllib.error
    import urllib.request

    port = _free_port()
    env = {**os.environ, "GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(port)}
    env["GRADIO_ANALYTICS_ENABLED"] = "False"
    python = str(Path(session.bin) / "python")
    proc = subprocess.Popen([python, "app.py"], cwd=folder, env=env)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                session.error(f"app.py exited with code {proc.returncode} before serving")
            try:
                with urllib.request.urlopen(url, timeout=5) as resp:
                    if resp.status == 200:
                        session.log(f"{folder}/app.py serves HTTP 200 at {url}")
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(1)
        session.error(f"app.py did not serve {url} within {timeout_s:.0f} s")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


@nox.session
def space(session: nox.Session) -> None:
    """Assemble build/space/ (front-matter README, app.py, wheels, pinned requirements,
    examples) and check that it starts and serves. ``-- --no-check`` only assembles."""
    install_torch(session)
    session.install("pip", "build")
    if SPACE_DIR.exists():
        shutil.rmtree(SPACE_DIR)
    wheels = SPACE_DIR / "wheels"
    wheels.mkdir(parents=True)
    session.run("python", "-m", "pip", "wheel", "--no-deps", "-w", str(wheels), CORE, APP)
    session.install(*[str(w) for w in sorted(wheels.glob("*.whl"))])
    gradio_version = str(
        session.run("python", "-c", "import gradio; print(gradio.__version__)", silent=True)
    ).split()[-1]
    template = Path(APP) / "space"
    readme = (template / "README.md").read_text().replace("{gradio_version}", gradio_version)
    (SPACE_DIR / "README.md").write_text(readme)
    shutil.copy(template / "app.py", SPACE_DIR / "app.py")
    shutil.copytree(Path(APP) / "src/explorable_jpeg_app/examples", SPACE_DIR / "examples")
    (SPACE_DIR / "screenshots").mkdir()
    for shot in ("app_desktop_1366x768.png", "app_phone_412.png"):  # embedded in its README
        shutil.copy(Path("docs") / shot, SPACE_DIR / "screenshots" / shot)
    lines = [f"./wheels/{w.name}" for w in sorted(wheels.glob("*.whl"))]
    lines += [f"gradio=={gradio_version}", "torch>=2.2"]
    (SPACE_DIR / "requirements.txt").write_text("\n".join(lines) + "\n")
    session.log(f"Space folder ready: {SPACE_DIR.resolve()}")
    if "--no-check" not in session.posargs:
        _serves_http_200(session, SPACE_DIR)


@nox.session
def browser(session: nox.Session) -> None:
    """Real-browser tests: headless Chromium drives the app (screenshots: results/browser/).

    Needs Debian's ``chromium`` and ``chromium-driver`` (``apt-get install -y chromium
    chromium-driver``); selenium is installed here.
    """
    for exe in ("chromium", "chromedriver"):
        if not shutil.which(exe):
            session.error(f"{exe} not found: apt-get install -y chromium chromium-driver")
    install_torch(session)
    session.install("-e", f"{CORE}[test]", "-e", APP, "selenium>=4.10")
    session.run("pytest", "tests/browser", "-m", "browser", "-v", *session.posargs)


@nox.session
def soak(session: nox.Session) -> None:
    """The app served on loopback and N gradio_client clients uploading, editing, undoing
    and downloading for a bounded time; asserts no lost edit, no cross-session leak and
    bounded RSS, prints the RSS series and latencies (tests/app/soak.py). Defaults: 3
    clients, 10 minutes; e.g. ``nox -s soak -- --clients 2 --minutes 2``."""
    install_torch(session)
    session.install("-e", f"{CORE}[test]", "-e", APP)
    session.run("python", "tests/app/soak.py", *session.posargs)


SHARED_TRAIN = "../shared/datasets/photos/train"
SHARED_VAL = "../shared/datasets/photos/val"


@nox.session
def train(session: nox.Session) -> None:
    """Run the phases of a training config: `nox -s train -- [CONFIG.toml] [--resume] [--set k=v]`.

    Default config: packages/train/configs/l1.toml (L1 luma, L1 chroma, export). Others:
    gan.toml (WGAN-GP phase from the map-phase weights), smoke.toml (30-second CPU check).
    Data: `[data] train` of the config (default data_cache/train, a copy of
    ../shared/datasets/photos/train), `[data] extra` (data_cache/train_extra, built by
    prepare_extra when missing) and `[data] val` (data_cache/val_probe, the val photos
    halved, for the logged learning curves). See packages/train/README.md.
    """
    install_torch(session)
    session.install("-e", CORE, "-e", TRAIN)
    args = list(session.posargs)
    if not args or args[0].startswith("-"):
        args = [f"{TRAIN}/configs/l1.toml", *args]
    data = Path("data_cache/train")
    if not data.is_dir() and Path(SHARED_TRAIN).is_dir():
        session.log(f"copying {SHARED_TRAIN} to {data} (the configs' default data folder)")
        shutil.copytree(SHARED_TRAIN, data)
    if not Path("data_cache/val_probe").is_dir() and Path(SHARED_VAL).is_dir():
        session.run("python", "-m", "explorable_jpeg_train.prepare_probe", "--src", SHARED_VAL)
    if not Path("data_cache/train_extra").is_dir():
        session.log("building data_cache/train_extra (apt-get download; TRAIN_DATA.md)")
        try:
            session.run("python", "-m", "explorable_jpeg_train.prepare_extra")
        except nox.command.CommandFailed:
            session.error(
                "data_cache/train_extra could not be built (it needs apt-get download of Debian "
                "packages); train without it: nox -s train -- CONFIG --set 'data.extra=[]'"
            )
    session.run("python", "-m", "explorable_jpeg_train", *args)


REACH_PACKAGES = ("tesseract-ocr", "fonts-dejavu-core", "fonts-liberation2", "fonts-freefont-ttf")


def _reach(session: nox.Session, args: list[str]) -> None:
    """`nox -s eval -- --reach [--images DIR …]`: the reach benchmarks (benchmarks/reach*.py)
    on val and eval2: results/reach.json, reach_digits.json, reach_random.json and
    results/reach.md. Installs Tesseract and the fonts (Debian) when missing."""
    if shutil.which("tesseract") is None:
        if shutil.which("apt-get") and os.geteuid() == 0:
            session.run("apt-get", "update", "-q", external=True)
            session.run("apt-get", "install", "-y", "-q", *REACH_PACKAGES, external=True)
        else:
            session.error("tesseract not found: apt-get install -y " + " ".join(REACH_PACKAGES))
    images = args or ["--images", SHARED_VAL] + (
        ["--images", "data_cache/eval2"] if Path("data_cache/eval2").is_dir() else []
    )
    env = {"PYTHONPATH": str(Path("benchmarks").resolve())}
    session.run("python", "benchmarks/reach.py", *images, "--qf", "10,30", env=env)
    session.run("python", "benchmarks/reach_random.py", *images, env=env)
    session.run("python", "benchmarks/reach_digits.py", *images, "--qf", "5,10,20", env=env)
    session.run("python", "benchmarks/reach_report.py", env=env)


@nox.session
def eval(session: nox.Session) -> None:
    """Evaluate libjpeg, jpegqs, plain, l1x1 (bare), l1 (as shipped), l1x8 and gan on real JPEGs.

    `nox -s eval -- [--images DIR] [--qf 5,10,20,30,40,50] [--models plain,l1,gan] [--quick]
    [--paper] [--z-samples N] [--max-side PX]`. Defaults: ../shared/datasets/photos/val and
    data_cache/eval2 (made by `python -m explorable_jpeg_train.prepare_eval2`) when present,
    images down-scaled to 384 px (`--max-side 0`: full size), 8 random z for the gan; writes
    results/eval.json, eval.md and eval_<set>.png (`--paper`: also paper.*). jpegqs is the
    Debian package of that name (`apt-get install jpegqs`), skipped when absent.
    `nox -s eval -- --reach`: the exploration reach benchmarks instead (see ``_reach``).
    """
    install_torch(session)
    session.install("-e", CORE, "-e", f"{TRAIN}[eval]")
    args = list(session.posargs)
    if "--reach" in args:
        _reach(session, [a for a in args if a != "--reach"])
        return
    if "--images" not in args:
        args += ["--images", SHARED_VAL]
        if Path("data_cache/eval2").is_dir():
            args += ["--images", "data_cache/eval2"]
        else:
            session.warn("eval2 skipped: run python -m explorable_jpeg_train.prepare_eval2")
    if "--max-side" not in args and "--quick" not in args:
        args += ["--max-side", "384"]
    if "--out" not in args:
        args += ["--out", "results/eval.json"]
    session.run("python", "-m", "explorable_jpeg_train.evaluate", *args)
