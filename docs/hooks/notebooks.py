"""`make notebooks`: every docs page with examples as a Jupyter notebook, executed, with its outputs.

    python docs/hooks/notebooks.py [DIR]      (default DIR: notebooks/)

Each page becomes DIR/<page>.ipynb (docs/hooks/examples.py converts; the page stays the one copy)
and is run in a fresh kernel whose working directory is DIR, so the figures its code draws land in
DIR/images/, right where its text shows them, and the notebook keeps what every cell printed and
displayed. Open them with `make lab`; run again from JupyterLab, a notebook's kernel starts in the
notebook's folder, so it finds and writes its figures there too, wherever Jupyter was started.
Screenshots a page shows but does not draw are copied from docs/images/. A page whose examples need
a package that is not installed is written without outputs, and says so.
"""

from __future__ import annotations

import os
import re
import runpy
import shutil
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
examples = runpy.run_path(str(HERE / "examples.py"))
DOCS = examples["DOCS"]
IMAGE = re.compile(r"!\[[^\]]*\]\((images/[^)\s]+)\)")


def write_all(out: Path, pages: list[Path] | None = None) -> list[Path]:
    """Write and execute the notebook of each of `pages` (default: every page with examples) into `out`."""
    import nbformat

    out.mkdir(parents=True, exist_ok=True)
    (out / "images").mkdir(exist_ok=True)
    if pages is None:
        pages = [p for p in sorted(DOCS.glob("*.md")) if examples["python_blocks"](p.read_text())]
    # the kernel's own figure backend, so a figure left as a cell's value is drawn inline
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    written = []
    for i, page in enumerate(pages, 1):
        text, target = page.read_text(), out / f"{page.stem}.ipynb"
        for image in IMAGE.findall(text):  # screenshots taken by `make docs-images`, not by the page's code
            if (DOCS / image).exists() and not (out / image).exists():
                shutil.copy2(DOCS / image, out / image)
        nb = examples["notebook"](page)
        missing = examples["missing_modules"](text)
        started = time.monotonic()
        print(f"[{i}/{len(pages)}] {target} ...", end=" ", flush=True)
        if missing:
            nb.cells.insert(0, nbformat.v4.new_markdown_cell(f"*Not run here: its examples need {', '.join(missing)}.*"))
            print(f"not run (needs {', '.join(missing)})")
        else:
            examples["run_notebook"](nb, cwd=out, env=env)
            print(f"ran in {time.monotonic() - started:.0f} s")
        nbformat.write(nb, target)
        written.append(target)
    return written


if __name__ == "__main__":
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else "notebooks").resolve()
    print(f"Writing the docs pages as executed notebooks into {folder}/ (a few minutes: every example runs) ...")
    write_all(folder)
    print(f"done: open them with `make lab` (JupyterLab on {folder}/)")
