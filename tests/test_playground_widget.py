"""The playground in a notebook (issue 27): `nn.playground.widget(dataset="spiral", hidden=[8, 8])` in JupyterLab,
driven by Playwright in Chromium: it draws the page, trains in the kernel, plays, pauses, takes a preset
and exports, with no server of ours and nothing from a CDN.
"""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from .playground_pages import chromium, wait

pytest.importorskip("anywidget")
pytest.importorskip("jupyterlab")
nbformat = pytest.importorskip("nbformat")
pytestmark = pytest.mark.xdist_group("playground-widget")
ROOT = Path(__file__).resolve().parent.parent
CELL = 'import nn.playground\nw = nn.playground.widget(dataset="spiral", hidden=[8, 8])\nw'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab on 127.0.0.1 serving a folder with one notebook, whose kernel imports this checkout."""
    folder = tmp_path_factory.mktemp("lab")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(CELL)])
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


def test_the_widget_trains_in_the_kernel_with_the_pages_controls(lab, browser):
    url, _folder = lab
    context = browser.new_context(viewport={"width": 1440, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    outside: list[str] = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith((url, "blob:", "data:")) else None)
    page.goto(url + "lab/tree/playground.ipynb")
    page.wait_for_selector(".jp-Notebook .jp-Cell .cm-content", timeout=120000)
    # the kernel is up and idle, and the cell's editor takes keys
    wait(page, "document.querySelector('#jp-main-statusbar') !== null"
               " && document.querySelector('#jp-main-statusbar').innerText.includes('| Idle')", 120000)
    page.click(".jp-Notebook .jp-Cell .cm-content")
    wait(page, "document.activeElement && document.activeElement.closest('.jp-Cell') !== null")
    page.keyboard.press("Shift+Enter")
    page.wait_for_selector(".autodiff-playground #boundary", timeout=120000)
    wait(page, "window.playground && window.playground.state.settings && window.playground.state.frame", 120000)
    settings = page.evaluate("window.playground.state.settings")
    assert (settings["dataset"], settings["hidden"]) == ("spiral", "8,8")
    assert page.inner_text(".autodiff-playground #connection") == "connected"
    assert "playground.ipynb" in page.url  # the set-up is not written into JupyterLab's address
    # the controls reach the kernel: play, then pause
    page.locator(".autodiff-playground #play").click()
    wait(page, "parseInt(document.querySelector('.autodiff-playground #epoch').textContent) >= 10", 120000)
    page.locator(".autodiff-playground #play").click()
    wait(page, "!window.playground.state.playing", 30000)
    assert page.evaluate("window.playground.history.rows.length") >= 11
    # a preset restarts it on its own set-up
    page.locator(".autodiff-playground #preset-4").click()
    wait(page, "window.playground.state.settings.dataset === 'circle' && window.playground.state.frame.sizes.join() === '2,3,2'"
               " && window.playground.state.frame.epoch === 0", 60000)
    page.locator(".autodiff-playground #step").click()
    wait(page, "window.playground.state.frame.epoch === 1", 60000)
    assert "Local minima" in page.inner_text(".autodiff-playground #preset-text")
    # the graph and its legend came from the kernel
    wait(page, "document.querySelector('.autodiff-playground #graph svg') !== null", 60000)
    assert "W⁽¹⁾" in page.inner_text(".autodiff-playground #explain")
    # export: the weights the kernel trained, as .npz
    with page.expect_download() as download:
        page.locator(".autodiff-playground #export-weights").click()
    data = Path(download.value.path()).read_bytes()
    with np.load(io.BytesIO(data), allow_pickle=False) as weights:
        assert weights["0.weight"].shape == (3, 2)
    assert errors == [], errors
    assert outside == [], outside  # nothing from a CDN
    # JupyterLab's own looks are untouched: the page's style sheet is scoped to the widget
    assert page.evaluate("getComputedStyle(document.body).minWidth") in ("0px", "auto")
    json.dumps(settings)
    context.close()
