"""The playground in a notebook (issue 27): `nn.playground.widget(dataset="spiral", hidden=[8, 8])` in JupyterLab,
driven by Playwright in Chromium: it draws the page, trains in the kernel, plays, pauses, takes a preset
and exports, with no server of ours and nothing from a CDN; and several widgets in one notebook are
independent (each one's controls drive only its own training, each draws only into itself), while two
views of one widget show its one training, which stops when both are cleared away.
"""

from __future__ import annotations

import io
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from .playground_pages import chromium, wait

pytest.importorskip("anywidget")
pytest.importorskip("jupyterlab")
nbformat = pytest.importorskip("nbformat")
pytestmark = pytest.mark.xdist_group("playground-widget")
ROOT = Path(__file__).resolve().parent.parent
CELLS = [
    'import nn.playground\nw = nn.playground.widget(dataset="spiral", hidden=[8, 8])\nw',
    'v = nn.playground.widget(dataset="xor", hidden=[3], lr=0.1)\nv',  # a second playground beside the first
    "w  # the first one again: a second view of the same training",
    "w.running.done(), w.session.playing  # whether the first one's training still runs",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab on 127.0.0.1 serving a folder with one notebook, whose kernel imports this checkout."""
    folder = tmp_path_factory.mktemp("lab")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(cell) for cell in CELLS])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, folder / "playground.ipynb")
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "JUPYTER_RUNTIME_DIR": str(folder / ".runtime"),
           "JUPYTER_CONFIG_DIR": str(folder / ".config")}
    process = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
         "--IdentityProvider.token=", "--ServerApp.password=", "--ServerApp.disable_check_xsrf=True",
         f"--ServerApp.root_dir={folder}", "--LabApp.news_url=None",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate", "--allow-root"],
        cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(url + "api/status", timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, process.stderr.read()[-3000:]
            time.sleep(0.3)  # polling the server's readiness, before any page exists
        yield url, folder
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


def test_the_widgets_style_sheet_names_no_id():
    """In a notebook each view's ids take a prefix of its own: a rule naming an id would match no widget."""
    from nn.playground.widget import scoped_css

    selectors = re.findall(r"([^{}]+)\{", scoped_css())
    assert len(selectors) > 50 and [s for s in selectors if "#" in s] == []


class View:
    """One widget's view in the page: its root div, its elements by the page's ids, its page state.

    In a widget the page's ids carry the view's own prefix (the root's data-prefix), so that two
    widgets' ids never meet; its state is the root's `playground` (the page's is window.playground).
    """

    def __init__(self, page: Any, n: int) -> None:
        self.page = page
        self.root = page.locator(".autodiff-playground").nth(n)
        self.root.locator("canvas.boundary").wait_for(timeout=120000)
        self.handle = self.root.element_handle()
        self.prefix = self.root.evaluate("r => r.dataset.prefix || ''")

    def el(self, name: str) -> Any:
        return self.root.locator(f"#{self.prefix}{name}")

    def wait(self, condition: str, timeout: float = 60000) -> None:
        """Wait until `condition` holds, in which `p` is this view's state and `$(id)` its element."""
        self.page.wait_for_function(
            "(r) => { const p = r.playground, $ = (id) => r.querySelector('#' + (r.dataset.prefix || '') + id);"
            f" return {condition}; }}", arg=self.handle, timeout=timeout)

    def get(self, expression: str) -> Any:
        return self.root.evaluate(f"(r) => r.playground.{expression}")


def run_cell(page: Any, n: int) -> View:
    """Run the notebook's n-th cell, whose output is a widget's view; that view, drawn and connected."""
    page.locator(".jp-Notebook .jp-Cell .cm-content").nth(n).click()
    wait(page, "document.activeElement && document.activeElement.closest('.jp-Cell') !== null")
    before = page.locator(".autodiff-playground").count()
    page.keyboard.press("Shift+Enter")
    wait(page, f"document.querySelectorAll('.autodiff-playground').length > {before}", 120000)
    return View(page, before)


@pytest.fixture(scope="module")
def notebook(lab, browser):
    """The notebook open in JupyterLab with its kernel idle; the page's JavaScript errors and its requests
    outside JupyterLab collected."""
    url, _folder = lab
    context = browser.new_context(viewport={"width": 1440, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.outside = []
    page.on("request", lambda r: page.outside.append(r.url) if not r.url.startswith((url, "blob:", "data:")) else None)
    page.goto(url + "lab/tree/playground.ipynb")
    page.wait_for_selector(".jp-Notebook .jp-Cell .cm-content", timeout=120000)
    wait(page, "document.querySelector('#jp-main-statusbar') !== null"
               " && document.querySelector('#jp-main-statusbar').innerText.includes('| Idle')", 120000)
    yield page
    context.close()


def test_the_widget_trains_in_the_kernel_with_the_pages_controls(notebook):
    page = notebook
    first = run_cell(page, 0)
    first.wait("p && p.state.settings && p.state.frame", 120000)
    settings = first.get("state.settings")
    assert (settings["dataset"], settings["hidden"]) == ("spiral", "8,8")
    assert first.el("connection").text_content() == "connected"
    assert "playground.ipynb" in page.url  # the set-up is not written into JupyterLab's address
    assert "address" not in first.root.locator("footer").text_content()
    # the controls reach the kernel: play, then pause
    first.el("play").click()
    first.wait("parseInt($('epoch').textContent) >= 10", 120000)
    first.el("play").click()
    first.wait("!p.state.playing", 30000)
    assert first.get("history.rows.length") >= 11
    # a preset restarts it on its own set-up
    first.el("preset-4").click()
    first.wait("p.state.settings.dataset === 'circle' && p.state.frame.sizes.join() === '2,3,2' && p.state.frame.epoch === 0")
    first.el("step").click()
    first.wait("p.state.frame.epoch === 1")
    assert "Local minima" in first.el("preset-text").text_content()
    # the graph and its legend came from the kernel
    first.wait("$('graph').querySelector('svg') !== null")
    assert "W⁽¹⁾" in first.el("explain").text_content()
    # export: the weights the kernel trained, as .npz
    with page.expect_download() as download:
        first.el("export-weights").click()
    data = Path(download.value.path()).read_bytes()
    with np.load(io.BytesIO(data), allow_pickle=False) as weights:
        assert weights["0.weight"].shape == (3, 2)
    assert page.errors == [], page.errors
    assert page.outside == [], page.outside  # nothing from a CDN
    # JupyterLab's own looks are untouched: the page's style sheet is scoped to the widget
    assert page.evaluate("getComputedStyle(document.body).minWidth") in ("0px", "auto")


def test_two_widgets_in_one_notebook_are_independent(notebook):
    page = notebook
    if page.locator(".autodiff-playground").count() == 0:  # run on its own (pytest -k)
        run_cell(page, 0)
    first = View(page, 0)
    second = run_cell(page, 1)
    # each draws into its own elements: the second's connection, data set and epoch are its own
    second.wait("$('connection').textContent === 'connected' && $('dataset').value === 'xor'"
                " && $('presets').children.length > 0 && p && p.state.frame && p.state.frame.epoch === 0")
    assert first.el("connection").text_content() == "connected"
    assert first.get("state.settings.dataset") != "xor"
    ids = page.evaluate("[...document.querySelectorAll('.autodiff-playground [id]')].map((e) => e.id)")
    twice = sorted({i for i in ids if ids.count(i) > 1})
    assert twice == [], twice  # no id twice
    # play in the first only: its epoch counter moves on, the second's stays at 0
    start = int(first.el("epoch").text_content())
    first.el("play").click()
    first.wait(f"parseInt($('epoch').textContent) >= {start + 5}")
    first.el("play").click()
    first.wait("!p.state.playing")
    assert second.el("epoch").text_content() == "0"
    assert second.get("state.frame.epoch") == 0 and second.get("state.playing") is False
    assert second.get("history.rows.length") == 1
    # a control of the second changes only the second's settings (a label too: its `for` is its own)
    lr, features = first.get("state.settings.lr"), first.get("state.settings.features")
    second.el("lr").fill("0.3")
    second.el("lr").press("Enter")
    second.wait("p.state.settings.lr === '0.3'")
    second.root.locator("label[for$='feature-x1sq']").click()
    second.wait("p.state.settings.features.split(',').includes('x1sq')")
    assert (first.get("state.settings.lr"), first.get("state.settings.features")) == (lr, features)
    assert first.el("lr").input_value() == lr and not first.el("feature-x1sq").is_checked()
    # the same widget shown twice: two views of one training, each drawn in itself, both mirroring it
    again = run_cell(page, 2)
    again.wait("$('connection').textContent === 'connected' && p && p.state.frame")
    epoch = again.get("state.frame.epoch") + 1
    again.el("step").click()
    again.wait(f"p.state.frame.epoch === {epoch}")
    first.wait(f"p.state.frame.epoch === {epoch} && $('epoch').textContent === '{epoch}'")
    assert first.get("state.settings") == again.get("state.settings")
    assert second.get("state.frame.epoch") == 0
    assert page.errors == [], page.errors


def clear_output(page: Any, n: int) -> None:
    """Clear the n-th cell's output as a person does: the cell's context menu, "Clear Cell Output"."""
    cell = page.locator(".jp-Notebook .jp-Cell").nth(n)
    cell.locator(".cm-content").click()
    wait(page, f"document.querySelectorAll('.jp-Notebook .jp-Cell')[{n}].classList.contains('jp-mod-active')")
    cell.locator(".cm-content").click(button="right")
    page.locator(".lm-Menu-itemLabel", has_text="Clear Cell Output").first.click()


def kernel_says(page: Any, n: int, text: str, timeout: float = 60.0) -> None:
    """Run the n-th cell, whose output is a Python value, until it reads `text` (the kernel's state, as it changes)."""
    output = page.locator(".jp-Notebook .jp-Cell").nth(n).locator(".jp-OutputArea-output")
    deadline = time.monotonic() + timeout
    while True:
        page.locator(".jp-Notebook .jp-Cell .cm-content").nth(n).click()
        page.keyboard.press("Shift+Enter")
        wait(page, "document.querySelector('#jp-main-statusbar').innerText.includes('| Idle')", 60000)
        if output.count() and output.first.inner_text().strip() == text:
            return
        assert time.monotonic() < deadline, f"cell {n} still reads {output.first.inner_text()!r}, not {text!r}"


def test_clearing_its_views_stops_the_widgets_training(notebook):
    page = notebook
    if page.locator(".autodiff-playground").count() < 3:  # run on its own (pytest -k)
        for n in range(3):
            run_cell(page, n)
    first, again = View(page, 0), View(page, 2)  # cell 0's and cell 2's views of the one widget w
    first.el("play").click()
    epoch = again.get("state.frame.epoch")
    again.wait(f"p.state.playing && p.state.frame.epoch >= {epoch + 5}")
    clear_output(page, 0)  # one view cleared: the other one still shows it training
    wait(page, "document.querySelectorAll('.autodiff-playground').length === 2")
    again = View(page, 1)
    epoch = again.get("state.frame.epoch")
    again.wait(f"p.state.frame.epoch >= {epoch + 5}")
    kernel_says(page, 3, "(False, True)")
    clear_output(page, 2)  # the last view cleared: the kernel stops training it
    wait(page, "document.querySelectorAll('.autodiff-playground').length === 1")
    kernel_says(page, 3, "(True, False)")
    assert page.errors == [], page.errors
