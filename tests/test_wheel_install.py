"""Install paths outside `make`: the wheel in a fresh virtual environment, first bare, then with its extra."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


# The fresh environment sees only what it installed: no PYTHONPATH pointing back at a checkout.
CLEAN_ENV = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}


def run(*args, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=600, env=CLEAN_ENV, **kw)


# Built from a copy of the sources, since setuptools writes build/ and *.egg-info/ beside them.
NOT_SOURCES = shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".hypothesis", "site",
                                     "notebooks", "playground-out", "docs", "benchmarks", "tests")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out, src = tmp_path_factory.mktemp("dist"), tmp_path_factory.mktemp("src") / "autodiff"
    shutil.copytree(ROOT, src, ignore=NOT_SOURCES)
    built = run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-v", "-w", out, src)
    assert built.returncode == 0, built.stderr
    warnings = [line.strip() for line in (built.stdout + built.stderr).splitlines() if "Warning" in line or "would be ignored" in line]
    assert not warnings, warnings  # package data declared as such: setuptools has nothing to warn about
    (whl,) = out.glob("*.whl")
    return whl


def test_the_wheel_carries_both_packages_and_the_page(wheel):
    assert wheel.name.startswith("autodiff_playground-")
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in ("autodiff/__init__.py", "nn/__init__.py", "nn/playground/static/index.html",
                 "nn/playground/static/js/main.js", "nn/playground/serve/app.py", "autodiff/py.typed"):
        assert name in names
    assert not [n for n in names if n.startswith(("tests/", "docs/", "benchmarks/"))]


def test_a_fresh_environment_runs_the_command_bare_then_with_its_extra(wheel, tmp_path):
    env = tmp_path / "env"
    assert run(sys.executable, "-m", "venv", env).returncode == 0
    pip, cli, py = env / "bin" / "pip", env / "bin" / "autodiff-playground", env / "bin" / "python"
    bare = run(pip, "install", "-q", wheel)
    assert bare.returncode == 0, bare.stderr
    assert run(py, "-c", "import autodiff, nn; print(nn.MLP([2, 3, 2]))").returncode == 0
    out = tmp_path / "out"
    missing = run(cli, "--quiet", "--epochs", "2", "--n", "40", "--out", out, cwd=tmp_path)
    assert missing.returncode == 1 and missing.stdout == "" and not out.exists()
    assert missing.stderr == ("autodiff-playground: error: drawing the pictures needs matplotlib, in the playground "
                              "extra: pip install 'autodiff-playground[playground]'\n")
    extra = run(pip, "install", "-q", f"{wheel}[playground]")
    assert extra.returncode == 0, extra.stderr
    done = run(cli, "--quiet", "--epochs", "2", "--n", "40", "--out", out, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert {p.name for p in out.iterdir()} >= {"boundary.png", "loss.png", "weights.npz"}
    served = subprocess.Popen([cli, "--serve", "--port", "0", "--no-open"], stdout=subprocess.PIPE, text=True, cwd=tmp_path,
                              env=CLEAN_ENV)
    try:
        first = served.stdout.readline()
        assert first.startswith("serving on http://127.0.0.1:")
        import urllib.request

        with urllib.request.urlopen(first.split()[-1] + "static/js/main.js", timeout=10) as r:
            assert b"WebSocket" in r.read()  # the page's files come from the installed package
    finally:
        served.terminate()
        served.wait(timeout=15)
