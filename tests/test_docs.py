"""Docs that run: every ```python block in README.md and docs/ is executed, in order, one
namespace per file: README's directly, each docs page as the Jupyter notebook made of it,
in a kernel (docs/hooks/examples.py, which also shows their output on the docs site); every
script in docs/examples/ runs to completion. Each runs in a temporary directory: the figures
the pages draw go there, never into docs/images/ (`make docs-images` redraws those)."""

from __future__ import annotations

import re
import runpy
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = [p for p in sorted((ROOT / "docs").glob("*.md")) if "```python" in p.read_text()]
SCRIPTS = sorted((ROOT / "docs" / "examples").glob("*.py"))
examples = runpy.run_path(str(ROOT / "docs" / "hooks" / "examples.py"))
python_blocks, run_blocks, with_outputs = examples["python_blocks"], examples["run_blocks"], examples["with_outputs"]
notebook, run_notebook = examples["notebook"], examples["run_notebook"]
missing_modules = examples["missing_modules"]


def test_fence_pattern_finds_blocks():
    assert python_blocks("x\n```python\na = 1\n```\n```sh\nls\n```\n```python\nb = 2\n```\n") == ["a = 1\n", "b = 2\n"]


# What a page's notebook must show inline, beyond printed text
INLINE = {"model-selection.md": "image/svg+xml"}  # a graphviz.Digraph as a cell's value is drawn


def test_readme_examples_run(monkeypatch, tmp_path):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    text = (ROOT / "README.md").read_text()
    assert len(run_blocks(text, "README.md", cwd=tmp_path)) == len(python_blocks(text))


@pytest.mark.parametrize("page", DOCS, ids=[p.name for p in DOCS])
def test_page_runs_as_a_notebook(page, monkeypatch, tmp_path):
    pytest.importorskip("nbclient")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    text = page.read_text()
    if missing_modules(text):
        pytest.skip(f"its examples need {', '.join(missing_modules(text))}")
    (tmp_path / "images").mkdir()  # where a page's figures go, as docs/images/ is beside the pages
    nb = run_notebook(notebook(page), cwd=tmp_path)  # a failing cell raises, naming the page's cell and its traceback
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert [c.source.strip() for c in code] == [b.strip() for b in python_blocks(text)]
    if page.name in INLINE:
        assert any(INLINE[page.name] in o.get("data", {}) for c in code for o in c.outputs)
    for figure in re.findall(r"!\[[^\]]*\]\(images/([^)\s]+)\)", text):  # what the page draws, it drew here
        if f'{figure}"' in text:  # drawn by this page's code, not a screenshot
            assert (tmp_path / "images" / figure).stat().st_size > 0, figure


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
def test_example_scripts_run(script, monkeypatch, capsys, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    runpy.run_path(str(script), run_name="__main__")
    assert capsys.readouterr().out  # each example reports what it did


def test_the_index_says_five_lines_and_shows_five():
    text = (ROOT / "docs" / "index.md").read_text()
    block = python_blocks(text[text.index("## In five lines"):])[0]
    assert len(block.strip().splitlines()) == 5, block
