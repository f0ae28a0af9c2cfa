"""The browser playground in a real browser: Playwright drives Debian's Chromium against `autodiff-playground --serve`.

`make test` installs Chromium when it is missing. Outside CI a machine without it skips these
tests; in CI (CI=true) a missing browser fails them, so they cannot silently stop running.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

import nn

from .playground_server import running_server

pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.xdist_group("playground-browser")  # one server and one Chromium for the file, in one process

# Counts the socket's messages by type, both ways, before the page's own handlers see them, so a test
# can wait until the server has answered everything the page sent (see `settled`).
COUNT_MESSAGES = """
(() => {
  const Native = window.WebSocket;
  const count = (where, data) => {
    try { const t = JSON.parse(data).type; where[t] = (where[t] || 0) + 1; } catch (e) { /* not ours to judge */ }
  };
  window.__socket = { sent: {}, received: {} };
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener("message", (e) => count(window.__socket.received, e.data));
    }
    send(data) { count(window.__socket.sent, data); return super.send(data); }
  };
})();
"""
# The server answers every `set` with exactly one `settings` (and sends one more when a page connects),
# in order; once they match, no reply still on its way can overwrite a control the test is about to use.
SETTLED = "window.__socket.received.settings === 1 + (window.__socket.sent.set || 0)"


@pytest.fixture(scope="module")
def server():
    with running_server() as s:
        yield s


@pytest.fixture
def open_page(server, chromium):
    """`open_page(fragment="")`: a fresh page at the playground, connected, drawn, and every reply received."""
    contexts = []

    def opener(fragment: str = ""):
        context = chromium.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        context.add_init_script(COUNT_MESSAGES)
        contexts.append(context)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.errors = errors
        page.goto(server.url + (f"#{fragment}" if fragment else ""))
        page.wait_for_selector("#graph svg", timeout=20000)
        page.wait_for_function("document.getElementById('connection').textContent === 'connected'")
        settled(page)
        if fragment:  # the link's data, frame and graph come after its settings; its status comes last
            wait(page, "(window.__socket.received.status || 0) >= 1")
        return page

    yield opener
    for context in contexts:
        for page in context.pages:
            assert page.errors == [], page.errors  # no JavaScript error on any page
        context.close()


def settled(page) -> None:
    """Wait until the server has answered every setting the page sent."""
    page.wait_for_function(SETTLED, timeout=20000)


def epoch(page) -> int:
    return int(page.inner_text("#epoch"))  # a plain number


def fragment(page) -> dict[str, str]:
    text = page.evaluate("location.hash").lstrip("#")
    return dict(part.split("=", 1) for part in text.split("&") if part)


def js(page, expression: str):
    return page.evaluate(expression)


def wait(page, expression: str, timeout: float = 20000) -> None:
    page.wait_for_function(expression, timeout=timeout)


def nodes(page) -> int:
    return page.locator("#layers .node").count()


def canvas_data(page, id_: str) -> str:
    return js(page, f"document.getElementById('{id_}').toDataURL()")


def set_range(page, id_: str, value: str) -> None:
    page.evaluate(
        "([id, v]) => { const el = document.getElementById(id); el.value = v; el.dispatchEvent(new Event('input'));"
        " el.dispatchEvent(new Event('change')); }",
        [id_, value],
    )


def round_trip(page) -> None:
    """Wait until the server has answered a message sent now, so every message it sent before has arrived."""
    graphs = js(page, "window.__socket.received.graph || 0")
    page.click("#graph-refresh")
    wait(page, f"(window.__socket.received.graph || 0) > {graphs}")


@pytest.mark.docs_images
def test_play_trains_the_default_spiral_to_95_percent_within_a_minute(open_page, docs_image):
    page = open_page()
    assert epoch(page) == 0 and page.input_value("#hidden") == "8,8"
    start = float(page.inner_text("#loss-train"))
    page.click("#play")
    wait(page, "parseInt(document.getElementById('epoch').textContent) > 10")
    # the lecture's bar: ≥ 95 % held-out accuracy within 60 s of play
    wait(page, "parseFloat(document.getElementById('acc-test').textContent) >= 95", timeout=60000)
    page.click("#play")
    wait(page, "!document.getElementById('play').classList.contains('playing')")
    round_trip(page)  # the last frame sent while playing has arrived
    for _ in range(100):  # SGD with momentum is spiky: step on to an epoch above the bar for the picture
        if float(page.inner_text("#acc-test").split()[0]) >= 95:
            break
        before = epoch(page)
        page.click("#step")
        wait(page, f"parseInt(document.getElementById('epoch').textContent) > {before}")
    page.wait_for_selector("#graph svg")
    # for docs/playground.md and the README: the page as a student sees it (make docs-images keeps it)
    page.screenshot(path=str(docs_image("playground-browser.png")), full_page=True)
    assert float(page.inner_text("#loss-train")) < 0.5 * start
    stopped = epoch(page)
    round_trip(page)
    round_trip(page)  # a playing server trains a frame between answering two messages sent one after the other
    assert epoch(page) == stopped  # paused means paused
    assert js(page, "window.playground.history.rows.length") > 10


def test_step_trains_one_epoch_and_reset_starts_again(open_page):
    page = open_page()
    before = page.inner_text("#loss-train")
    page.click("#step")
    wait(page, "document.getElementById('epoch').textContent === '1'")
    page.click("#step")
    wait(page, "document.getElementById('epoch').textContent === '2'")
    page.click("#reset")
    wait(page, "document.getElementById('epoch').textContent === '0'")
    assert page.inner_text("#loss-train") == before  # the same starting weights


def test_a_link_reproduces_the_set_up(open_page):
    page = open_page("dataset=xor&hidden=4,2&activation=relu&lr=0.1&momentum=0.5&regularization=L2&reg-rate=0.01"
                     "&batch-size=20&noise=20&train-ratio=70&features=x1,x2,x1x2&seed=4&speed=10&show-test=1")
    wait(page, "document.getElementById('dataset').value === 'xor'")
    values = {k: page.input_value(f"#{k}") for k in ("dataset", "hidden", "activation", "lr", "momentum", "regularization",
                                                    "reg-rate", "batch-size", "noise", "train-ratio", "seed", "speed")}
    assert values == {"dataset": "xor", "hidden": "4,2", "activation": "relu", "lr": "0.1", "momentum": "0.5",
                      "regularization": "L2", "reg-rate": "0.01", "batch-size": "20", "noise": "20", "train-ratio": "70",
                      "seed": "4", "speed": "10"}
    assert page.is_checked("#feature-x1x2") and not page.is_checked("#feature-x1sq") and page.is_checked("#show-test")
    wait(page, "document.querySelectorAll('#layers .node').length === 8")  # 4 + 2 hidden units, 2 outputs
    wait(page, "window.playground.state.data.train.length === 350")
    f = fragment(page)
    assert f["hidden"] == "4,2" and f["features"] == "x1,x2,x1x2" and f["show-test"] == "1"


def test_a_link_with_a_bad_value_applies_the_rest_and_shows_the_error(open_page):
    page = open_page("dataset=circle&lr=-3&hidden=abc")
    wait(page, "document.getElementById('dataset').value === 'circle'")
    assert "outside" in page.inner_text("#error-lr")
    assert "layer sizes" in page.inner_text("#error-hidden")
    assert page.input_value("#hidden") == "abc" and page.input_value("#lr") == "-3"  # what was refused, to fix
    assert nodes(page) == 8 + 8 + 2  # the network stayed as it was
    page.select_option("#activation", "relu")  # another control's reply keeps these errors
    wait(page, "location.hash.includes('activation=relu')")
    assert "layer sizes" in page.inner_text("#error-hidden")
    page.fill("#hidden", "4")
    page.press("#hidden", "Enter")
    wait(page, "document.getElementById('error-hidden').textContent === ''")
    assert "outside" in page.inner_text("#error-lr")


def test_changing_the_address_changes_the_set_up(open_page):
    page = open_page("dataset=xor&hidden=4")
    wait(page, "document.getElementById('dataset').value === 'xor'")
    assert nodes(page) == 4 + 2  # the link's network, so the 18 below is the new address's
    page.evaluate("location.hash = '#dataset=gauss&show-test=1'")
    wait(page, "document.getElementById('dataset').value === 'gauss'")
    assert page.input_value("#hidden") == "8,8"  # what the new address does not name is the default
    assert page.is_checked("#show-test")
    wait(page, "document.querySelectorAll('#layers .node').length === 18")


def test_changing_the_data_set_and_the_hidden_layers_changes_the_views(open_page):
    page = open_page()
    heatmap = canvas_data(page, "boundary")
    page.select_option("#dataset", "circle")
    wait(page, "location.hash.includes('dataset=circle')")
    wait(page, f"document.getElementById('boundary').toDataURL() !== {heatmap!r}")
    page.fill("#hidden", "3")
    page.press("#hidden", "Enter")
    wait(page, "document.querySelectorAll('#layers .node').length === 5")
    assert page.locator("#links path.link").count() == 2 * 3 + 3 * 2
    page.click("#add-layer")
    wait(page, "document.querySelectorAll('#layers .node').length === 8")
    assert page.input_value("#hidden") == "3,3"
    # each click waits for the network view to show the last one's layers (a click on the old view's
    # buttons would act on the old sizes)
    page.locator(".add-unit").nth(1).click()
    wait(page, "document.getElementById('hidden').value === '3,4'")
    wait(page, "document.querySelectorAll('#layers .node').length === 3 + 4 + 2")
    page.locator(".remove-unit").nth(0).click()
    wait(page, "document.getElementById('hidden').value === '2,4'")
    wait(page, "document.querySelectorAll('#layers .node').length === 2 + 4 + 2")
    page.click("#remove-layer")
    wait(page, "document.getElementById('hidden').value === '2'")
    wait(page, "document.querySelectorAll('#layers .node').length === 2 + 2")
    page.click("#remove-layer")
    wait(page, "document.getElementById('hidden').value === ''")
    wait(page, "document.querySelectorAll('#layers .node').length === 2")  # the frame follows the settings
    assert page.inner_text("#layer-count") == "0 hidden layers"


def test_bad_values_show_an_error_next_to_their_control_and_change_nothing(open_page):
    page = open_page()
    page.click("#step")
    wait(page, "document.getElementById('epoch').textContent === '1'")
    hash_before = page.evaluate("location.hash")
    for control, bad, says in [("lr", "-1", "outside"), ("hidden", "abc", "layer sizes"), ("reg-rate", "x", "not a number"),
                               ("batch-size", "0", "outside"), ("momentum", "2", "outside"), ("seed", "-5", "outside")]:
        page.fill(f"#{control}", bad)
        page.press(f"#{control}", "Enter")
        wait(page, f"document.getElementById('error-{control}').textContent.length > 0")
        assert says in page.inner_text(f"#error-{control}")
        assert "bad" in page.get_attribute(f"#{control}", "class")
        assert page.input_value(f"#{control}") == bad  # what the user typed stays, to be fixed
    assert page.evaluate("location.hash") == hash_before and epoch(page) == 1 and nodes(page) == 18
    page.fill("#lr", "0.1")
    page.press("#lr", "Enter")
    wait(page, "document.getElementById('error-lr').textContent === ''")
    assert "lr=0.1" in page.evaluate("location.hash")


def test_the_graph_panel_shows_the_backprop_graph_and_its_explanation(open_page):
    page = open_page()
    svg = page.inner_html("#graph")
    assert svg.startswith("<svg") and "W⁽¹⁾" in svg and "‖δ‖" in svg
    assert "δ_x = δ_z ⊙ (1 − z²)" in page.inner_text("#explain")
    page.select_option("#regularization", "L1")
    page.fill("#reg-rate", "0.01")
    page.press("#reg-rate", "Enter")
    page.click("#step")
    wait(page, "document.getElementById('graph').innerHTML.includes('>abs<')")  # the penalty joins the graph
    page.click("#graph-zoom-in")  # zoom and pan replace the click to full size
    assert float(page.get_attribute("#graph", "data-scale")) > 1


def test_feature_checkboxes_choose_the_inputs(open_page):
    # Each click waits for the server's answer to the last one: a reply still on its way shows the
    # features as the server had them then, which would undo a click made in between.
    page = open_page()
    page.check("#feature-x1sq")
    wait(page, "location.hash.includes('features=x1,x2,x1sq')")
    wait(page, "document.querySelectorAll('#links path.link').length === 3 * 8 + 8 * 8 + 8 * 2")
    settled(page)
    page.uncheck("#feature-x1")
    wait(page, "location.hash.includes('features=x2,x1sq&')")
    settled(page)
    page.uncheck("#feature-x2")
    wait(page, "location.hash.includes('features=x1sq&')")
    settled(page)
    page.click("#feature-x1sq")  # none left: refused, and the box shows x1sq still feeds the network
    wait(page, "document.getElementById('error-features').textContent.includes('at least one')")
    settled(page)
    assert "features=x1sq&" in page.evaluate("location.hash")
    wait(page, "document.getElementById('feature-x1sq').checked")


def test_every_training_control_reaches_the_server(open_page):
    page = open_page()
    page.select_option("#activation", "sigmoid")
    page.select_option("#regularization", "L2")
    page.fill("#reg-rate", "0.003")
    page.press("#reg-rate", "Enter")
    page.fill("#batch-size", "25")
    page.press("#batch-size", "Enter")
    page.select_option("#speed", "10")
    page.select_option("#optimizer", "adam")
    wait(page, "document.getElementById('momentum').disabled")  # Adam has no momentum
    page.select_option("#dropout", "0.2")
    set_range(page, "noise", "15")
    set_range(page, "train-ratio", "80")
    wait(page, "location.hash.includes('train-ratio=80')")
    f = fragment(page)
    assert (f["activation"], f["regularization"], f["reg-rate"], f["batch-size"], f["speed"], f["noise"]) == (
        "sigmoid", "L2", "0.003", "25", "10", "15")
    assert (f["optimizer"], f["dropout"]) == ("adam", "0.2")
    assert page.inner_text("#noise-value") == "15" and page.inner_text("#train-ratio-value") == "80"
    wait(page, "window.playground.state.data.train.length === 400")  # the data come with the server's answer
    page.click("#step")
    wait(page, "document.getElementById('epoch').textContent === '1'")
    assert js(page, "window.playground.history.rows.length") == 2
    old_seed = page.input_value("#seed")
    page.click("#reseed")
    wait(page, f"document.getElementById('seed').value !== {old_seed!r}")
    wait(page, "document.getElementById('epoch').textContent === '0'")


def test_more_classes_and_the_sine(open_page):
    page = open_page()
    page.select_option("#classes", "3")
    wait(page, "document.querySelectorAll('#layers .node.output').length === 3")
    wait(page, "new Set(window.playground.state.data.train.map(p => p[2])).size === 3")
    page.select_option("#dataset", "xor")
    wait(page, "document.getElementById('classes').disabled")
    page.select_option("#dataset", "sine")
    wait(page, "document.querySelectorAll('#layers .node.output').length === 1")
    assert page.is_disabled("#feature-x2") and page.inner_text("#acc-test") == "–"


def test_the_test_points_toggle_and_the_discretized_output(open_page):
    page = open_page()
    plain = canvas_data(page, "boundary")
    page.check("#show-test")
    wait(page, f"document.getElementById('boundary').toDataURL() !== {plain!r}")
    assert fragment(page)["show-test"] == "1"
    shown = canvas_data(page, "boundary")
    page.check("#discretize")
    wait(page, f"document.getElementById('boundary').toDataURL() !== {shown!r}")
    page.uncheck("#show-test")
    wait(page, "!location.hash.includes('show-test')")


def test_presets_set_up_the_lectures_questions(open_page):
    page = open_page()
    page.click("#preset-1")
    wait(page, "document.getElementById('dataset').value === 'gauss'")
    wait(page, "document.querySelectorAll('#layers .node').length === 2")
    assert page.input_value("#hidden") == ""
    assert "perceptron" in page.inner_text("#preset-text")
    page.click("#preset-7")
    wait(page, "document.getElementById('activation').value === 'relu'")
    assert page.input_value("#dataset") == "circle" and "polygon" in page.inner_text("#preset-text")


def test_exports_download_the_weights_and_the_code(open_page, tmp_path):
    page = open_page()
    page.click("#step")
    wait(page, "document.getElementById('epoch').textContent === '1'")
    with page.expect_download() as download:
        page.click("#export-weights")
    weights = tmp_path / download.value.suggested_filename
    download.value.save_as(weights)
    model = nn.MLP([2, 8, 8, 2])
    model.load(weights)
    shown = js(page, "window.playground.state.frame.weights[0]")
    assert abs(model[0].weight.data - shown).max() < 1e-4
    with page.expect_download() as download:
        page.click("#export-python")
    script = tmp_path / download.value.suggested_filename
    download.value.save_as(script)
    out = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert re.fullmatch(r"\[[01] [01]\]\n", out.stdout)


def _click_link(page) -> None:
    point = page.evaluate(
        "(() => { const p = document.querySelectorAll('#links path.hit')[5]; const q = p.getPointAtLength(p.getTotalLength() * 0.3);"
        " const m = p.getScreenCTM(); return [q.x * m.a + m.e, q.y * m.d + m.f]; })()"
    )
    page.mouse.click(*point)


def test_clicking_a_link_edits_its_weight(open_page):
    page = open_page("hidden=3")
    _click_link(page)
    page.wait_for_selector("#weight-editor:not([hidden])")
    label = page.inner_text("#weight-label")
    j, i, layer = map(int, re.fullmatch(r"weight w(\d+),(\d+) of layer (\d+)", label).groups())
    page.fill("#weight-value", "abc")
    page.press("#weight-value", "Enter")
    assert "not a number" in page.inner_text("#error-weight")
    page.fill("#weight-value", "2.5")
    page.press("#weight-value", "Enter")
    page.wait_for_selector("#weight-editor", state="hidden")
    assert js(page, f"window.playground.state.frame.weights[{layer - 1}][{j - 1}][{i - 1}]") == 2.5
    page.click("#layers .node >> nth=0")  # a unit: its bias
    page.wait_for_selector("#weight-editor:not([hidden])")
    assert page.inner_text("#weight-label") == "bias b1 of layer 1"
    page.fill("#weight-value", "1000")
    page.press("#weight-value", "Enter")
    wait(page, "document.getElementById('error-weight').textContent.includes('-100 to 100')")


def test_points_drawn_by_clicking_become_the_data(open_page):
    page = open_page()
    page.click("#draw")
    assert "add points" in page.inner_text("#note-points")
    box = page.locator("#boundary").bounding_box()
    for cls, (fx, fy) in [(0, (0.2, 0.2)), (0, (0.25, 0.3)), (1, (0.8, 0.8)), (1, (0.7, 0.75)), (2, (0.8, 0.2))]:
        page.select_option("#draw-class", str(cls))
        page.mouse.click(box["x"] + fx * box["width"], box["y"] + fy * box["height"])
    wait(page, "document.getElementById('dataset').value === 'custom'")
    wait(page, "document.getElementById('classes').value === '3'")
    f = fragment(page)
    assert f["points"].count(";") == 4 and f["dataset"] == "custom"
    page.keyboard.down("Shift")
    page.mouse.click(box["x"] + 0.8 * box["width"], box["y"] + 0.2 * box["height"])  # removes the class-2 point
    page.keyboard.up("Shift")
    wait(page, "location.hash.split('points=')[1].split('&')[0].split(';').length === 4")
    page.click("#step")
    wait(page, "document.getElementById('epoch').textContent === '1'")
    page.click("#clear-points")  # cleared on the page; the server keeps training on the 4 points
    assert "keeps its points" in page.inner_text("#note-points")
    assert js(page, "window.playground.state.pending.length") == 0
    page.click("#preset-7")  # a preset ends drawing and shows its own data
    wait(page, "document.getElementById('dataset').value === 'circle'")
    assert js(page, "window.playground.state.pending") is None
    assert page.get_attribute("#draw", "aria-pressed") == "false"


def test_the_sine_keeps_the_features_it_cannot_use(open_page):
    page = open_page("dataset=sine")
    page.check("#feature-x1sq")
    wait(page, "location.hash.includes('features=x1,x2,x1sq')")  # x₂ is kept, though the sine ignores it
    page.select_option("#dataset", "spiral")
    wait(page, "document.querySelectorAll('#links path.link').length === 3 * 8 + 8 * 8 + 8 * 2")
    assert page.is_checked("#feature-x2") and not page.is_disabled("#feature-x2")


def test_a_csv_file_becomes_the_data(open_page):
    page = open_page()
    rows = "x1,x2,class\n" + "\n".join(f"{x / 10},{y / 10},{(x > 0) + 2 * (y > 0)}" for x in (-7, -3, 4, 8) for y in (-6, 5))
    page.set_input_files("#upload", files=[{"name": "mine.csv", "mimeType": "text/csv", "buffer": rows.encode()}])
    wait(page, "document.getElementById('dataset').value === 'custom'")
    assert page.input_value("#classes") == "4"
    # the select changes at once, the data when the server's answer arrives
    wait(page, "window.playground.state.data.train.length + window.playground.state.data.test.length === 8")
    page.set_input_files("#upload", files=[{"name": "bad.csv", "mimeType": "text/csv", "buffer": b"1,2,3\n4,five,6\n"}])
    wait(page, "document.getElementById('error-points').textContent.includes('line 2')")
    page.set_input_files("#upload", files=[{"name": "far.csv", "mimeType": "text/csv", "buffer": b"1,2,0\n40,2,1\n0,0,0\n1,1,1\n"}])
    wait(page, "document.getElementById('error-points').textContent.includes('outside')")
    page.set_input_files("#upload", files=[{"name": "many.csv", "mimeType": "text/csv", "buffer": b"1,2,0\n0,2,9\n"}])
    wait(page, "document.getElementById('error-points').textContent.includes('from 0 to 5')")
    assert js(page, "window.playground.state.data.train.length + window.playground.state.data.test.length") == 8


def test_a_diverging_run_says_what_to_do(open_page):
    page = open_page("dataset=sine&lr=5&activation=linear")
    page.click("#play")
    wait(page, "document.getElementById('message').textContent.includes('smaller learning rate')")
    wait(page, "!document.getElementById('play').classList.contains('playing')")
    page.click("#play")
    wait(page, "document.getElementById('message').textContent.includes('reset')")
    assert page.inner_text("#loss-train") == "NaN"


def test_the_charts_are_drawn(open_page):
    page = open_page()
    page.select_option("#speed", "10")
    page.click("#play")
    wait(page, "parseInt(document.getElementById('epoch').textContent) > 30")
    page.click("#play")
    for chart in ("loss-chart", "grad-chart"):
        painted = js(page, f"(() => {{ const c = document.getElementById('{chart}'); const d = c.getContext('2d')"
                           ".getImageData(0, 0, c.width, c.height).data; let n = 0; for (let i = 3; i < d.length; i += 4) n += d[i] > 0;"
                           " return n; })()")
        assert painted > 200, chart
    assert page.inner_text("#grad-legend").split() == ["━", "W⁽¹⁾", "━", "W⁽²⁾", "━", "W⁽³⁾"]
