"""A seeded mutation fuzzer for malformed JPEG files.

Small JPEGs are made with Pillow (gray and colour, 4:4:4 / 4:2:0 / 4:2:2, progressive,
restart markers, coarse and fine tables) and mutated in the ways a hostile or damaged file
differs from a good one: byte flips in the headers and in the entropy-coded data,
truncations, dropped and duplicated marker segments, broken segment lengths, absurd
dimensions, bad sampling factors and zero quantization-table entries.

Each case runs ``explorable-jpeg decode --model plain`` in-process and is **clean** when

* the decode exits 0 and ``explorable-jpeg check`` on its output exits 0, or
* it exits 2 with exactly one ``error: …`` line that names a reason (no temporary path,
  no "internal error", no jpeglib "… failed" text),

and took at most ``time_bound_s`` seconds and at most ``memory_bound_mb`` MB of peak RSS
above what the process held before the case (Linux: ``/proc/self/clear_refs``).

    python -m tests.fuzz.fuzzer --cases 320 --seed 22     # what ``nox -s fuzz`` runs
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import dataclasses
import functools
import io
import logging
import re
import resource
import signal
import struct
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
from PIL import Image

logger = logging.getLogger(__name__)

DEFAULT_SEED = 22
TIME_BOUND_S = 20.0
MEMORY_BOUND_MB = 512.0
UNSPECIFIC = re.compile(r"internal error|reading info of|reading of .* failed|gave no reason")


# ---------------------------------------------------------------------------- base files
def _image(height: int, width: int, seed: int, color: bool) -> np.ndarray:
    """A small deterministic image with shading, an edge and noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    base = 110 + 60 * np.sin(xx / 5.0) * np.cos(yy / 7.0) + 40 * (xx > width / 2)
    base = base + rng.normal(0, 8, base.shape)
    if color:
        base = np.stack([base, base * 0.8 + 30, 255 - base], axis=-1)
    return np.clip(base, 0, 255).astype(np.uint8)


@functools.cache
def base_files() -> tuple[tuple[str, bytes], ...]:
    """The (name, bytes) of the unmutated JPEGs, made with Pillow (deterministic)."""
    specs: list[tuple[str, bool, dict]] = [
        ("gray_q50", False, {"quality": 50}),
        ("c420_q30", True, {"quality": 30, "subsampling": 2}),
        ("c444_q90_progressive", True, {"quality": 90, "subsampling": 0, "progressive": True}),
        ("c422_q60_restart", True, {"quality": 60, "subsampling": 1, "restart_marker_blocks": 2}),
        ("gray_q95_progressive", False, {"quality": 95, "progressive": True}),
    ]
    out = []
    for k, (name, color, kw) in enumerate(specs):
        buf = io.BytesIO()
        Image.fromarray(_image(24 + 8 * (k % 2), 40 - 4 * k, k, color)).save(
            buf, format="JPEG", **kw
        )
        out.append((name, buf.getvalue()))
    return tuple(out)


# ----------------------------------------------------------------------------- structure
@dataclasses.dataclass
class Segment:
    """A marker segment: ``start`` at its 0xFF, ``end`` after its payload (for SOS: after
    the scan header, the entropy-coded data follows up to ``data_end``)."""

    marker: int
    start: int
    end: int
    data_end: int


def segments(data: bytes) -> list[Segment]:
    """The marker segments of a well-formed file (the unmutated base files)."""
    out, pos = [], 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            break
        marker = data[pos + 1]
        if marker == 0xD9:
            break
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        end = pos + 2 + length
        data_end = end
        if marker == 0xDA:
            while data_end + 1 < len(data):
                if data[data_end] == 0xFF and data[data_end + 1] not in (0, *range(0xD0, 0xD8)):
                    break
                data_end += 1
        out.append(Segment(marker, pos, end, data_end))
        pos = data_end
    return out


def _of(data: bytes, markers: tuple[int, ...]) -> list[Segment]:
    return [s for s in segments(data) if s.marker in markers]


# ----------------------------------------------------------------------------- mutations
Mutation = Callable[[bytes, np.random.Generator], bytes]


