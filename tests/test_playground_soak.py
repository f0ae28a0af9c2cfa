"""The playground's server under a class's worth of pages: many playing at once, bad messages among them,
pages closed mid-step. It keeps answering, and when they are gone its memory and threads are back."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("uvicorn")
from websockets.sync.client import connect

from .playground_server import running_server

PAGES = 20


def status(pid: int) -> dict[str, int]:
    """VmRSS (kB) and Threads of a process, from /proc."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    return {"rss": int(fields["VmRSS"].split()[0]), "threads": int(fields["Threads"])}


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
        for _ in range(2):  # twice: what the first round leaves the second must not grow
            errors: list[str] = []
            threads = [threading.Thread(target=page, args=(url, n, errors, 3.0)) for n in range(PAGES)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=90)
            assert errors == [] and not any(t.is_alive() for t in threads)
            time.sleep(1.0)  # the pages' loops end as their sockets close
            rounds.append(after := status(pid))
            assert after["threads"] <= before["threads"] + 8  # the worker pool, no thread per page left behind
        # kB: the first round warms allocators and caches (~20 MB here); the second adds next to nothing
        assert rounds[0]["rss"] - before["rss"] < 60_000 and rounds[1]["rss"] - rounds[0]["rss"] < 8_000
        with connect(url) as ws:  # and it still serves
            assert json.loads(ws.recv(timeout=30))["type"] == "hello"
