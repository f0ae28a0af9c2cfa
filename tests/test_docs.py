"""Docs that run: every ```python block in README.md and docs/ is executed, in order, one
namespace per file; every script in docs/examples/ runs to completion."""

from __future__ import annotations

import re
import runpy
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
SCRIPTS = sorted((ROOT / "docs" / "examples").glob("*.py"))
FENCE = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def python_blocks(text: str) -> list[str]:
    return FENCE.findall(text)


def test_fence_pattern_finds_blocks():
    assert python_blocks("x\n```python\na = 1\n```\n```sh\nls\n```\n```python\nb = 2\n```\n") == ["a = 1\n", "b = 2\n"]


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_page_examples_run(page, monkeypatch):
    monkeypatch.chdir(ROOT)  # pages write their figures next to themselves, under docs/
    monkeypatch.setenv("MPLBACKEND", "Agg")
    blocks = python_blocks(page.read_text())
    namespace = {"__name__": f"docs:{page.name}"}
    for i, block in enumerate(blocks):
        code = compile(block, f"{page.relative_to(ROOT)} (python block {i + 1})", "exec")
        exec(code, namespace)


def test_readme_has_examples():
    assert python_blocks((ROOT / "README.md").read_text())


@pytest.mark.parametrize("script", SCRIPTS, ids=[p.name for p in SCRIPTS])
def test_example_scripts_run(script, monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    runpy.run_path(str(script), run_name="__main__")
    assert capsys.readouterr().out  # each example reports what it did
