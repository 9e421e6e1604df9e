"""``nox -s soak``: the app served on loopback, N ``gradio_client`` clients for a bounded
time, each uploading its own image, editing, undoing, redoing and downloading.

Asserts, for every client and every step:

* no lost edit — an Apply whose status says it changed the image returns an image that
  differs from the one before, one that says "no visible change" returns the same image;
  Undo returns exactly the image shown before the Apply, Redo exactly the one after;
* no cross-session leak — every image a client gets has its own file's size and its
  plain decode is its own file's;
* downloads — the PNG equals the image shown and passes ``explorable_jpeg.check``;
* bounded memory — the server's RSS in the second half of the run stays below
  ``--rss-growth`` × its peak in the first half (and below ``--rss-max-mb``).

Prints the RSS series and per-action latencies; exit status 1 on any failure.

    python tests/app/soak.py --clients 3 --minutes 10
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from tests.app.served import OURS, PLAIN, STATUS, free_port, read, stroke_editor, tool_inputs  # noqa: E402
from tests.conftest import natural_image  # noqa: E402

logger = logging.getLogger("soak")
TOOLS = ("variance-up", "scribble", "hsv", "variance-down", "random")


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


class Soak:
    def __init__(self, url: str, deadline: float, budget: float, folder: Path) -> None:
        self.url, self.deadline, self.budget, self.folder = url, deadline, budget, folder
        self.failures: list[str] = []
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.counts: dict[str, int] = defaultdict(int)
        self.lock = threading.Lock()

    def fail(self, who: str, what: str) -> None:
        logger.error("client %s: %s", who, what)
        with self.lock:
            self.failures.append(f"client {who}: {what}")

    def timed(self, client, action: str, *args, **kwargs):
        t0 = time.perf_counter()
        out = client.predict(*args, **kwargs)
        with self.lock:
            self.latency[action].append(time.perf_counter() - t0)
            self.counts[action] += 1
        return out

    def run_client(self, k: int) -> None:
        """One client's loop; a client that crashes is a failure, not a silent stop."""
        try:
            self._client_loop(k)
        except Exception as exc:
            self.fail(str(k), f"client crashed: {exc!r}")

    def _client_loop(self, k: int) -> None:
        from gradio_client import Client, handle_file

        import explorable_jpeg as ej

        who = str(k)
        folder = self.folder / f"client{k}"
        folder.mkdir()
        # a distinct file per client: its own size, so that a leak shows at once
        height, width = 160 + 16 * k, 224 + 24 * k
        jpeg, code = ej.compress(natural_image(height, width, seed=100 + k), quality=15)
        src = folder / f"client{k}.jpg"
        src.write_bytes(jpeg)
        plain = ej.decode_plain(code)
        plain = plain if plain.ndim == 3 else np.repeat(plain[..., None], 3, -1)
        client = Client(self.url, verbose=False)
        step = 0
        while time.time() < self.deadline:
            out = self.timed(client, "load", handle_file(str(src)), 15, "4:2:0", api_name="/load")
            if not self.own(who, out, code, plain):
                return
            shown = read(out[OURS])
            for _ in range(4):
                if time.time() >= self.deadline:
                    break
                tool = TOOLS[step % len(TOOLS)]
                y0 = 16 + (step * 13) % (height - 64)
                x0 = 16 + (step * 29) % (width - 96)
                editor = stroke_editor(str(src), folder, (y0, y0 + 40, x0, x0 + 64), str(step))
                kw = tool_inputs(tool, editor, budget=self.budget, hue=0.15, n=2)
                out = self.timed(client, "apply", **kw, api_name="/apply_tool")
                step += 1
                if not self.own(who, out, code, plain):
                    return
                image = read(out[OURS])
                if "changed the image" in out[STATUS]:
                    if np.array_equal(image, shown):
                        self.fail(who, f"{tool}: lost edit (status says changed, image same)")
                        continue
                elif "no visible change" in out[STATUS]:
                    if not np.array_equal(image, shown):
                        self.fail(who, f"{tool}: 'no visible change' but the image changed")
                    with self.lock:
                        self.counts["no-op apply"] += 1
                    continue
                else:
                    self.fail(who, f"{tool}: unexpected status {out[STATUS]!r}")
                    continue
                undone = read(self.timed(client, "undo", api_name="/undo")[OURS])
                if not np.array_equal(undone, shown):
                    self.fail(who, f"{tool}: undo did not restore the image shown before")
                redone = read(self.timed(client, "redo", api_name="/redo")[OURS])
                if not np.array_equal(redone, image):
                    self.fail(who, f"{tool}: redo did not restore the edited image")
                shown = image
            # /refresh: (zoom, downloads[, …]) — the downloads are its second output
            downloads = self.timed(client, "download", 4, api_name="/refresh")[1]
            png = next((p for p in downloads or [] if str(p).endswith(".png")), None)
            if png is None:
                self.fail(who, "no PNG among the downloads")
            else:
                got = read(png)
                if not np.array_equal(got, shown):
                    self.fail(who, "the downloaded PNG is not the image shown")
                elif not ej.check(code, got).consistent:
                    self.fail(who, "the downloaded PNG fails check")

    def own(self, who: str, out, code, plain) -> bool:
        """False (and a failure) when an output belongs to another session."""
        if str(out[STATUS]).startswith("⚠"):
            self.fail(who, f"error: {out[STATUS]!r}")
            return False
        got_plain = read(out[PLAIN])
        if got_plain.shape[:2] != (code.height, code.width) or not np.array_equal(got_plain, plain):
            self.fail(who, "cross-session leak: the plain decode is not this client's file")
            return False
        if read(out[OURS]).shape[:2] != (code.height, code.width):
            self.fail(who, "cross-session leak: the image has another file's size")
            return False
        return True


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=3)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--budget", type=float, default=2.0, help="time budget per Apply (s)")
    parser.add_argument("--concurrency", type=int, default=1, help="heavy jobs at once")
    parser.add_argument("--rss-growth", type=float, default=1.5)
    parser.add_argument("--rss-max-mb", type=float, default=4000.0)
    parser.add_argument("--sample-s", type=float, default=10.0, help="RSS sampling period")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)

    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"}
    # no MALLOC_ARENA_MAX here: the server limits glibc's arenas itself at start, as the
    # Space does (explorable_jpeg_app.malloc.limit_arenas); one set by the caller wins
    server = subprocess.Popen(
        [sys.executable, "-m", "explorable_jpeg_app", "--port", str(port),
         "--concurrency", str(args.concurrency)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    log_tail: list[str] = []
    threading.Thread(
        target=lambda: [log_tail.append(x) for x in server.stderr], daemon=True
    ).start()
    try:
        import httpx

        t0 = time.time()
        while True:
            if server.poll() is not None:
                print("".join(log_tail[-30:]))
                print(f"the server exited with {server.returncode}")
                return 1
            try:
                if httpx.get(url, timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.time() - t0 > 300:
                print("the server did not answer within 300 s")
                return 1
            time.sleep(1)
        logger.info("server up in %.0f s, RSS %.0f MB", time.time() - t0, rss_mb(server.pid))
        arenas = [x.strip() for x in log_tail if "malloc arenas" in x or "MALLOC_ARENA" in x]
        logger.info("server: %s", arenas[0] if arenas else "no malloc arena limit logged")
        start = time.time()
        deadline = start + 60 * args.minutes
        with tempfile.TemporaryDirectory() as tmp:
            soak = Soak(url, deadline, args.budget, Path(tmp))
            threads = [
                threading.Thread(target=soak.run_client, args=(k,), daemon=True)
                for k in range(args.clients)
            ]
            for t in threads:
                t.start()
            series: list[tuple[float, float]] = []
            while any(t.is_alive() for t in threads):
                series.append((time.time() - start, rss_mb(server.pid)))
                time.sleep(args.sample_s)
            series.append((time.time() - start, rss_mb(server.pid)))
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()

    print(f"\nsoak: {args.clients} clients, {args.minutes:g} min, budget {args.budget:g} s")
    print("RSS (s: MB): " + ", ".join(f"{t:.0f}: {m:.0f}" for t, m in series))
    print("actions: " + ", ".join(f"{k} {v}" for k, v in sorted(soak.counts.items())))
    for action, values in sorted(soak.latency.items()):
        values = sorted(values)
        p95 = values[min(len(values) - 1, int(0.95 * len(values)))]
        print(f"latency {action}: n={len(values)} median {statistics.median(values):.2f} s, "
              f"p95 {p95:.2f} s, max {values[-1]:.2f} s")  # fmt: skip
    half = len(series) // 2
    first = max(m for _, m in series[: max(half, 1)])
    second = max(m for _, m in series[half:])
    if second > args.rss_growth * first:
        soak.failures.append(f"RSS grew: {first:.0f} MB → {second:.0f} MB")
    if max(m for _, m in series) > args.rss_max_mb:
        soak.failures.append(f"RSS above {args.rss_max_mb:.0f} MB")
    if soak.counts["apply"] == 0:
        soak.failures.append("no Apply completed")
    lost = sum("lost edit" in f for f in soak.failures)
    print(f"lost edits: {lost} of {soak.counts['apply']} applies; failures: {len(soak.failures)}")
    for f in soak.failures[:20]:
        print("  " + f)
    return 1 if soak.failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
