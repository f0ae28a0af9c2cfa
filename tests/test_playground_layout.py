"""The page fits a laptop (issue 27, item 3): at 1024×768, 1280×720, 1366×768 and 1440×900 the network,
the output heatmap, the controls the presets change and the active question's sentence are on screen
together without scrolling, for every preset; checked in Chromium by the elements' bounding boxes.

The same pages make the docs' screenshots: `python -m tests.playground_screens docs/images`.
"""

from __future__ import annotations

import pytest

from .playground_pages import click_answered, close, open_playground
from .playground_screens import SIZES, offscreen, scrolls, trained_page

pytestmark = pytest.mark.xdist_group("playground-round2")


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_everything_a_question_needs_is_on_screen_together(server, browser, width, height):
    page = open_playground(browser, server.url, width, height)
    for preset in range(1, 10):
        click_answered(page, f"#preset-{preset}")
        assert page.inner_text("#preset-text").startswith(f"{preset}.")
        assert offscreen(page) == {}, (preset, offscreen(page))
        assert scrolls(page) == {"x": 0, "y": 0}
        units = page.evaluate("[...document.querySelectorAll('#network .node')].map((n) => n.getBoundingClientRect().bottom)")
        assert max(units) <= height, preset  # every unit of the network, not just its box
    close(page)


def test_a_trained_page_at_1366_by_768_shows_its_question_beside_the_network(server, browser, tmp_path):
    """As a student's laptop shows it after a few seconds of play; the same function makes the docs' pictures."""
    page = trained_page(browser, server.url, 1366, 768)
    assert offscreen(page) == {}
    assert "5. The squares" in page.inner_text("#preset-text")
    page.screenshot(path=str(tmp_path / "playground-1366x768.png"))
    assert (tmp_path / "playground-1366x768.png").stat().st_size > 20000
    close(page)
