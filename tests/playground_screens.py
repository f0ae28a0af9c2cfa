"""The browser playground at the laptop sizes a class uses: what must be on screen, and the docs' screenshots.

`python -m tests.playground_screens docs/images` starts the server, opens the page in Chromium at
1024×768, 1280×720, 1366×768 and 1440×900, trains the spiral a little under question 5's preset, and
writes `playground-<w>x<h>.png` for each size (what `make docs-images` runs; `make test` never writes
into docs/). `tests/test_playground_layout.py` checks the same pages by their elements' boxes.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from .playground_pages import chromium, click_answered, open_playground, wait
from .playground_server import running_server

SIZES = ((1024, 768), (1280, 720), (1366, 768), (1440, 900))
# What a student needs on screen together, without scrolling: the training buttons and read-outs, the
# controls the presets change, the question's sentence, the network and the output heatmap.
MUST_SEE = (
    "#reset", "#play", "#step", "#epoch", "#lr", "#momentum", "#optimizer", "#activation", "#dropout",
    "#regularization", "#reg-rate", "#speed", "#presets", "#preset-text", "#dataset", "#classes",
    "#train-ratio", "#noise", "#batch-size", "#seed", "#add-layer", "#hidden", "#network", "#feature-x1",
    "#feature-sinx2", "#boundary", "#loss-train", "#loss-test", "#acc-test", "#show-test",
)


def offscreen(page: Any, selectors: tuple[str, ...] = MUST_SEE) -> dict[str, dict[str, float]]:
    """The elements of `selectors` not wholly inside the window, with their boxes (empty: all visible)."""
    return page.evaluate(
        """(selectors) => {
          const out = {};
          for (const s of selectors) {
            const el = document.querySelector(s);
            const r = el ? el.getBoundingClientRect() : null;
            if (!r || r.width === 0 || r.height === 0 || r.left < 0 || r.top < 0
                || r.right > window.innerWidth || r.bottom > window.innerHeight)
              out[s] = r ? {left: r.left, top: r.top, right: r.right, bottom: r.bottom} : null;
          }
          return out;
        }""",
        list(selectors),
    )


def scrolls(page: Any) -> dict[str, int]:
    """How far the page could scroll right; and down to the top of the graph panel (which may be below)."""
    return page.evaluate("({x: document.documentElement.scrollWidth - window.innerWidth,"
                         " y: window.scrollY})")


def trained_page(browser: Any, url: str, width: int, height: int, preset: int = 5) -> Any:
    """A page at width × height with question `preset` chosen, played until its test accuracy reaches 90 %."""
    page = open_playground(browser, url, width, height)
    click_answered(page, f"#preset-{preset}")
    page.click("#play")
    wait(page, "parseFloat(document.getElementById('acc-test').textContent) >= 90", timeout=120000)
    page.click("#play")
    wait(page, "!window.playground.state.playing")
    return page


def screenshots(out: Path, sizes: tuple[tuple[int, int], ...] = SIZES) -> list[Path]:
    """Write playground-<w>x<h>.png into `out` for each size, from a server and a Chromium of their own."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with running_server() as server, chromium() as browser:
        for width, height in sizes:
            page = trained_page(browser, server.url, width, height)
            path = out / f"playground-{width}x{height}.png"
            page.screenshot(path=str(path))
            written.append(path)
            page.context.close()
    return written


if __name__ == "__main__":
    for p in screenshots(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/images")):
        print(p)
