"""The browser playground's server as a process: what it prints, what it serves, its WebSocket protocol, its limits."""

from __future__ import annotations

import base64
import json
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("uvicorn")
pytest.importorskip("starlette")
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

import nn
from nn.playground.serve.app import MAX_MESSAGE, MAX_PAGES

from .playground_server import running_server

STATIC = Path(nn.__file__).parent / "playground" / "static"
pytestmark = pytest.mark.xdist_group("playground-server")  # the file's server, started once, in one process


@pytest.fixture(scope="module")
def server():
    with running_server() as s:
        yield s


class Page:
    """A page's side of the socket, in plain Python."""

    def __init__(self, url: str) -> None:
        self._connection = connect(url, max_size=2**24)
        self.ws = self._connection.__enter__()

    def send(self, **message) -> None:
        self.ws.send(json.dumps(message))

    def next(self, kind: str, timeout: float = 20) -> dict:
        """The next message of type `kind`, skipping others."""
        end = time.monotonic() + timeout
        while True:
            m = json.loads(self.ws.recv(timeout=max(0.01, end - time.monotonic())))
            if m["type"] == kind:
                return m

    def close(self) -> None:
        self._connection.__exit__(None, None, None)


@pytest.fixture
def page(server):
    p = Page(server.socket_url)
    yield p
    p.close()


def get(url: str) -> tuple[str, str]:
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.headers["Content-Type"], r.read().decode("utf-8")


