"""`nn.playground.widget(...)`: the browser playground in a Jupyter notebook, training in the kernel.

The widget is an anywidget whose front end is the page's own JavaScript (vendored in the package,
loaded from the kernel; no CDN), and whose back end is the server's `Page` loop, run in a thread of
the kernel with the widget's comm in place of a WebSocket: the same controls, presets, charts,
graph and export, the same messages, and no server.

>>> w = widget(dataset="xor", hidden=[4])  # doctest: +SKIP
>>> w                                     # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import re
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from autodiff.extras import require

STATIC = Path(__file__).resolve().parent / "static"
# the page's modules, each after those it imports
ORDER = ("colours.js", "fragment.js", "dom.js", "charts.js", "boundary.js", "points.js", "network.js", "graph.js", "controls.js",
         "app.js")
SCOPE = ".autodiff-playground"


def page_html() -> str:
    """The page's body, without its script: the widget's markup, with the page's ids (each view prefixes them)."""
    html = (STATIC / "index.html").read_text(encoding="utf-8")
    body = html[html.index("<body>") + len("<body>"): html.index("</body>")]
    body = body.replace("; the page keeps its set-up in the address, so a link reproduces it", ", in this notebook's kernel")
    return body.replace("it trains on the server", "it trains in this notebook's kernel")


def scoped_css() -> str:
    """The page's style sheet with every rule scoped to the widget, so that JupyterLab keeps its own looks."""
    css = re.sub(r"/\*.*?\*/", "", (STATIC / "style.css").read_text(encoding="utf-8"), flags=re.S)
    rules = []
    for selectors, body in re.findall(r"([^{}]+)\{([^{}]*)\}", css):
        scoped = []
        for sel in selectors.split(","):
            sel = sel.strip()
            scoped.append(SCOPE if sel in (":root", "body") else f"{SCOPE} {sel}")
        rules.append(f"{', '.join(scoped)} {{{body}}}")
    rules.append(f"{SCOPE} {{ min-width: 1000px; background: #fff; }}")
    return "\n".join(rules)


def settings_text(dataset: str | None, hidden: Sequence[int] | str | None, values: dict[str, Any]) -> dict[str, str]:
    """Keyword arguments as the page's control values: hidden=[8, 8] → '8,8', reg_rate → 'reg-rate'."""
    out = {key.replace("_", "-"): str(value) for key, value in values.items()}
    if dataset is not None:
        out["dataset"] = dataset
    if hidden is not None:
        out["hidden"] = hidden if isinstance(hidden, str) else ",".join(str(int(h)) for h in hidden)
    return out


class _Comm:
    """What a `Page` needs of a WebSocket, over the widget's comm: receive() and send_text()."""

    def __init__(self, widget: Any, loop: asyncio.AbstractEventLoop) -> None:
        self.widget = widget
        self.loop = loop
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def receive(self) -> dict[str, Any]:
        return await self.inbox.get()

    async def send_text(self, text: str) -> None:
        self.widget.send(json.loads(text))

    def put(self, message: dict[str, Any]) -> None:
        """From the kernel's thread: a message of the page, as a WebSocket would deliver its text."""
        event = {"type": "websocket.receive", "text": json.dumps(message)}
        self.loop.call_soon_threadsafe(self.inbox.put_nowait, event)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.inbox.put_nowait, {"type": "websocket.disconnect"})


def _widget_class() -> type:
    import anywidget
    import traitlets

    class Playground(anywidget.AnyWidget):
        """The playground in a notebook; `session` is its training (a `Session`), readable from the kernel."""

        _esm = STATIC / "widget.js"
        _css = traitlets.Unicode("").tag(sync=True)
        _html = traitlets.Unicode("").tag(sync=True)
        _modules = traitlets.Dict().tag(sync=True)
        _order = traitlets.List().tag(sync=True)

        def __init__(self, settings: dict[str, str]) -> None:
            from nn.playground.serve.session import Session

            self.session = Session()
            self.session.update(settings)  # a bad value raises SettingsError here, naming it
            super().__init__(_css=scoped_css(), _html=page_html(), _order=list(ORDER),
                             _modules={name: (STATIC / "js" / name).read_text(encoding="utf-8") for name in ORDER})
            self._loop = asyncio.new_event_loop()
            self._thread = threading.Thread(target=self._loop.run_forever, name="playground-widget", daemon=True)
            self._thread.start()
            self._comm: _Comm | None = None
            self._views: set[Any] = set()  # the views shown now, by the id each sends
            self.running: concurrent.futures.Future[None] | None = None  # the page loop of the views, if any
            self.on_msg(self._receive)

        def _receive(self, _widget: Any, content: Any, _buffers: Any) -> None:
            kind = content.get("type") if isinstance(content, dict) else None
            if kind == "ready":  # a view (re)drawn: start its loop
                self._views.add(content.get("view"))
                if self._comm is not None:
                    self._comm.close()
                self._comm = _Comm(self, self._loop)
                self.running = asyncio.run_coroutine_threadsafe(self._run(self._comm), self._loop)
            elif kind == "view-closed":  # its output cleared, its cell run again: the last view gone stops training
                self._views.discard(content.get("view"))
                if not self._views and self._comm is not None:
                    self._comm.close()
                    self._comm = None
            elif self._comm is not None and kind is not None:
                self._comm.put(content)

        def close(self) -> None:
            """Close the widget: its views, its page loop (a frame being trained ends first) and the
            thread that runs them; its `session` stays readable."""
            self._views.clear()
            if self._comm is not None:
                self._comm.close()
                self._comm = None
            if self.running is not None:
                self.running.result(timeout=60)
            if self._loop.is_running():
                asyncio.run_coroutine_threadsafe(self._loop.shutdown_default_executor(), self._loop).result(timeout=60)
                self._loop.call_soon_threadsafe(self._loop.stop)
                self._thread.join(timeout=60)
            super().close()

        async def _run(self, comm: _Comm) -> None:
            from nn.playground.serve.app import Page, Scheduler

            page = Page(comm, Scheduler())
            page.session = self.session  # the same training, whichever view shows it
            self.session.playing = False
            try:
                await page.run()
            finally:  # no view left to show it: paused, as a new view finds it
                if self._comm is None or self._comm is comm:
                    self.session.playing = False

    return Playground


def widget(dataset: str | None = "spiral", hidden: Sequence[int] | str | None = (8, 8), **settings: Any) -> Any:
    """The playground as a notebook widget, training in this kernel: `widget(dataset="spiral", hidden=[8, 8])`.

    Other settings by the page's names, with _ for - (`lr=0.1`, `activation="relu"`, `reg_rate=0.01`).
    Needs the notebooks extra (anywidget) and the playground extra (starlette).
    """
    require(["anywidget", "starlette"], "notebooks", "the playground widget")
    return _widget_class()(settings_text(dataset, hidden, settings))
