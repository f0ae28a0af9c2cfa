"""The playground's server under a class's worth of pages: many playing at once, bad messages among them,
pages closed mid-step. It keeps answering, and when they are gone its memory and threads are back.

Rounds of pages come and go: the suite's run is two rounds of 3 s. `make fuzz` runs it long, with
PLAYGROUND_SOAK_SECONDS=60 (the pages' playing time in all, in rounds of up to 10 s) and
PLAYGROUND_SOAK_PAGES (pages at once, default 20).
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("uvicorn")
from websockets.sync.client import connect

from .playground_server import running_server


def _setting(name: str, default: float, least: float) -> float:
    raw = os.environ.get(name, "")
    try:
        value = float(raw) if raw else default
    except ValueError:
        raise pytest.UsageError(f"{name} must be a number, got {raw!r}") from None
    if not value >= least:  # NaN too
        raise pytest.UsageError(f"{name} must be at least {least:g}, got {raw!r}")
    return value


SECONDS = _setting("PLAYGROUND_SOAK_SECONDS", 6.0, 2.0)
PAGES = int(_setting("PLAYGROUND_SOAK_PAGES", 20, 1))
ROUNDS = max(2, round(SECONDS / 10))  # at least two: what the first leaves the others must not grow
ROUND_SECONDS = SECONDS / ROUNDS


def workers(pid: int) -> int:
    """The server's worker processes (1 when it serves alone)."""
    return max(1, len([c for c in children(pid) if b"nn.playground" in _read(f"/proc/{c}/cmdline")]))


def _read(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except (FileNotFoundError, ProcessLookupError):  # it has just ended
        return b""


def children(pid: int) -> list[int]:
    """The processes `pid` started, from /proc (a thread or child that ends meanwhile is skipped)."""
    return [int(c) for task in Path(f"/proc/{pid}/task").iterdir() for c in _read(f"{task}/children").split()]


def status(pid: int) -> dict[str, int]:
    """VmRSS (kB) and Threads of a process and its worker processes, from /proc."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    out = {"rss": int(fields.get("VmRSS", "0 kB").split()[0]), "threads": int(fields["Threads"])}  # a zombie has none
    for child in children(pid):
        try:
            for key, value in status(child).items():
                out[key] += value
        except FileNotFoundError:  # it has just ended (Graphviz's dot, say)
            pass
    return out


def page(url: str, n: int, errors: list[str], seconds: float) -> None:
    """One page: play, say odd things now and then, and leave (some in the middle of a step)."""
    try:
        with connect(url, max_size=2**24) as ws:
            ws.send(json.dumps({"type": "set", "settings": {"hidden": str(4 + n % 5), "speed": "10"}}))
            ws.send(json.dumps({"type": "play"}))
            end, frames = time.monotonic() + seconds, 0
            while time.monotonic() < end:
                m = json.loads(ws.recv(timeout=30))
                frames += m["type"] == "frame"
                if frames % 7 == 3:
                    ws.send(["not json", '{"type": "nope"}', json.dumps({"type": "set", "settings": {"lr": "-1"}}),
                             "x" * 300_000][frames % 4])
            if n % 3 == 0:
                ws.send(json.dumps({"type": "step"}))  # and close without waiting for it
            if frames == 0:
                errors.append(f"page {n} got no frame")
    except Exception as e:
        errors.append(f"page {n}: {type(e).__name__}: {e}")


def test_twenty_pages_at_once_then_none():
    with running_server() as server:
        url, pid = server.socket_url, server.process.pid
        with connect(url) as ws:  # warm up: the first page loads numpy's and our code paths
            ws.recv(timeout=30)
        time.sleep(0.5)
        before, rounds = status(pid), []
        for r in range(ROUNDS):
            errors: list[str] = []
            threads = [threading.Thread(target=page, args=(url, n, errors, ROUND_SECONDS)) for n in range(PAGES)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=90 + ROUND_SECONDS)
            assert errors == [] and not any(t.is_alive() for t in threads), f"round {r + 1} of {ROUNDS}"
            deadline = time.monotonic() + 30  # the pages' loops end as the server notices their sockets closed
            while (after := status(pid))["threads"] > before["threads"] + 8 * workers(pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            rounds.append(after)
            assert after["threads"] <= before["threads"] + 8 * workers(pid), f"round {r + 1}: threads {before} → {after}"  # pools
        # kB: the first round warms allocators and caches (~15 MB here; a long run's second one ~5 MB more),
        # the second half of the rounds adds next to nothing
        growth = [b["rss"] - a["rss"] for a, b in zip([before, *rounds], rounds)]
        warm = rounds[ROUNDS // 2 - 1]
        assert growth[0] < 60_000 and rounds[-1]["rss"] - warm["rss"] < 8_000, f"RSS growth per round (kB): {growth}"
        with connect(url) as ws:  # and it still serves
            assert json.loads(ws.recv(timeout=30))["type"] == "hello"