def cpu_seconds(pid: int) -> float:
    """CPU time of the server: its process and its worker processes (utime + stime, in ticks of 1/100 s)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    children = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            children += [int(c) for c in (task / "children").read_text().split()]
        except FileNotFoundError:  # a thread that has just ended
            pass
    own = (int(fields[11]) + int(fields[12])) / 100
    return own + sum(cpu_seconds(c) for c in children if Path(f"/proc/{c}/stat").exists())


def test_the_page_and_its_files_come_from_the_package(server):
    kind, html = get(server.url)
    assert kind.startswith("text/html")
    for id_ in ("dataset", "activation", "hidden", "lr", "regularization", "reg-rate", "batch-size", "noise", "train-ratio",
                "feature-x1", "feature-x2", "feature-x1sq", "feature-x2sq", "feature-x1x2", "feature-sinx1", "feature-sinx2",
                "play", "step", "reset", "epoch", "loss-train", "loss-test", "boundary", "network", "loss-chart", "graph"):
        assert f'id="{id_}"' in html
    kind, _ = get(server.url + "static/js/main.js")
    assert "javascript" in kind
    # every module the page imports is served, and nothing is loaded from another host
    for f in STATIC.rglob("*"):
        if f.suffix in (".html", ".css", ".js"):
            text = f.read_text()
            assert not re.search(r"(https?:)?//(?!www\.w3\.org/2000/svg)[a-z0-9.-]+\.[a-z]{2,}/", text), f
            for module in re.findall(r'from "\./([\w-]+\.js)"', text):
                assert get(server.url + "static/js/" + module)[0].startswith("text/javascript")


def test_a_new_page_gets_the_set_up_the_data_a_frame_and_the_graph(page):
    hello = page.next("hello")
    assert len(hello["presets"]) == 9 and hello["defaults"]["hidden"] == "8,8"
    settings = page.next("settings")
    assert settings["settings"]["dataset"] == "spiral" and settings["errors"] == {}
    data = page.next("data")
    assert len(data["train"]) == len(data["test"]) == 250 and data["classes"] == 2
    frame = page.next("frame")
    assert frame["epoch"] == 0 and frame["sizes"] == [2, 8, 8, 2]
    graph = page.next("graph")
    assert "<svg" in graph["svg"] and "cross_entropy" in graph["explain"]


def test_play_trains_and_pause_stops(page):
    page.next("graph")
    page.send(type="play")
    epochs = [page.next("frame")["epoch"] for _ in range(8)]
    assert epochs == sorted(epochs) and epochs[-1] > epochs[0]
    page.send(type="pause")
    status = page.next("status")
    assert status["playing"] is False
    page.send(type="step")
    assert page.next("frame")["epoch"] > epochs[-1]
    page.send(type="reset")
    assert page.next("frame")["epoch"] == 0


def test_a_bad_value_is_answered_with_its_error_and_changes_nothing(page):
    page.next("graph")
    page.send(type="set", settings={"lr": "-1", "hidden": "abc"})
    reply = page.next("settings")
    assert set(reply["errors"]) == {"lr", "hidden"}
    assert reply["settings"]["lr"] == "0.03" and reply["settings"]["hidden"] == "8,8"
    page.send(type="set", settings={"hidden": "3"})
    assert page.next("settings")["errors"] == {}
    assert page.next("frame")["sizes"] == [2, 3, 2]


def test_a_link_applies_its_good_values_and_names_the_bad_ones(page):
    page.next("graph")
    page.send(type="set", settings={"dataset": "xor", "lr": "oops", "hidden": "4"}, partial=True)
    reply = page.next("settings")
    assert reply["errors"].keys() == {"lr"}
    assert reply["settings"]["dataset"] == "xor" and reply["settings"]["hidden"] == "4"


@pytest.mark.parametrize(("text", "says"), [
    ("not json", "JSON object"), ("[1, 2]", '"type"'), ('{"no": "type"}', '"type"'), ('{"type": "launch"}', "unknown message"),
    ('{"type": "set", "settings": 5}', "object of control id"),
    ('{"type": "set", "settings": {"dataset": "custom", "points": [{"a": 1}, {"a": 1}, {"a": 1}, {"a": 1}]}}', "point 1"),
    ('{"type": "set_weight", "layer": 0, "to": 99, "from": 0, "value": 1}', "unit must be"),
    ('{"type": "export", "what": "pickle"}', "export what"),
    ("[" * 50000 + "]" * 50000, "JSON object"),
    ("x" * (MAX_MESSAGE + 1), "too long"),
])
def test_a_malformed_message_gets_its_error_and_the_page_goes_on(page, text, says):
    page.next("graph")
    page.ws.send(text)
    reply = json.loads(page.ws.recv(timeout=10))
    assert reply["type"] in ("error", "settings")
    assert says in (reply.get("message") or json.dumps(reply.get("errors")))
    page.send(type="step")
    assert page.next("frame")["epoch"] == 1


def test_a_message_past_the_protocol_limit_closes_that_page_only(server, page):
    big = Page(server.socket_url)
    big.next("graph")
    big.ws.send("x" * (4 * MAX_MESSAGE + 1))
    with pytest.raises(ConnectionClosed) as info:
        big.next("frame", timeout=10)
    assert info.value.rcvd.code == 1009  # message too big
    page.next("graph")
    page.send(type="step")
    assert page.next("frame")["epoch"] == 1


def handshake(port: int, name: str) -> str:
    """The status line the server answers a WebSocket handshake with, from a page served as http://name:port/."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall((f"GET /ws HTTP/1.1\r\nHost: {name}:{port}\r\nOrigin: http://{name}:{port}\r\nUpgrade: websocket\r\n"
                      "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
                     .encode())
        return sock.recv(4096).decode("latin-1").splitlines()[0]


def test_a_page_of_another_site_cannot_open_the_socket(server):
    host = server.url.split("//")[1].rstrip("/")
    with connect(server.socket_url, origin=f"http://{host}") as ws:  # the playground's own page
        assert json.loads(ws.recv(timeout=10))["type"] == "hello"
    port = host.split(":")[1]
    with pytest.raises(InvalidStatus) as info:
        connect(server.socket_url, origin="http://evil.example")
    assert info.value.response.status_code == 403
    # DNS rebinding: evil.example resolves to 127.0.0.1, so Host and Origin agree, but name another site
    assert handshake(int(port), "evil.example").startswith("HTTP/1.1 403")
    assert handshake(int(port), "127.0.0.1").startswith("HTTP/1.1 101")
    with connect(server.socket_url.replace("127.0.0.1", "localhost"), origin=f"http://localhost:{port}") as ws:
        assert json.loads(ws.recv(timeout=10))["type"] == "hello"


