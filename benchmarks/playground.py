"""`python -m benchmarks.playground`: the browser playground's server, against the TF playground and under a class.

Starts `autodiff-playground --serve` as its own process tree and drives its pages over WebSockets
from plain Python (no browser; the page's own drawing, 64×64 bytes and a square per unit, is not
counted). Two tables:

- **anchor**: one page, the TensorFlow playground's set-ups (circle, 50 % training data, batch 10,
  tanh, plain SGD at 0.03; the default 4-2 network and six layers of 8), one epoch a frame as it
  runs them and then 25: frames a second, epochs a second, epochs per CPU-second of the server (all
  its processes), and pause latency (pause sent → "status: paused" received). The TF playground's
  own figures, measured in Chromium from its source, are in `TF_PLAYGROUND`.
- **class**: 1, 10, 20 and 40 pages playing the default spiral network at once on `--workers`
  processes: epochs a second per page (mean and the slowest page, which says how fair the
  scheduling is), frames a second per page, pause latency (median and worst) and the server's memory
  before and after.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import threading
import time
import warnings

from websockets.sync.client import connect

from benchmarks.procfs import children, cpu_seconds, status

# epochs per CPU-second of the TensorFlow playground (issue 27), built from source, driven in Chromium
TF_PLAYGROUND = {"4-2": (36, 45), "6×8": (6.6, 8.2)}
TF_SETUP = {"dataset": "circle", "train-ratio": "50", "batch-size": "10", "activation": "tanh", "optimizer": "sgd",
            "momentum": "0", "lr": "0.03", "noise": "0", "features": "x1,x2"}
ANCHOR = {"4-2": {**TF_SETUP, "hidden": "4,2"}, "6×8": {**TF_SETUP, "hidden": "8,8,8,8,8,8"}}
EPOCH = re.compile(r'"epoch":(\d+)')


def rss_mb(pid: int) -> float:
    """MB resident of a process and everything under it."""
    return status(pid)["rss"] / 1024


class Page:
    """One page's socket: set up, play, count frames and epochs, pause and time the answer."""

    def __init__(self, url: str, settings: dict[str, str]) -> None:
        self.ws = connect(url, max_size=2**24)
        self.ws.send(json.dumps({"type": "set", "settings": settings}))
        while '"type":"status"' not in self.ws.recv(timeout=60):  # the set-up is applied
            pass
        self.frames, self.first, self.last, self.started, self.stopped = 0, None, None, 0.0, 0.0
        self.stop = threading.Event()
        self.latency: float | None = None

    def play(self) -> None:
        """Play until `stop` is set, counting frames (cheaply: no JSON parse), then pause and time the answer."""
        self.ws.send(json.dumps({"type": "play"}))
        while not self.stop.is_set():
            text = self.ws.recv(timeout=60)
            if not text.startswith('{"type":"frame"'):
                continue
            epoch = int(EPOCH.search(text).group(1))
            if self.first is None:  # count from the first frame on
                self.first, self.started = epoch, time.monotonic()
            else:
                self.frames += 1
                self.last, self.stopped = epoch, time.monotonic()
        sent = time.monotonic()
        self.ws.send(json.dumps({"type": "pause"}))
        while True:
            text = self.ws.recv(timeout=60)
            if text.startswith('{"type":"status"') and '"playing":false' in text:
                self.latency = time.monotonic() - sent
                return

    def rates(self) -> tuple[float, float]:
        elapsed = max(self.stopped - self.started, 1e-9)
        return self.frames / elapsed, ((self.last or self.first or 0) - (self.first or 0)) / elapsed


