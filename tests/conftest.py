"""Test-suite set-up: Hypothesis profiles, the docs' screenshots, Chromium for the browser tests.

Hypothesis: `ci` is fixed (derandomized) and quick; `thorough` explores far more. Pick one with
HYPOTHESIS_PROFILE=ci|thorough (`make test` uses ci, `make thorough` thorough). The suite runs in
two processes (pytest-xdist, `-n 2 --dist loadgroup`); tests that share a server or a browser are
one `xdist_group`, so they run in one process, one after another.

Screenshots for the docs: a test marked `docs_images` saves its picture to `docs_image("name.png")`,
a temporary file under `make test` and docs/images/name.png under `make docs-images`
(`pytest --docs-images -m docs_images`), so the suite never changes a tracked file.
"""

from __future__ import annotations

import importlib.util
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.configuration import set_hypothesis_home_dir

TESTS = Path(__file__).resolve().parent
DOCS_IMAGES = TESTS.parent / "docs" / "images"

# Hypothesis keeps its example database and caches in .hypothesis/ of the working directory: the
# suite writes nothing into the checkout, so they live in the system's temporary directory.
if "HYPOTHESIS_STORAGE_DIRECTORY" not in os.environ:
    set_hypothesis_home_dir(Path(tempfile.gettempdir()) / f"autodiff-hypothesis-{os.getuid()}")

settings.register_profile(
    "ci",
    derandomize=True,
    database=None,  # nothing written into the checkout (.hypothesis/); derandomized runs replay anyway
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)
settings.register_profile(
    "thorough",
    max_examples=500,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--docs-images", action="store_true",
                     help="tests marked docs_images write their screenshots into docs/images/ (make docs-images)")


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """tests/' helper modules (servers, pages, tables of ops) hold no doctests: the test files import them,
    and --doctest-modules importing them first, on their own, would only break a circular import."""
    if collection_path.parent == TESTS and collection_path.suffix == ".py" and not collection_path.name.startswith("test_") \
            and collection_path.name not in ("conftest.py", "__init__.py"):
        return True
    return None


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say once why the PyTorch cross-checks did not run, and how to run them."""
    if importlib.util.find_spec("torch") is None:
        skipped = [r for r in terminalreporter.stats.get("skipped", []) if "torch" in str(r.longrepr)]
        if skipped:
            terminalreporter.write_line(f"{len(skipped)} PyTorch cross-checks skipped: torch is not installed "
                                        "(`make torch` installs the pinned CPU build, as CI's .ci/run does)")


@pytest.fixture
def docs_image(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[str], Path]:
    """`docs_image("name.png")`: where a docs screenshot goes, docs/images/ only with --docs-images."""
    folder = DOCS_IMAGES if request.config.getoption("--docs-images") else tmp_path

    def path(name: str) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        return folder / name

    return path


@pytest.fixture(scope="module")
def chromium():
    """Debian's Chromium driven by Playwright, one per test module (skipped, outside CI, where it is missing).

    Per module, not per session: Playwright's sync API keeps an event loop that must not outlive the
    module's tests into other tests that run asyncio in the same process.
    """
    from tests.playground_pages import chromium as launch

    with launch() as browser:
        yield browser


@pytest.fixture(scope="module")
def server():
    """The playground's server on a free port of 127.0.0.1, one per test module (stopped after it)."""
    from tests.playground_server import running_server

    with running_server() as s:
        yield s


@pytest.fixture(scope="module")
def browser(chromium):
    """Chromium for the playground's page tests (a module may define its own `browser` or `server`)."""
    return chromium
