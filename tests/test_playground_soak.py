"""The playground's server under a class's worth of pages: many playing at once, bad messages among them,
pages closed mid-step. It keeps answering; when they are gone their sessions are gone, its threads are
back, and its memory is bounded by the class, not by the time it has served.

Rounds of pages come and go: the suite's run is two rounds of 2 s. `make fuzz` runs it long, with
PLAYGROUND_SOAK_SECONDS=60 (the pages' playing time in all, in rounds of up to 10 s) and
PLAYGROUND_SOAK_PAGES (pages at once, default 20). `python -m benchmarks.playground_soak` runs the
same rounds for an hour and tabulates the memory (docs/playground.md).

Why a bound per page rather than "flat from the second round": the server's Python objects are the same
after every round (tracemalloc in a worker: 22.8–22.9 MB after each of twenty rounds of 20 pages), but
glibc's malloc keeps much of what a round's pages used at their peak (~1 MB each while they play) as
free memory in its heap, and at 40 pages that warm-up took 24 rounds (4 minutes) in an hour's run. So
every run checks the memory stays under a bound per page (`benchmarks.playground_soak.unbounded`), and a
run of more than 32 rounds (PLAYGROUND_SOAK_SECONDS=600, say) also that no round after those sets a new
high. Whether a page's objects are freed is counted exactly, in a server in this process.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import socket
import threading
import time
from collections.abc import Iterator

import pytest

pytest.importorskip("uvicorn")
from websockets.sync.client import connect

from benchmarks.playground_soak import extra_threads, play_round, settle, status, unbounded

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


SECONDS = _setting("PLAYGROUND_SOAK_SECONDS", 4.0, 2.0)
PAGES = int(_setting("PLAYGROUND_SOAK_PAGES", 20, 1))
ROUNDS = max(2, round(SECONDS / 10))  # at least two: what the first leaves the others must not grow
ROUND_SECONDS = SECONDS / ROUNDS


def test_twenty_pages_at_once_then_none():
    with running_server() as server:
        url, pid = server.socket_url, server.process.pid
        with connect(url) as ws:  # warm up: the first page loads numpy's and our code paths
            ws.recv(timeout=30)
        time.sleep(0.5)
        before, rounds = status(pid), []
        limit = before["threads"] + extra_threads(pid)  # the pools
        for r in range(ROUNDS):
            errors, ended = play_round(url, PAGES, ROUND_SECONDS)
            assert errors == [] and ended, f"round {r + 1} of {ROUNDS}"
            after = settle(pid, limit)
            rounds.append(after)
            assert after["threads"] <= limit, f"round {r + 1}: threads {before} → {after}"
        growth = [r["rss"] - before["rss"] for r in rounds]  # kB since the first page, after each round
        # bounded by the class, and (a run longer than malloc's warm-up) no new high after it
        assert unbounded(growth, PAGES) is None, f"{unbounded(growth, PAGES)}; kB since the start after each round: {growth}"
        with connect(url) as ws:  # and it still serves
            assert json.loads(ws.recv(timeout=30))["type"] == "hello"


@contextlib.contextmanager
def serving_here() -> Iterator[tuple[str, object]]:
    """The playground's application served by uvicorn in a thread of this process (so its objects can be
    counted here): the socket's address and the application."""
    import uvicorn

    from nn.playground.serve.app import MAX_MESSAGE, create_app

    app = create_app()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", ws_max_size=4 * MAX_MESSAGE, lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        assert server.started, "uvicorn did not start"
        yield f"ws://127.0.0.1:{sock.getsockname()[1]}/ws", app
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


def test_pages_that_leave_leave_no_session_behind(monkeypatch):
    """Counted, not estimated: once the pages have gone, no `Session` or `Page` of theirs is alive."""
    from nn.playground.serve.app import Page
    from nn.playground.serve.session import Session

    def alive() -> tuple[int, int]:
        gc.collect()
        objects = gc.get_objects()
        return sum(isinstance(o, Session) for o in objects), sum(isinstance(o, Page) for o in objects)

    assert alive() == (0, 0)
    trims: list[int] = []  # pages open in the worker at each trim of the heap
    import nn.playground.serve.app as served

    real = served.trim_heap
    monkeypatch.setattr(served, "trim_heap", lambda: (trims.append(app.state.open), real()))
    with serving_here() as (url, app):
        errors, ended = play_round(url, 4, 1.0)
        assert errors == [] and ended
        deadline = time.monotonic() + 30  # the pages' loops end as the server notices their sockets closed
        while (counts := (*alive(), app.state.pages.local)) != (0, 0, 0) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert counts == (0, 0, 0), f"(sessions, pages, pages counted) after their pages left: {counts}"
        assert not app.state.scheduler.playing
        assert trims and trims[-1] == 0  # the last page gone, malloc's free memory was handed back