def test_a_binary_message_gets_an_error(page):
    page.next("graph")
    page.ws.send(b"\x00\x01")
    assert "JSON text" in page.next("error")["message"]


def test_export_gives_loadable_weights_and_runnable_code(page, tmp_path):
    page.next("graph")
    page.send(type="step")
    page.next("frame")
    page.send(type="export", what="weights")
    m = page.next("export")
    assert m["filename"].endswith(".npz")
    path = tmp_path / m["filename"]
    path.write_bytes(base64.b64decode(m["data"]))
    model = nn.MLP([2, 8, 8, 2])
    model.load(path)
    page.send(type="export", what="python")
    code = base64.b64decode(page.next("export")["data"]).decode()
    script = tmp_path / "model.py"
    script.write_text(code)
    out = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert re.fullmatch(r"\[[01] [01]\]\n", out.stdout)


def test_closing_a_page_stops_its_training(server):
    p = Page(server.socket_url)
    p.next("graph")
    p.send(type="play")
    p.next("frame")
    p.close()
    # Once the server has noticed, a second costs it next to no CPU; playing takes what it can get,
    # which even on a loaded machine is far more. Waits for that state, for at most 30 s.
    deadline = time.monotonic() + 30
    while True:
        before = cpu_seconds(server.process.pid)
        time.sleep(1.0)
        used = cpu_seconds(server.process.pid) - before
        if used < 0.1:
            break
        assert time.monotonic() < deadline, f"the server still uses {used:.2f} s of CPU a second"


def test_pages_beyond_the_limit_are_turned_away_and_closed_pages_free_their_place(server):
    pages = [Page(server.socket_url) for _ in range(MAX_PAGES)]
    for p in pages:
        p.next("hello")
    extra = Page(server.socket_url)
    assert "already trains" in extra.next("error")["message"]
    extra.close()
    for p in pages:
        p.close()
    deadline = time.monotonic() + 30  # the pages' places are freed as the server notices them gone
    while True:
        again = Page(server.socket_url)
        first = json.loads(again.ws.recv(timeout=20))
        again.close()
        if first["type"] == "hello":
            break
        assert "already trains" in first["message"] and time.monotonic() < deadline


def test_ctrl_c_stops_the_server_with_a_page_playing():
    with running_server() as s:
        p = Page(s.socket_url)
        p.next("graph")
        p.send(type="play")
        p.next("frame")
        s.process.send_signal(signal.SIGINT)
        assert s.process.wait(timeout=15) == 0
        assert "stopped" in s.process.stdout.read()


def test_a_port_in_use_is_one_line_and_exit_1():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        out = subprocess.run([sys.executable, "-m", "nn.playground", "--serve", "--port", str(port), "--no-open"],
                             capture_output=True, text=True, timeout=60)
    assert out.returncode == 1 and out.stdout == ""
    assert re.fullmatch(r"autodiff-playground: error: cannot listen on 127\.0\.0\.1:\d+: .+\n", out.stderr)


def test_a_bad_port_is_a_bad_flag():
    out = subprocess.run([sys.executable, "-m", "nn.playground", "--serve", "--port", "70000"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and "--port" in out.stderr


def test_the_heatmap_bytes_decode_to_classes(page):
    frame = page.next("frame")
    cls = np.frombuffer(base64.b64decode(frame["output"]["cls"]), dtype=np.uint8)
    assert cls.size == frame["output"]["size"] ** 2 and set(np.unique(cls)) <= {0, 1}
