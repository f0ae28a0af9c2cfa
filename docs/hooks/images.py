"""`make docs-images`: redraw every picture the docs show, into docs/images/.

    python docs/hooks/images.py

Each is drawn by the code that shows it or checks it, never by hand:
- figures a page's own examples draw (`fig.savefig(images / "xor.png")`): every page's ```python
  blocks run from docs/, so `images/` is docs/images/ (docs/hooks/examples.py);
- screenshots of the browser playground taken by a test: the tests marked `docs_images` save them
  with the `docs_image("name.png")` fixture (tests/conftest.py), into a temporary directory during
  `make test` and into docs/images/ here, where they run with `pytest --docs-images -m docs_images`;
- the playground at laptop window sizes, playground-<w>x<h>.png: `python -m tests.playground_screens
  docs/images` (the pages tests/test_playground_layout.py checks).

A new screenshot is one more test: mark it `@pytest.mark.docs_images`, take the `docs_image` fixture
and save with `page.screenshot(path=str(docs_image("playground-foo.png")))`; show it on a page as
`![...](images/playground-foo.png)` and run `make docs-images` (tests/test_docs_site.py fails while a
page shows a picture that nothing draws).
"""

from __future__ import annotations

import os
import runpy
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
examples = runpy.run_path(str(HERE / "examples.py"))
ROOT, DOCS = examples["ROOT"], examples["DOCS"]


def draw_figures() -> None:
    """Run every page's examples from docs/, so their figures land in docs/images/."""
    os.environ.setdefault("MPLBACKEND", "Agg")
    (DOCS / "images").mkdir(exist_ok=True)
    for page in sorted(DOCS.glob("*.md")):
        text = page.read_text()
        if not examples["python_blocks"](text):
            continue
        missing = examples["missing_modules"](text)
        if missing:
            print(f"  {page.name}: skipped, its examples need {', '.join(missing)}")
            continue
        started = time.monotonic()
        examples["run_blocks"](text, f"docs/{page.name}", cwd=DOCS)
        print(f"  {page.name}: ran in {time.monotonic() - started:.0f} s")


def take_screenshots() -> int:
    """Run the tests marked docs_images with --docs-images, then tests.playground_screens; return 0 if both succeed."""
    marked = subprocess.call([sys.executable, "-m", "pytest", "-q", "-p", "no:xdist", "-m", "docs_images", "--docs-images",
                              "tests"], cwd=ROOT)
    sizes = subprocess.call([sys.executable, "-m", "tests.playground_screens", str(DOCS / "images")], cwd=ROOT)
    return marked or sizes


if __name__ == "__main__":
    before = {p: p.stat().st_mtime for p in (DOCS / "images").glob("*")}
    print("Drawing the docs pages' figures into docs/images/ (every example runs: a few minutes) ...")
    draw_figures()
    print("Taking the playground's screenshots (the tests marked docs_images) ...")
    status = take_screenshots()
    changed = sorted(p.name for p in (DOCS / "images").glob("*") if before.get(p) != p.stat().st_mtime)
    print(f"wrote {len(changed)} files in docs/images/: {', '.join(changed)}")
    sys.exit(status)