def play_pages(url: str, settings: dict[str, str], n: int, seconds: float, pid: int) -> dict[str, float]:
    pages = [Page(url, settings) for _ in range(n)]
    threads = [threading.Thread(target=p.play) for p in pages]
    cpu0 = cpu_seconds(pid)
    for t in threads:
        t.start()
    time.sleep(seconds)
    for p in pages:
        p.stop.set()
    for t in threads:
        t.join(timeout=120)
    cpu = cpu_seconds(pid) - cpu0
    fps, eps = zip(*(p.rates() for p in pages))
    lat = sorted(p.latency for p in pages if p.latency is not None)
    epochs = sum((p.last or 0) - (p.first or 0) for p in pages)
    for p in pages:
        p.ws.close()
    return {"fps": statistics.mean(fps), "eps": statistics.mean(eps), "eps_min": min(eps),
            "per_cpu_s": epochs / max(cpu, 1e-9), "lat_median": statistics.median(lat) * 1000,
            "lat_max": lat[-1] * 1000}


def start(workers: int) -> tuple[subprocess.Popen, str, int]:
    """The server, its socket's address and its number of worker processes (its second line says)."""
    server = subprocess.Popen([sys.executable, "-m", "nn.playground", "--serve", "--port", "0", "--no-open",
                               "--workers", str(workers)], stdout=subprocess.PIPE, text=True)
    url = re.fullmatch(r"serving on http://(.+)/\n", server.stdout.readline()).group(1)
    workers = int(re.search(r"\((\d+) worker", server.stdout.readline()).group(1))
    deadline = time.monotonic() + 30
    while workers > 1 and len(children(server.pid)) < workers and time.monotonic() < deadline:
        time.sleep(0.05)
    return server, f"ws://{url}/ws", workers


def stop(server: subprocess.Popen) -> None:
    server.terminate()
    server.wait(timeout=30)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.playground", description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=6.0, help="seconds of play per row (default: %(default)s)")
    ap.add_argument("--workers", type=int, default=0, help="server processes for the class table (default: one per core)")
    ap.add_argument("--pages", default="1,10,20,40", help="pages at once, the class table's rows (default: %(default)s)")
    ap.add_argument("--skip-anchor", action="store_true")
    ap.add_argument("--skip-class", action="store_true")
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore", category=DeprecationWarning)  # websockets: connect() outside a with
    if not args.skip_anchor:
        server, url, _ = start(1)
        try:
            print("anchor: one page, the TF playground's set-ups (circle, batch 10, tanh, SGD 0.03), one worker")
            print(f"{'network':<6} {'epochs/frame':>12} {'frames/s':>9} {'epochs/s':>9} {'epochs/CPU-s':>13}"
                  f" {'TF playground':>14} {'ratio':>6} {'pause ms':>9}")
            for name, settings in ANCHOR.items():
                for speed in ("1", "25"):
                    r = play_pages(url, {**settings, "speed": speed}, 1, args.seconds, server.pid)
                    lo, hi = TF_PLAYGROUND[name]
                    print(f"{name:<6} {speed:>12} {r['fps']:>9.1f} {r['eps']:>9.1f} {r['per_cpu_s']:>13.0f}"
                          f" {f'{lo:g}–{hi:g}':>14} {r['per_cpu_s'] / hi:>5.1f}× {r['lat_max']:>9.0f}")
        finally:
            stop(server)
    if not args.skip_class:
        server, url, workers = start(args.workers)
        try:
            print(f"\nclass: pages playing the default 2-8-8-2 spiral at 3 epochs a frame, {workers} worker processes")
            print(f"{'pages':>5} {'epochs/s/page':>14} {'slowest page':>13} {'frames/s/page':>14}"
                  f" {'pause ms (median, worst)':>25} {'server MB':>10}")
            for n in (int(k) for k in args.pages.split(",")):
                before = rss_mb(server.pid)
                r = play_pages(url, {"speed": "3"}, n, args.seconds, server.pid)
                pause = f"{r['lat_median']:.0f}, {r['lat_max']:.0f}"
                memory = f"{before:.0f} → {rss_mb(server.pid):.0f}"
                print(f"{n:>5} {r['eps']:>14.1f} {r['eps_min']:>13.1f} {r['fps']:>14.1f} {pause:>25} {memory:>10}")
        finally:
            stop(server)
    return 0


if __name__ == "__main__":
    sys.exit(main())
