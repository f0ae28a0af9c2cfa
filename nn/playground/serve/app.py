"""The web application: the page and its files, and one WebSocket per open page driving its own `Session`.

Each page gets a training loop of its own, started when its socket opens and stopped when it
closes. The loop handles the page's messages in order and, while playing, trains `speed` epochs,
sends a frame, and sleeps to hold at most `MAX_FPS` frames a second. Training, drawing and
rendering run in a worker thread, one call at a time per page, so the server keeps answering
other pages; a bad message gets an error message back and never ends the loop.

Messages from the page (JSON objects, by "type"): set {settings: {id: value}, partial?, restart?}
(restart, a preset's: start from fresh weights and an empty history even if nothing changed), play, pause, step,
reset, graph, export {what: weights | python},
set_weight {layer, to, from, value}. A message that arrives while a frame trains ends that frame at
its next step, so pause answers within a step. To the page:
hello, settings {settings, errors}, data, frame, graph, export, status, error.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.responses import FileResponse
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from nn.datasets import MULTICLASS, REGRESSION
from nn.playground.serve import settings as limits
from nn.playground.serve import views
from nn.playground.serve.export import WEIGHTS_FILE, python_code
from nn.playground.serve.features import FEATURES, ONE_INPUT
from nn.playground.serve.presets import presets
from nn.playground.serve.server import trim_heap
from nn.playground.serve.session import Session
from nn.playground.serve.settings import NEW_DATA, NEW_MODEL, Settings, SettingsError

STATIC = Path(__file__).resolve().parent.parent / "static"
MAX_FPS = 25
FRAME_WORK = 0.4  # seconds of training per frame at most: "25 epochs/frame" trains 25 unless the network is big
GRAPH_EVERY = 2.0  # seconds between graph renderings while playing (Graphviz takes ~0.1 s)
MAX_MESSAGE = 256 * 1024  # bytes: 2,000 uploaded points fit in 60 KB
MAX_PAGES = 48  # pages open at once on one server, all its workers together: a class of 40 and its teacher
CYCLE = 0.25  # seconds in which every playing page of a worker gets a frame, when it has many
MIN_WORK = 0.01  # seconds of training per frame at least, however many pages play
QUEUE = 64  # messages waiting per page before the page's reads wait too

log = logging.getLogger("nn.playground.serve")


class BadMessage(ValueError):
    """A message the server cannot act on; its text goes back to the page."""


class PageCount:
    """The pages open on the server, counted across its worker processes (a shared integer), or in one."""

    def __init__(self, shared: Any = None) -> None:
        self.shared = shared
        self.local = 0

    def enter(self, limit: int) -> bool:
        """Count one more page unless `limit` are open already; True when it was counted."""
        if self.shared is None:
            if self.local >= limit:
                return False
            self.local += 1
            return True
        with self.shared.get_lock():
            if self.shared.value >= limit:
                return False
            self.shared.value += 1
            return True

    def leave(self) -> None:
        if self.shared is None:
            self.local -= 1
        else:
            with self.shared.get_lock():
                self.shared.value -= 1


class Scheduler:
    """Fair turns at training for the pages playing in one worker: one frame at a time, first come first served.

    Each page waits its turn (asyncio's lock is FIFO), trains for its share of `CYCLE`, sends its
    frame and queues again, so with n pages playing each gets a frame every CYCLE or so and the same
    share of the core; a page whose user pressed something leaves the queue at once (`turn`).
    """

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.playing: set[Page] = set()

    def budget(self) -> float:
        """Seconds one frame may train: FRAME_WORK alone, a share of CYCLE when pages share the worker."""
        n = len(self.playing)
        return FRAME_WORK if n <= 1 else max(MIN_WORK, min(FRAME_WORK, CYCLE / n))


class Page:
    """One open page: its socket, its session, and the loop between them."""

    def __init__(self, ws: WebSocket, scheduler: Scheduler) -> None:
        self.ws = ws
        self.session = Session()
        self.last_graph = 0.0
        self.scheduler = scheduler
        self.arrived = asyncio.Event()  # a message came from the page

    async def send(self, message: dict[str, Any]) -> None:
        """Send one message to the page, as compact JSON (never NaN: JSON has none)."""
        await self.ws.send_text(json.dumps(message, allow_nan=False, separators=(",", ":")))

    async def work(self, fn: Any, *args: Any) -> Any:
        """Run `fn(*args)` in a worker thread: training and drawing never block other pages."""
        return await asyncio.to_thread(fn, *args)

    async def run(self) -> None:
        """The page's loop: its messages in order and, while playing, a frame after each round of them."""
        queue: asyncio.Queue[str | None] = asyncio.Queue(QUEUE)
        reader = asyncio.create_task(self.read(queue))
        try:
            await self.send(hello())
            await self.send_everything()
            while True:
                if not self.session.playing:
                    text = await queue.get()
                    if text is None:
                        return
                    await self.handle(text)
                    continue
                while not queue.empty():  # the page's wishes first, then the next frame
                    text = queue.get_nowait()
                    if text is None:
                        return
                    await self.handle(text)
                if self.session.playing:
                    await self.play_frame()
        except (WebSocketDisconnect, OSError):  # the page went away, perhaps in the middle of a send
            return
        finally:
            reader.cancel()
            self.scheduler.playing.discard(self)

    async def read(self, queue: asyncio.Queue[str | None]) -> None:
        """Queue the page's text messages; None when the page goes away, which ends `run`."""
        try:
            while True:
                message = await self.ws.receive()
                if message["type"] == "websocket.disconnect":
                    return
                text = message.get("text")
                if text is None:
                    await self.send({"type": "error", "message": "messages must be JSON text, not binary"})
                    continue
                self.session.stop_requested = True  # the frame being trained ends at its next step
                self.arrived.set()  # and a page waiting for its turn to train leaves the queue
                await queue.put(text)
        except (WebSocketDisconnect, RuntimeError):
            return
        finally:
            await queue.put(None)

    async def turn(self) -> bool:
        """Wait for this page's turn to train (True), or until a message comes from the page (False)."""
        self.arrived.clear()
        acquire = asyncio.ensure_future(self.scheduler.lock.acquire())
        message = asyncio.ensure_future(self.arrived.wait())
        try:
            await asyncio.wait({acquire, message}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            message.cancel()
            if not acquire.done():
                acquire.cancel()
        if acquire.done() and not acquire.cancelled():
            if self.arrived.is_set():  # our turn came with the message: let the message go first
                self.scheduler.lock.release()
                return False
            return True
        return False

    async def play_frame(self) -> None:
        """In its turn, train up to `speed` epochs (within the worker's budget), send the frame, the graph now and then."""
        started = time.monotonic()
        s = self.session
        self.scheduler.playing.add(self)
        if not await self.turn():
            return  # the page said something: the loop handles it first
        try:
            s.stop_requested = False
            rows = await self.work(s.advance, s.settings.speed, self.scheduler.budget(), True)
            frame = await self.work(views.frame, s, rows)
            # fewer epochs than asked only because the frame's time ran out (a loaded machine, a big network)
            frame["out_of_time"] = len(rows) < s.settings.speed and not (s.diverged or s.stop_requested)
            # the graph now and then, in the page's own turn: GRAPH_EVERY seconds for each page playing here
            # (Graphviz's ~0.1 s for each of 20 pages every 2 s would be a core's worth); never past a message
            due = time.monotonic() - self.last_graph > GRAPH_EVERY * len(self.scheduler.playing)
            graph = await self.work(views.graph, s) if s.playing and due and not s.stop_requested else None
        finally:
            self.scheduler.lock.release()
        if not s.playing:
            self.scheduler.playing.discard(self)
        await self.send(frame)
        if graph is not None:
            self.last_graph = time.monotonic()
            await self.send(graph)
        elif not s.playing:
            await self.send_graph()
        await asyncio.sleep(max(0.0, 1 / MAX_FPS - (time.monotonic() - started)))
        if not s.playing:
            self.scheduler.playing.discard(self)

    async def send_everything(self) -> None:
        """What a new page needs to draw itself: the set-up, the data, a frame and the graph."""
        await self.send_settings()
        await self.send({"type": "data", **(await self.work(views.data_message, self.session))})
        await self.send_frame()
        await self.send_graph()

    async def send_settings(self, errors: dict[str, str] | None = None, given: Any = ()) -> None:
        """The set-up as canonical text, the errors of the values just sent, and which ids those were."""
        given = [k for k in given if isinstance(k, str)] if isinstance(given, dict) else []
        await self.send({"type": "settings", "settings": self.session.settings.fragment(), "errors": errors or {},
                         "given": given})

    async def send_frame(self) -> None:
        """A frame of the session as it stands."""
        await self.send(await self.work(views.frame, self.session))

    async def send_graph(self) -> None:
        """The backprop graph of the step being taken, and its explanation."""
        self.last_graph = time.monotonic()
        await self.send(await self.work(views.graph, self.session))

    async def handle(self, text: str) -> None:
        """Act on one message; a bad one is answered with an error and changes nothing."""
        message = None
        try:
            message = parse(text)
            await self.dispatch(message["type"], message)
        except SettingsError as e:
            values = message.get("settings") if isinstance(message, dict) else None
            await self.send_settings(e.errors, values)
        except (BadMessage, ValueError, TypeError) as e:
            await self.send({"type": "error", "message": str(e)})
        except WebSocketDisconnect:
            raise
        except Exception:  # a bug must not end the page's loop, let alone the server
            log.exception("playground: error handling a message")
            await self.send({"type": "error", "message": "the server failed on that request; see its log"})

    async def dispatch(self, kind: str, message: dict[str, Any]) -> None:
        """Do what a message of type `kind` asks, and answer with what changed."""
        s = self.session
        if kind == "set":
            was_playing = s.playing
            values = message.get("settings")
            restart = bool(message.get("restart"))
            if message.get("partial") and isinstance(values, dict):
                changed, errors = await self.work(update_partly, s, values)
            else:
                changed, errors = await self.work(s.restart if restart else s.update, values), {}
            await self.send_settings(errors, values)
            if changed & NEW_DATA:
                await self.send({"type": "data", **(await self.work(views.data_message, s))})
            if restart:
                await self.send({"type": "reset"})
            if restart or changed & (NEW_DATA | NEW_MODEL):
                s.playing = was_playing and not s.diverged
                await self.send_frame()
                await self.send_graph()
            await self.send_status()
        elif kind == "play":
            if s.diverged:
                raise BadMessage(s.diverged)
            s.playing = True
            await self.send_status()
        elif kind == "pause":
            s.playing = False
            await self.send_status()
            await self.send_graph()
        elif kind == "step":
            s.playing = False
            rows = await self.work(s.advance, 1)
            await self.send(await self.work(views.frame, s, rows))
            await self.send_graph()
            await self.send_status()
        elif kind == "reset":
            await self.work(s.reset)
            await self.send({"type": "reset"})
            await self.send_frame()
            await self.send_graph()
            await self.send_status()
        elif kind == "graph":
            await self.send_graph()
        elif kind == "set_weight":
            await self.work(s.set_weight, message.get("layer"), message.get("to"), message.get("from"), message.get("value"))
            await self.send_frame()
            await self.send_graph()
        elif kind == "export":
            await self.send(await self.work(export, s, message.get("what")))
        else:
            raise BadMessage(f"unknown message type {str(kind)[:40]!r}")

    async def send_status(self) -> None:
        """Whether the session is playing, and why it stopped if training diverged."""
        await self.send({"type": "status", "playing": self.session.playing, "diverged": self.session.diverged})


def update_partly(session: Session, values: dict[str, Any]) -> tuple[set[str], dict[str, str]]:
    """Apply what is good in `values` (a link's fragment) and return the errors of the rest."""
    errors: dict[str, str] = {}
    values = dict(values)
    while True:
        try:
            return session.update(values), errors
        except SettingsError as e:
            errors.update(e.errors)
            rest = {k: v for k, v in values.items() if k not in e.errors}
            if len(rest) == len(values):  # the fault lies in no value given here: apply none
                return set(), errors
            values = rest


def parse(text: str) -> dict[str, Any]:
    """A message as a dict with a "type"; anything else is a `BadMessage`."""
    if len(text) > MAX_MESSAGE:
        raise BadMessage(f"message too long ({len(text)} characters, at most {MAX_MESSAGE})")
    try:
        message = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: arrays nested thousands deep
        raise BadMessage("a message must be a JSON object") from None
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise BadMessage('a message must be a JSON object with a "type"')
    return message


def export(session: Session, what: Any) -> dict[str, Any]:
    """The trained weights (.npz) or the Python code that rebuilds the network, as a download."""
    if what == "weights":
        data, name, mime = session.export_weights(), WEIGHTS_FILE, "application/octet-stream"
    elif what == "python":
        data = python_code(session.settings, session.epoch).encode("utf-8")
        name, mime = "playground_model.py", "text/x-python"
    else:
        raise BadMessage(f"export what? 'weights' or 'python', got {str(what)[:40]!r}")
    return {"type": "export", "filename": name, "mime": mime, "data": base64.b64encode(data).decode("ascii")}


def hello() -> dict[str, Any]:
    """What the page needs once: the presets, the defaults, the features' labels and the limits."""
    return {
        "type": "hello",
        "worker": os.getpid(),  # the server process this page trains in, for as long as it is open
        "defaults": Settings().fragment(),
        "presets": presets(),
        "fields": list(limits.FIELDS),
        "features": {name: label for name, (label, _) in FEATURES.items()},
        "one_input": sorted(ONE_INPUT),
        "multiclass": [*MULTICLASS, "custom"],
        "regression": list(REGRESSION),
        "limits": {"layers": limits.MAX_LAYERS, "units": limits.MAX_UNITS, "classes": limits.MAX_CLASSES,
                   "points": limits.MAX_POINTS, "coord": limits.MAX_COORD},
    }


async def index(request: Any) -> FileResponse:
    """The page; revalidated on every load, so a new version of the package shows at once."""
    return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})


LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
WILDCARDS = frozenset({"0.0.0.0", "::", ""})


def trusted(ws: WebSocket) -> bool:
    """True when the socket comes from a page of this server, by its address (or from a client that is no browser).

    A page of another site must not drive this server: its browser sends that site's Origin
    (cross-site WebSocket hijacking), and a site that points its own name at 127.0.0.1 sends its
    name as Host (DNS rebinding). So the Host must be this server's address and the Origin, if
    any, the same host and port.
    """
    host = ws.headers.get("host", "")
    allowed = ws.app.state.hosts
    if allowed is not None and urlsplit(f"//{host}").hostname not in allowed:
        return False
    origin = ws.headers.get("origin")
    return origin is None or urlsplit(origin).netloc == host


async def playground_socket(ws: WebSocket) -> None:
    """One page's socket: refused from other sites or past MAX_PAGES, else its `Page` loop until it closes."""
    if not trusted(ws):
        await ws.close(code=1008)  # policy violation: the handshake is refused
        return
    await ws.accept()
    pages: PageCount = ws.app.state.pages
    if not pages.enter(MAX_PAGES):
        await ws.send_text(json.dumps({"type": "error", "message": f"this server already trains {MAX_PAGES} pages; close one"}))
        await ws.close(code=1013)
        return
    state = ws.app.state
    state.open += 1
    try:
        await Page(ws, state.scheduler).run()
    finally:
        pages.leave()
        state.open -= 1
        if state.open == 0:  # this worker's last page: what its pages used goes back to the system
            trim_heap()
        if ws.application_state == WebSocketState.CONNECTED:
            try:
                await ws.close()
            except (RuntimeError, OSError, WebSocketDisconnect):  # the page is gone already
                pass


def create_app(host: str = "127.0.0.1", pages: PageCount | None = None) -> Starlette:
    """The playground as an ASGI application: `/` the page, `/static/…` its files, `/ws` its socket.

    `host` is the address it listens on: its socket takes pages addressed to it or to loopback
    (any address, when it listens on all of them). `pages` counts the open pages, shared between
    the server's worker processes; each has its own `Scheduler`.
    """
    app = Starlette(
        routes=[
            Route("/", index),
            WebSocketRoute("/ws", playground_socket),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
        ]
    )
    app.state.hosts = None if host in WILDCARDS else LOOPBACK | {host}
    app.state.pages = pages or PageCount()
    app.state.scheduler = Scheduler()
    app.state.open = 0  # pages open in this worker
    return app
