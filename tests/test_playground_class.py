"""A class on one server (issue 27, item 8): 40 pages playing at once on two worker processes, each page
staying in its worker, all of them getting frames in fair turns, every pause answered.

`python -m benchmarks.playground` measures the rates and the pause latency; this test checks the
behaviour, waiting on what the pages receive, never on time.
"""

from __future__ import annotations

import contextlib
import json
import threading

import pytest

pytest.importorskip("uvicorn")
from websockets.sync.client import connect

from .playground_server import running_server

pytestmark = pytest.mark.xdist_group("playground-class")
PAGES = 40


class Page:
    def __init__(self, url: str) -> None:
        self.stack = contextlib.ExitStack()
        self.ws = self.stack.enter_context(connect(url, max_size=2**24))
        hello = json.loads(self.ws.recv(timeout=60))
        assert hello["type"] == "hello"
        self.worker = hello["worker"]
        self.frames = 0
        self.paused = threading.Event()
        self.go_on = threading.Event()
        self.errors: list[str] = []

    def play(self, enough: threading.Event) -> None:
        try:
            self.ws.send(json.dumps({"type": "set", "settings": {"speed": "1"}}))
            self.ws.send(json.dumps({"type": "play"}))
            while not self.go_on.is_set():
                text = self.ws.recv(timeout=120)
                if text.startswith('{"type":"frame"'):
                    self.frames += 1
                    if self.frames == 5:
                        enough.set()
            self.ws.send(json.dumps({"type": "pause"}))
            while True:
                text = self.ws.recv(timeout=120)
                if text.startswith('{"type":"status"') and '"playing":false' in text:
                    self.paused.set()
                    return
        except Exception as e:
            self.errors.append(f"{type(e).__name__}: {e}")


def test_forty_pages_play_in_fair_turns_on_two_workers():
    with running_server("--workers", "2") as server:
        pages = [Page(server.socket_url) for _ in range(PAGES)]
        assert len({p.worker for p in pages}) == 2  # the pages are spread over both processes
        firsts = [threading.Event() for _ in pages]
        threads = [threading.Thread(target=p.play, args=(e,)) for p, e in zip(pages, firsts)]
        for t in threads:
            t.start()
        for e in firsts:  # every page gets its frames: none starves
            assert e.wait(timeout=180), [p.errors for p in pages if p.errors]
        counts = [p.frames for p in pages]
        for p in pages:
            p.go_on.set()
        for p in pages:
            assert p.paused.wait(timeout=60), p.errors  # and every pause is answered
        for t in threads:
            t.join(timeout=60)
        assert all(not p.errors for p in pages), [p.errors for p in pages]
        # turns are fair: when the slowest page has its 5th frame, the quickest has not had many times more
        assert max(counts) <= 6 * 5, counts
        for p in pages:
            p.stack.close()
        again = Page(server.socket_url)  # the server is still there for the next class
        again.stack.close()
