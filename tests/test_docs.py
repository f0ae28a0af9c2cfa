"""Docs that run: every ```python block in README.md and docs/ is executed, in order, one
namespace per file (by docs/hooks/examples.py, which also shows their output on the docs site);
every script in docs/examples/ runs to completion."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
SCRIPTS = sorted((ROOT / "docs" / "examples").glob("*.py"))
examples = runpy.run_path(str(ROOT / "docs" / "hooks" / "examples.py"))
python_blocks, run_blocks, with_outputs = examples["python_blocks"], examples["run_blocks"], examples["with_outputs"]
missing_modules = examples["missing_modules"]


def test_fence_pattern_finds_blocks():
    assert python_blocks("x\n```python\na = 1\n```\n```sh\nls\n```\n```python\nb = 2\n```\n") == ["a = 1\n", "b = 2\n"]


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_page_examples_run(page, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    text = page.read_text()
    if missing_modules(text):
        pytest.skip(f"its examples need {', '.join(missing_modules(text))}")
    outputs = run_blocks(text, str(page.relative_to(ROOT)))
    assert len(outputs) == len(python_blocks(text))


def test_printed_output_goes_under_its_block():
    text = "intro\n```python\nprint('a')\n```\nmiddle\n```python\nx = 1\n```\n```python\nprint(x + 1, end='')\n```\n"
    shown = with_outputs(text, run_blocks(text, "example.md"))
    assert shown == ("intro\n```python\nprint('a')\n```\n\n```text\na\n```\nmiddle\n```python\nx = 1\n```\n"
                     "```python\nprint(x + 1, end='')\n```\n\n```text\n2\n```\n")


def test_a_page_names_the_optional_packages_it_needs():
    assert missing_modules("<!-- needs: numpy, no_such_module_here -->\ntext\n") == ["no_such_module_here"]
    assert missing_modules("no such line") == []


def test_readme_has_examples():
    assert python_blocks((ROOT / "README.md").read_text())


@pytest.mark.parametrize("script", SCRIPTS, ids=[p.name for p in SCRIPTS])
def test_example_scripts_run(script, monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    runpy.run_path(str(script), run_name="__main__")
    assert capsys.readouterr().out  # each example reports what it did
