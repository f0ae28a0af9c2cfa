"""Pages of the browser playground for the round-2 browser tests: Chromium, a page at a window size, waits.

Every wait is on the page's state (a JavaScript condition), never on time.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

# Counts the server's messages by type (window.__received), before the page's handlers see them, so a
# test can wait for the server's answer to a click rather than for time.
COUNT_MESSAGES = """
(() => {
  const Native = window.WebSocket;
  window.__received = {};
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener("message", (e) => {
        try { const t = JSON.parse(e.data).type; window.__received[t] = (window.__received[t] || 0) + 1; } catch (err) { /* not ours */ }
      });
    }
  };
})();
"""


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright (skipped, outside CI, where either is missing)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            raise RuntimeError("Chromium is missing: `make test` installs it (apt-get install chromium)")
        pytest.skip("Chromium is not installed (make test installs it)")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM,
                                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            yield browser
        finally:
            browser.close()


def open_playground(browser: Any, url: str, width: int = 1280, height: int = 800, fragment: str = "") -> Any:
    """A new page of the playground at a window size, connected, drawn, its JavaScript errors collected."""
    context = browser.new_context(viewport={"width": width, "height": height}, accept_downloads=True)
    page = context.new_page()
    page.add_init_script(COUNT_MESSAGES)
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.goto(url + (f"#{fragment}" if fragment else ""))
    page.wait_for_selector("#graph svg", timeout=30000)
    wait(page, "document.getElementById('connection').textContent === 'connected'")
    if fragment:  # the server has answered the link's set-up (its status comes last)
        wait(page, "(window.__received.status || 0) >= 1")
    return page


def close(page: Any) -> None:
    """Close the page's context, after checking it raised no JavaScript error."""
    errors = list(page.errors)
    page.context.close()
    assert errors == [], errors


def wait(page: Any, expression: str, timeout: float = 30000) -> None:
    page.wait_for_function(expression, timeout=timeout)


def js(page: Any, expression: str) -> Any:
    return page.evaluate(expression)


def epoch(page: Any) -> int:
    return int(page.inner_text("#epoch"))


def fragment(page: Any) -> dict[str, str]:
    text = page.evaluate("location.hash").lstrip("#")
    return dict(part.split("=", 1) for part in text.split("&") if part)


def click_answered(page: Any, selector: str) -> None:
    """Click a control that the server answers with a status message (set, play, pause, step, reset),
    and wait for that answer: everything the server sends for it has come before it."""
    before = page.evaluate("window.__received.status || 0")
    page.click(selector)
    wait(page, f"(window.__received.status || 0) > {before}")


def step(page: Any, times: int = 1) -> None:
    """Press step `times` times, each after the last one's epoch has shown."""
    for _ in range(times):
        before = epoch(page)
        click_answered(page, "#step")  # its frame, graph and status have all come
        assert epoch(page) == before + 1


def record_frames(page: Any) -> None:
    """From now on, window.__frames lists each frame message's number of epochs (its rows), and
    window.__outOfTime whether the server cut that frame short because its time ran out."""
    page.evaluate("""() => {
      window.__frames = [];
      window.__outOfTime = [];
      window.playground.state.socket.addEventListener('message', (e) => {
        const m = JSON.parse(e.data);
        if (m.type === 'frame') { window.__frames.push(m.rows.length); window.__outOfTime.push(!!m.out_of_time); }
      });
    }""")


def box(page: Any, selector: str) -> dict[str, float]:
    """The element's bounding box in the window (CSS pixels), from getBoundingClientRect."""
    return page.evaluate(
        "(s) => { const r = document.querySelector(s).getBoundingClientRect();"
        " return {left: r.left, top: r.top, right: r.right, bottom: r.bottom, width: r.width, height: r.height}; }",
        selector,
    )


def overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return a["left"] < b["right"] and b["left"] < a["right"] and a["top"] < b["bottom"] and b["top"] < a["bottom"]