def header_flip(data: bytes, rng: np.random.Generator) -> bytes:
    """Replace 1–3 random bytes before the first scan's entropy-coded data."""
    first_sos = _of(data, (0xDA,))[0]
    d = bytearray(data)
    for k in rng.integers(2, first_sos.end, int(rng.integers(1, 4))):
        d[k] = int(rng.integers(0, 256))
    return bytes(d)


def entropy_flip(data: bytes, rng: np.random.Generator) -> bytes:
    """Replace 1–4 random bytes of entropy-coded data (any value, 0xFF included)."""
    scans = [s for s in _of(data, (0xDA,)) if s.data_end > s.end]
    scan = scans[int(rng.integers(len(scans)))]
    d = bytearray(data)
    for k in rng.integers(scan.end, scan.data_end, int(rng.integers(1, 5))):
        d[k] = int(rng.integers(0, 256))
    return bytes(d)


def truncate(data: bytes, rng: np.random.Generator) -> bytes:
    """Cut the file anywhere; half of the time an EOI marker is appended to the stump."""
    cut = data[: int(rng.integers(2, len(data) - 1))]
    return cut + b"\xff\xd9" if rng.random() < 0.5 else cut


def drop_marker(data: bytes, rng: np.random.Generator) -> bytes:
    """Remove one marker segment (an SOS with its entropy-coded data)."""
    segs = segments(data)
    s = segs[int(rng.integers(len(segs)))]
    return data[: s.start] + data[s.data_end :]


def duplicate_marker(data: bytes, rng: np.random.Generator) -> bytes:
    """Repeat one marker segment (an SOS with its entropy-coded data) right after itself."""
    segs = segments(data)
    s = segs[int(rng.integers(len(segs)))]
    return data[: s.data_end] + data[s.start : s.data_end] + data[s.data_end :]


def bad_length(data: bytes, rng: np.random.Generator) -> bytes:
    """Give one marker segment a wrong length field (0, 1, 2, off by a little, 65535)."""
    segs = segments(data)
    s = segs[int(rng.integers(len(segs)))]
    (length,) = struct.unpack(">H", data[s.start + 2 : s.start + 4])
    choice = [0, 1, 2, 65535, max(0, length + int(rng.integers(-5, 6)))]
    new = choice[int(rng.integers(len(choice)))]
    return data[: s.start + 2] + struct.pack(">H", new) + data[s.start + 4 :]


ABSURD_SIZES = ((10000, 9999), (65535, 65535), (65500, 1), (0, 16), (16, 0), (1, 1), (30000, 30000))


def absurd_dimensions(data: bytes, rng: np.random.Generator) -> bytes:
    """Forge the frame size: known-hostile pairs or random 16-bit values."""
    sof = _of(data, (0xC0, 0xC1, 0xC2))[0]
    if rng.random() < 0.6:
        w, h = ABSURD_SIZES[int(rng.integers(len(ABSURD_SIZES)))]
    else:
        w, h = (int(v) for v in rng.integers(0, 65536, 2))
    return data[: sof.start + 5] + struct.pack(">HH", h, w) + data[sof.start + 9 :]


def bad_sampling(data: bytes, rng: np.random.Generator) -> bytes:
    """Set one component's sampling-factor byte to a random value (0x00–0xFF)."""
    sof = _of(data, (0xC0, 0xC1, 0xC2))[0]
    ncomp = data[sof.start + 9]
    d = bytearray(data)
    d[sof.start + 10 + 3 * int(rng.integers(ncomp)) + 1] = int(rng.integers(0, 256))
    return bytes(d)


def zero_table(data: bytes, rng: np.random.Generator) -> bytes:
    """Set 1–3 entries of the quantization tables to 0."""
    dqts = _of(data, (0xDB,))
    d = bytearray(data)
    for _ in range(int(rng.integers(1, 4))):
        s = dqts[int(rng.integers(len(dqts)))]
        k = int(rng.integers(s.start + 4, s.end))
        if (k - s.start - 4) % 65 == 0:  # the Pq/Tq byte, not an entry
            k += 1
        d[k] = 0
    return bytes(d)


