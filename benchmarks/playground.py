"""`python -m benchmarks.playground`: frames a second the browser playground's server sends while playing.

Starts `autodiff-playground --serve` as its own process, connects one page's WebSocket (in plain
Python, no browser), presses play for a few seconds at each speed and reports frames a second,
epochs a second and bytes a frame, for the default 2-8-8-2 network and a large one. The issue's bar
is 10+ frames a second for the default network; the server holds at most `MAX_FPS`.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time

from websockets.sync.client import connect

from nn.playground.serve.app import MAX_FPS

SET_UPS = {"default 2-8-8-2": {}, "large 2-32×6-2": {"hidden": "32,32,32,32,32,32"}}


def measure(url: str, settings: dict[str, str], speed: int, seconds: float) -> dict[str, float]:
    with connect(url, max_size=2**24) as ws:
        ws.send(json.dumps({"type": "set", "settings": {**settings, "speed": str(speed)}}))
        while json.loads(ws.recv())["type"] != "status":  # the set-up is applied
            pass
        ws.send(json.dumps({"type": "play"}))
        frames, size, epochs, start = 0, 0, [], None
        while start is None or time.monotonic() - start < seconds:
            text = ws.recv(timeout=30)
            m = json.loads(text)
            if m["type"] != "frame":
                continue
            if start is None:  # count from the first frame on
                start, first = time.monotonic(), m["epoch"]
                continue
            frames += 1
            size += len(text)
            epochs.append(m["epoch"])
        elapsed = time.monotonic() - start
        ws.send(json.dumps({"type": "pause"}))
    return {"fps": frames / elapsed, "epochs/s": (epochs[-1] - first) / elapsed, "KB/frame": size / frames / 1024}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.playground", description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=4.0, help="seconds of play per row (default: %(default)s)")
    args = ap.parse_args(argv)
    server = subprocess.Popen([sys.executable, "-m", "nn.playground", "--serve", "--port", "0", "--no-open"],
                              stdout=subprocess.PIPE, text=True)
    try:
        url = re.fullmatch(r"serving on http://(.+)/\n", server.stdout.readline()).group(1)
        print(f"browser playground server, one page, frames capped at {MAX_FPS}/s")
        print(f"{'network':<18} {'epochs/frame':>12} {'frames/s':>9} {'epochs/s':>9} {'KB/frame':>9}")
        for name, settings in SET_UPS.items():
            for speed in (1, 3, 10):
                r = measure(f"ws://{url}/ws", settings, speed, args.seconds)
                print(f"{name:<18} {speed:>12} {r['fps']:>9.1f} {r['epochs/s']:>9.1f} {r['KB/frame']:>9.1f}")
    finally:
        server.terminate()
        server.wait(timeout=15)
    return 0


if __name__ == "__main__":
    sys.exit(main())
