"""The docs site builds: `mkdocs build --strict` (broken links, missing pages or images fail it)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
IMAGE = re.compile(r"!\[[^\]]*\]\(([^)\s]+)\)")


def test_every_page_is_in_the_nav():
    nav = (ROOT / "mkdocs.yml").read_text()
    for page in sorted(DOCS.glob("*.md")):
        assert f": {page.name}" in nav, f"{page.name} is missing from mkdocs.yml's nav"


@pytest.mark.parametrize("page", sorted(DOCS.glob("*.md")), ids=lambda p: p.name)
def test_every_figure_is_drawn_by_its_page(page):
    """A figure shown on a page must be written by that page's own code (into images/, beside it), or, for a
    screenshot of the browser playground, by a test marked docs_images that saves it with `docs_image(name)`:
    `make docs-images` redraws them all."""
    text = page.read_text()
    for target in IMAGE.findall(text):
        assert target.startswith("images/"), f"{page.name}: figure {target} is not under docs/images/"
        name = Path(target).name
        assert name in text.replace(f"({target})", "") or name in screenshots(), f"{page.name}: no code draws {target}"


def screenshots() -> set[str]:
    """The screenshots `make docs-images` takes (docs/hooks/images.py): docs_image("name") in a test, and
    tests.playground_screens' window sizes."""
    from .playground_screens import SIZES

    tests = "".join(p.read_text() for p in (ROOT / "tests").glob("test_*.py"))
    return set(re.findall(r'docs_image\("([^"]+)"\)', tests)) | {f"playground-{w}x{h}.png" for w, h in SIZES}


def test_the_readme_shows_only_pictures_that_make_docs_images_draws():
    text = (ROOT / "README.md").read_text()
    pages = "".join(p.read_text() for p in DOCS.glob("*.md"))
    for target in re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", text):
        assert target.startswith("docs/images/"), target
        name = Path(target).name
        assert name in screenshots() or f'{name}"' in pages, f"README.md: nothing draws {target}"


def test_mkdocs_build_strict(tmp_path):
    pytest.importorskip("mkdocs", reason="mkdocs is in the `docs` extra")
    if not all((DOCS / "images" / name).exists() for page in DOCS.glob("*.md") for name in
               (Path(t).name for t in IMAGE.findall(page.read_text()))):
        pytest.skip("some figures are not drawn yet: `make docs-images` draws them")
    site = tmp_path / "site"
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site), "--config-file", str(ROOT / "mkdocs.yml")],
        capture_output=True, text=True, cwd=ROOT, timeout=300,
        env={**os.environ, "DOCS_RUN_EXAMPLES": "0"},  # tests/test_docs.py runs them; `make docs` shows their output
    )
    assert proc.returncode == 0, proc.stderr
    for page in DOCS.glob("*.md"):
        built = site / ("index.html" if page.stem == "index" else f"{page.stem}/index.html")
        assert built.exists(), f"{page.name} was not built"
    assert (site / "images" / "universal.png").exists()
    # readable offline: no script, style sheet or font from another host (links to read elsewhere are fine)
    for html in site.rglob("*.html"):
        text = html.read_text()
        assert not re.findall(r'<(?:script|link|img)\b[^>]*(?:src|href)="(?:https?:)?//', text), html
    # every graph opens at full size, since a wide graph is unreadable at page width
    for page in DOCS.glob("*.md"):
        for target in re.findall(r"!\[[^\]]*\]\((images/[^)\s]+\.svg)\)", page.read_text()):
            assert f"]({target})]({target}" in page.read_text(), f"{page.name}: {target} is not a link to itself"