MUTATIONS: dict[str, Mutation] = {
    "header_flip": header_flip,
    "entropy_flip": entropy_flip,
    "truncate": truncate,
    "drop_marker": drop_marker,
    "duplicate_marker": duplicate_marker,
    "bad_length": bad_length,
    "absurd_dimensions": absurd_dimensions,
    "bad_sampling": bad_sampling,
    "zero_table": zero_table,
}


@dataclasses.dataclass(frozen=True)
class Case:
    """One mutated file: ``index`` and the seed determine it."""

    index: int
    kind: str
    base: str
    data: bytes

    @property
    def name(self) -> str:
        return f"{self.index:03d}-{self.kind}-{self.base}"


def generate_cases(n: int, seed: int = DEFAULT_SEED, start: int = 0) -> list[Case]:
    """Cases ``start .. start + n - 1``: kinds in turn, base files and positions seeded."""
    kinds, bases = list(MUTATIONS), base_files()
    out = []
    for i in range(start, start + n):
        rng = np.random.default_rng((seed, i))
        kind = kinds[i % len(kinds)]
        base, data = bases[(i // len(kinds)) % len(bases)]
        out.append(Case(i, kind, base, MUTATIONS[kind](data, rng)))
    return out


# ------------------------------------------------------------------------------- running
@dataclasses.dataclass
class Outcome:
    """What one case gave: status ``clean-decoded``, ``clean-refused`` or ``bad``."""

    case: str
    status: str
    detail: str
    seconds: float
    peak_mb: float | None

    @property
    def clean(self) -> bool:
        return self.status != "bad"


def _rss_mb() -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _reset_peak() -> bool:
    """Reset the peak RSS (VmHWM) to the current RSS; False where Linux does not allow it."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _peak_mb() -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


class _Timeout(Exception):
    pass


@contextlib.contextmanager
def _deadline(seconds: float) -> Iterator[None]:
    """Raise :class:`_Timeout` in the main thread after ``seconds`` (no-op elsewhere)."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def _fire(signum, frame):
        raise _Timeout()

    old = signal.signal(signal.SIGALRM, _fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _cli(argv: list[str]) -> tuple[int, str, str]:
    """Run the CLI in-process; returns ``(exit code, stderr, stdout)``."""
    from explorable_jpeg.cli import main

    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        rc = main(argv)
    return rc, err.getvalue(), out.getvalue()


def run_case(
    case: Case,
    workdir: Path,
    time_bound_s: float = TIME_BOUND_S,
    memory_bound_mb: float = MEMORY_BOUND_MB,
) -> Outcome:
    """Decode one mutated file with the CLI (``--model plain``) and judge the result."""
    src, out = workdir / f"{case.name}.jpg", workdir / f"{case.name}.png"
    src.write_bytes(case.data)
    before = _rss_mb()
    measured = _reset_peak()
    t0 = time.perf_counter()
    try:
        with _deadline(time_bound_s + 5):
            rc, err, _ = _cli(["decode", str(src), "-o", str(out), "--model", "plain"])
            status, detail = _judge(rc, err, src)
            if rc == 0:
                crc, cerr, cout = _cli(["check", str(src), str(out)])
                if crc != 0:
                    report = (cout.strip().splitlines() or [cerr.strip()])[0]
                    status, detail = "bad", f"decoded, but check exited {crc}: {report}"
    except _Timeout:
        status, detail = "bad", f"still running after {time_bound_s + 5:.0f} s"
    seconds = time.perf_counter() - t0
    peak = _peak_mb() if measured else None
    grown = None if peak is None or before is None else peak - before
    if status != "bad" and seconds > time_bound_s:
        status, detail = "bad", f"took {seconds:.1f} s (bound {time_bound_s:.0f} s): {detail}"
    if status != "bad" and grown is not None and grown > memory_bound_mb:
        status, detail = "bad", f"peak RSS grew {grown:.0f} MB (bound {memory_bound_mb:.0f})"
    return Outcome(case.name, status, detail, seconds, grown)


def _judge(rc: int, err: str, src: Path) -> tuple[str, str]:
    lines = [x for x in err.splitlines() if x.strip()]
    if rc == 0:
        return "clean-decoded", "decoded"
    if rc != 2:
        return "bad", f"exit {rc}: {err.strip()}"
    if len(lines) != 1 or not lines[0].startswith("error: "):
        return "bad", f"not one error line: {lines!r}"
    message = lines[0]
    rest = message.replace(str(src), "<input>")
    if "/tmp" in rest or UNSPECIFIC.search(rest):
        return "bad", f"unspecific or leaks a path: {message}"
    return "clean-refused", message


class _CurrentStderr(io.TextIOBase):
    """A stream that writes to whatever ``sys.stderr`` is now (so that logging follows
    the per-case redirection)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)


def warm_up(workdir: Path) -> None:
    """Import the CLI and decode one good file, so that the first case is not charged for
    loading the libraries."""
    name, data = base_files()[1]
    (workdir / "warm.jpg").write_bytes(data)
    _cli(["decode", str(workdir / "warm.jpg"), "-o", str(workdir / "warm.png"), "--model", "plain"])


def run(cases: list[Case], time_bound_s: float, memory_bound_mb: float) -> list[Outcome]:
    """Run every case in a temporary folder; returns the outcomes in order."""
    logging.basicConfig(level=logging.WARNING, stream=_CurrentStderr())
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="ej-fuzz-") as tmp:
        warm_up(Path(tmp))
        for case in cases:
            outcome = run_case(case, Path(tmp), time_bound_s, memory_bound_mb)
            logger.info("%s: %s (%.2f s) %s", case.name, outcome.status, outcome.seconds,
                        outcome.detail)  # fmt: skip
            outcomes.append(outcome)
    return outcomes


def summary(outcomes: list[Outcome]) -> str:
    """A table of outcomes per mutation kind, the slowest case and the largest growth."""
    table: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for o in outcomes:
        table[o.case.split("-")[1]][o.status] += 1
    cols = ("clean-decoded", "clean-refused", "bad")
    rows = [f"{'kind':<18}" + "".join(f"{c:>15}" for c in cols)]
    for kind in MUTATIONS:
        if kind in table:
            rows.append(f"{kind:<18}" + "".join(f"{table[kind][c]:>15}" for c in cols))
    total = collections.Counter(o.status for o in outcomes)
    rows.append(f"{'total':<18}" + "".join(f"{total[c]:>15}" for c in cols))
    slow = max(outcomes, key=lambda o: o.seconds)
    rows.append(f"slowest: {slow.case} {slow.seconds:.2f} s ({slow.status})")
    grown = [o for o in outcomes if o.peak_mb is not None]
    if grown:
        big = max(grown, key=lambda o: o.peak_mb)
        rows.append(f"largest peak-RSS growth: {big.case} {big.peak_mb:.0f} MB")
    rows.append(
        f"process peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
    )
    refusals = collections.Counter(
        re.sub(r"\d[\d,]*", "N", o.detail) for o in outcomes if o.status == "clean-refused"
    )
    rows.append(f"distinct refusal messages (numbers as N): {len(refusals)}")
    rows += [f"  {n:4d}  {msg}" for msg, n in refusals.most_common()]
    rows += [f"BAD {o.case}: {o.detail}" for o in outcomes if o.status == "bad"]
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    """Command line: run ``--cases`` cases from ``--seed``; exit 1 on any non-clean case."""
    p = argparse.ArgumentParser(prog="python -m tests.fuzz.fuzzer", description=__doc__)
    p.add_argument("--cases", type=int, default=320)
    p.add_argument("--seed", type=int, default=DEFAULT_SEED)
    p.add_argument("--time-bound", type=float, default=TIME_BOUND_S, help="seconds per file")
    p.add_argument("--memory-bound", type=float, default=MEMORY_BOUND_MB, help="MB per file")
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    outcomes = run(generate_cases(args.cases, args.seed), args.time_bound, args.memory_bound)
    print(summary(outcomes))
    bad = sum(not o.clean for o in outcomes)
    print(f"{len(outcomes)} cases, {bad} not clean, {time.perf_counter() - t0:.1f} s")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
