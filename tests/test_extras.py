"""Optional packages: without one, the feature that needs it says in one line which extra installs it."""

from __future__ import annotations

import subprocess
import sys

import pytest


def run_without(module: str, code: str) -> subprocess.CompletedProcess:
    """Run `code` in a fresh interpreter where `module` cannot be imported."""
    return subprocess.run([sys.executable, "-c", f"import sys; sys.modules[{module!r}] = None\n{code}"],
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(("module", "code", "extra"), [
    ("hypothesis", "from autodiff.testing import strategies", "testing"),
    ("hypothesis", "import autodiff.testing.strategies", "testing"),
    ("hypothesis", "import autodiff.testing as t; t.programs", "testing"),
    ("hypothesis", "import autodiff.testing.programs", "testing"),
    ("scipy", "import autodiff as ad; from autodiff.optimize import minimize\n"
              "w = ad.Tensor([1.0], requires_grad=True); minimize(lambda: (w * w).sum(), [w])", "scipy"),
    ("torch", "import nn; nn.to_torch(nn.Linear(2, 2))", "torch"),
    ("onnx", "import nn; nn.export_onnx(nn.Linear(2, 2), '/nonexistent/m.onnx')", "onnx"),
])
def test_a_missing_package_names_its_extra(module, code, extra):
    out = run_without(module, code)
    assert out.returncode == 1
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith("autodiff.extras.MissingExtra: ") and module in last
    assert last.endswith(f"pip install 'autodiff-playground[{extra}]'")


@pytest.mark.parametrize("module", ["hypothesis", "scipy", "matplotlib", "starlette", "uvicorn", "torch", "onnx"])
def test_the_core_and_nn_import_without_any_optional_package(module):
    out = run_without(module, "import autodiff, nn, nn.playground; from autodiff.testing import gradcheck; print('ok')")
    assert out.returncode == 0 and out.stdout == "ok\n", out.stderr


def test_every_extra_named_in_a_hint_exists_and_testing_brings_only_hypothesis():
    import configparser
    from pathlib import Path

    cfg = configparser.ConfigParser()
    cfg.read(Path(__file__).resolve().parent.parent / "setup.cfg")
    extras = {k: [r.strip() for r in v.splitlines() if r.strip()] for k, v in cfg["options.extras_require"].items()}
    assert [r.split(">")[0] for r in extras["testing"]] == ["hypothesis"]
    assert {"playground", "testing", "scipy", "torch", "onnx", "sklearn", "notebooks"} <= set(extras)
