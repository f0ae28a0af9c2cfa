"""The notebook widget's training follows its views (issue 27's widget): it keeps training while some
view shows it and stops when the last one is taken away (its output cleared, its cell run again),
instead of training on in the kernel for no one. Driven here through the widget's own message
handler, as the front end's views send them (`ready` and `view-closed`, each with its view's id);
tests/test_playground_widget.py drives the real views in JupyterLab."""

from __future__ import annotations

import time

import pytest

pytest.importorskip("anywidget")
pytest.importorskip("starlette")

import nn.playground


def until(condition, what: str, timeout: float = 60.0) -> None:
    """Wait for the widget's state (trained in its own thread) to reach `condition`."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.005)


@pytest.fixture
def widget():
    w = nn.playground.widget(dataset="xor", hidden=[3])
    w.sent = []
    w.send = w.sent.append  # no front end here: what the views would receive
    yield w
    w.close()  # its page loop and its thread end: nothing trains on behind the other tests
    assert w.running.done() and not w._loop.is_running() and not w.session.playing


def test_training_stops_when_the_last_view_is_gone_and_not_before(widget):
    w = widget
    w._receive(w, {"type": "ready", "view": "a"}, [])
    w._receive(w, {"type": "play"}, [])
    until(lambda: w.session.epoch >= 5, "training in the first view")
    w._receive(w, {"type": "ready", "view": "b"}, [])  # the same widget shown a second time
    w._receive(w, {"type": "play"}, [])
    first = w.running
    start = w.session.epoch
    w._receive(w, {"type": "view-closed", "view": "a"}, [])  # one of two views gone: it trains on
    until(lambda: w.session.epoch >= start + 5, "training with one view left")
    assert not first.done() and w.session.playing
    w._receive(w, {"type": "view-closed", "view": "b"}, [])  # the last one gone
    first.result(timeout=60)  # the page loop has ended: nothing trains any more
    assert w.session.playing is False
    epoch = w.session.epoch
    sent = len(w.sent)
    w._receive(w, {"type": "play"}, [])  # a message with no view to come from changes nothing
    assert (w.session.epoch, w.session.playing, len(w.sent)) == (epoch, False, sent)
    # a view drawn again finds the training where it stopped, paused, and plays on from there
    w._receive(w, {"type": "ready", "view": "c"}, [])
    until(lambda: any(m.get("type") == "frame" for m in w.sent[sent:]), "the new view's first frame")
    assert w.session.epoch == epoch and not w.session.playing
    w._receive(w, {"type": "play"}, [])
    until(lambda: w.session.epoch >= epoch + 3, "training in the new view")


def test_a_view_closed_twice_or_unknown_leaves_the_others_training(widget):
    w = widget
    w._receive(w, {"type": "ready", "view": "a"}, [])
    w._receive(w, {"type": "ready", "view": "b"}, [])
    w._receive(w, {"type": "play"}, [])
    for gone in ("x", "a", "a"):  # a view never shown, then one view closed twice
        w._receive(w, {"type": "view-closed", "view": gone}, [])
    start = w.session.epoch
    until(lambda: w.session.epoch >= start + 5, "training while view b shows it")
    assert not w.running.done()
