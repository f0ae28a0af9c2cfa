"""The docs pages as notebooks: `make notebooks` writes them executed, with their outputs and figures
beside them, and JupyterLab (`make lab`) opens and runs one in Chromium, figure and all."""

from __future__ import annotations

import json
import os
import runpy
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
notebooks = runpy.run_path(str(DOCS / "hooks" / "notebooks.py"))


def test_make_notebooks_writes_them_executed_with_their_figures_beside_them(tmp_path, monkeypatch):
    pytest.importorskip("nbclient")
    nbformat = pytest.importorskip("nbformat")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # where the command runs does not matter
    out = tmp_path / "notebooks"
    (written,) = notebooks["write_all"](out, pages=[DOCS / "xor.md"])
    assert written == out / "xor.ipynb"
    nb = nbformat.read(written, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(c.execution_count for c in code)  # executed, in order
    assert any(o.get("text") for c in code for o in c.outputs)  # with what the cells printed
    assert not [o for c in code for o in c.outputs if o.output_type == "error"]
    for name in ("perceptron.png", "xor.png"):  # drawn by its code, where its text shows them
        assert (out / "images" / name).stat().st_size > 0
        assert any(f"](images/{name})" in c.source for c in nb.cells if c.cell_type == "markdown")
    assert list(elsewhere.iterdir()) == []


# --- JupyterLab in Chromium -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def lab(tmp_path_factory) -> Iterator[SimpleNamespace]:
    """JupyterLab on 127.0.0.1, a free port and a token, serving a fresh folder; stopped afterwards."""
    pytest.importorskip("jupyterlab")
    folder = tmp_path_factory.mktemp("lab")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    token = secrets.token_hex(16)
    home = tmp_path_factory.mktemp("jupyter-home")  # its settings, workspaces and runtime files go here
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(home / "config"), "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
           "IPYTHONDIR": str(home / "ipython")}
    env.pop("MPLBACKEND", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
         "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={folder}",
         "--LabApp.expose_app_in_browser=True"],  # window.jupyterapp: the test waits on the app's own state
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env, cwd=folder,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:  # the server answers its status once it listens
            assert process.poll() is None, process.stderr.read()
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=5):
                    break
            except (urllib.error.URLError, ConnectionError):
                assert time.monotonic() < deadline, "JupyterLab did not start within 120 s"
                time.sleep(0.2)
        yield SimpleNamespace(url=base, token=token, folder=folder)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stderr.close()


KERNEL_READY = """() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
  return !!k && k.connectionStatus === 'connected' && k.status === 'idle' && w.content.widgets.length > 0; }"""
ALL_RAN = """() => { const w = window.jupyterapp.shell.currentWidget;
  return w.content.widgets.filter(c => c.model.type === 'code').every(c => c.model.executionCount !== null)
    && w.sessionContext.session.kernel.status === 'idle'; }"""
OUTPUT_TYPES = """window.jupyterapp.shell.currentWidget.content.widgets.filter(c => c.model.type === 'code')
  .flatMap(c => c.model.outputs.toJSON().map(o => o.output_type))"""


@pytest.mark.xdist_group("notebooks-lab")
def test_jupyterlab_opens_a_notebook_runs_it_and_shows_its_figures(lab, chromium):
    pytest.importorskip("nbformat").write(notebooks["examples"]["notebook"](DOCS / "model-selection.md"),
                                          lab.folder / "model-selection.ipynb")
    (lab.folder / "images").mkdir()
    base, token = lab.url, lab.token
    # start its kernel first, as opening it from the file browser does, so no kernel dialog asks
    request = urllib.request.Request(f"{base}/api/sessions?token={token}", method="POST", headers={"Content-Type": "application/json"},
                                     data=json.dumps({"path": "model-selection.ipynb", "type": "notebook", "name": "",
                                                      "kernel": {"name": "python3"}}).encode())
    with urllib.request.urlopen(request, timeout=120) as r:
        assert r.status == 201
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = context.new_page()
        page.goto(f"{base}/lab/tree/model-selection.ipynb?token={token}")
        page.wait_for_function(KERNEL_READY, timeout=120000)
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
        page.wait_for_function(ALL_RAN, timeout=300000)
        kinds = page.evaluate(OUTPUT_TYPES)
        assert "error" not in kinds and "execute_result" in kinds, kinds
        # the network's graph, the value of the last cell, drawn inline
        page.wait_for_function("[...document.querySelectorAll('.jp-RenderedSVG img, .jp-RenderedSVG svg')]"
                               ".some(e => (e.naturalWidth || e.getBoundingClientRect().width) > 100)")
        assert (lab.folder / "images" / "model-selection-lambda.png").stat().st_size > 0  # beside the notebook
        page.reload()  # opened again, its text shows the figures its code drew
        page.wait_for_function(KERNEL_READY, timeout=120000)
        page.wait_for_function("[...document.querySelectorAll('.jp-RenderedMarkdown img')]"
                               ".some(i => i.alt.startsWith('Training and cross-validated error') && i.naturalWidth > 0)")
    finally:
        context.close()
