"""Run a page's ```python blocks, in order and in one namespace, and show what each printed under it.

`mkdocs build` runs them through `on_page_markdown`, a MkDocs hook, so the site shows each block's
printed output under it, as it comes out of the code on the day the site is built, never a copy
that could go stale. The same page is also a Jupyter notebook, made from it on demand (one copy of
each page, never two): `notebook` converts, `run_notebook` executes one with nbclient as the test
suite does (tests/test_docs.py); docs/hooks/notebooks.py (`make notebooks`) writes them all.

A page's code writes its figures into `images/` beside the page, a path relative to where the page
runs: docs/ for the site and `make docs-images` (so docs/images/), a temporary directory in the
tests, the notebook's own folder for a notebook.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import re
from pathlib import Path
from typing import Any

FENCE = re.compile(r"^```python\n(.*?)^```\n", re.S | re.M)
# A page whose examples need an optional package says so: <!-- needs: torch, onnx -->
NEEDS = re.compile(r"^<!-- needs: ([\w, ]+) -->$", re.M)
ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
KERNEL = {"name": "python3", "display_name": "Python 3", "language": "python"}


def python_blocks(text: str) -> list[str]:
    """The code of every ```python block in `text`."""
    return FENCE.findall(text)


def missing_modules(text: str) -> list[str]:
    """The optional packages a page's examples need (its `<!-- needs: ... -->` line) that are not installed."""
    needed = [m.strip() for line in NEEDS.findall(text) for m in line.split(",") if m.strip()]
    return [m for m in needed if importlib.util.find_spec(m) is None]


def run_blocks(text: str, name: str, cwd: str | os.PathLike[str] = DOCS) -> list[str]:
    """Execute the blocks of `text` (a page called `name`) in `cwd`; return what each printed.

    `cwd` is docs/ by default, so a page's figures go to docs/images/; the tests pass a temporary directory.
    """
    namespace: dict[str, Any] = {"__name__": f"docs:{Path(name).name}"}
    outputs = []
    here = os.getcwd()
    os.environ.setdefault("MPLBACKEND", "Agg")
    try:
        os.chdir(cwd)
        for i, block in enumerate(python_blocks(text)):
            code = compile(block, f"{name} (python block {i + 1})", "exec")
            printed = io.StringIO()
            with contextlib.redirect_stdout(printed):
                exec(code, namespace)
            outputs.append(printed.getvalue())
    finally:
        os.chdir(here)
    return outputs


def with_outputs(text: str, outputs: list[str]) -> str:
    """`text` with a ```text block of each python block's printed output (if any) right after it."""
    it = iter(outputs)

    def add(match: re.Match[str]) -> str:
        out = next(it)
        return match.group(0) + (f"\n```text\n{out if out.endswith(chr(10)) else out + chr(10)}```\n" if out else "")

    return FENCE.sub(add, text)


def on_page_markdown(markdown: str, page: Any, **kwargs: Any) -> str:
    """MkDocs hook: the page with its examples' printed output under them (DOCS_RUN_EXAMPLES=0: as written)."""
    if os.environ.get("DOCS_RUN_EXAMPLES", "1") == "0":  # the test suite runs the examples once, in test_docs.py
        return markdown
    missing = missing_modules(markdown)
    if missing:  # the page still builds, without its output, on a machine without the extra
        return markdown.replace("\n", f"\n\n*(Built without {', '.join(missing)}: the examples' output is not shown.)*\n", 1)
    return with_outputs(markdown, run_blocks(markdown, f"docs/{page.file.src_path}"))


def notebook(path: str | os.PathLike[str]) -> Any:
    """The page at `path` as a notebook: each ```python block a code cell, the text between them markdown."""
    import nbformat

    text, cells, at = Path(path).read_text(), [], 0
    for match in FENCE.finditer(text):
        if text[at : match.start()].strip():
            cells.append(nbformat.v4.new_markdown_cell(text[at : match.start()].strip("\n")))
        cells.append(nbformat.v4.new_code_cell(match.group(1).rstrip("\n")))
        at = match.end()
    if text[at:].strip():
        cells.append(nbformat.v4.new_markdown_cell(text[at:].strip("\n")))
    return nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": KERNEL})


def run_notebook(nb: Any, cwd: str | os.PathLike[str], timeout: float = 600, env: dict[str, str] | None = None) -> Any:
    """Execute `nb` in a fresh kernel running in `cwd` (its figures go to `cwd`/images/); return it, with its outputs.

    `env` is the kernel's environment (default: this process's).
    """
    import nbclient

    client = nbclient.NotebookClient(nb, timeout=timeout, kernel_name=KERNEL["name"], resources={"metadata": {"path": str(cwd)}})
    client.execute(**({"env": env} if env is not None else {}))
    return nb
