"""Threads: recording is per thread, and two models trained at once train exactly as they do alone."""

from __future__ import annotations

import gc
import sys
import threading

import numpy as np
import pytest

import autodiff as ad
import nn
from autodiff import Tensor
from autodiff import backward as backward_module


def make_run(dataset: str, seed: int):
    """A model, its optimizer and data: spiral or xor, each with its own generator."""
    rng = np.random.default_rng(seed)
    X, t = nn.datasets.load(dataset, 120, 0.05, rng)
    model = nn.MLP([2, 8, 8, 2], rng=rng)
    opt = nn.SGD(model.parameters(), lr=0.1, momentum=0.9)
    return model, opt, X, t, rng


def train(model, opt, X, t, rng, epochs: int, evaluate: bool) -> list[float]:
    """Mini-batch SGD; with `evaluate`, a no_grad pass over all the data after every step."""
    losses = []
    for _ in range(epochs):
        for Xb, tb in nn.batches(X, t, 16, rng=rng):
            loss = nn.functional.cross_entropy(model(Xb), tb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            if evaluate:
                with ad.no_grad():
                    out = model(X)
                    assert not out.requires_grad
                losses.append(nn.functional.cross_entropy(out, t).item())
            else:
                assert loss.requires_grad  # whatever the other thread's no_grad is doing
    return losses


@pytest.fixture
def fast_switching():
    """Switch threads every 10 µs instead of every 5 ms, so the two runs interleave finely."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    yield
    sys.setswitchinterval(old)


def test_two_threads_train_exactly_as_one_after_the_other(fast_switching):
    jobs = [("spiral", 0, True), ("xor", 1, False)]
    alone = []
    for dataset, seed, evaluate in jobs:
        model, opt, X, t, rng = make_run(dataset, seed)
        losses = train(model, opt, X, t, rng, 6, evaluate)
        alone.append((model.state_dict(), losses))

    runs = [make_run(dataset, seed) for dataset, seed, _ in jobs]
    together: list = [None, None]
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def work(i: int) -> None:
        try:
            start.wait(5)
            model, opt, X, t, rng = runs[i]
            together[i] = train(model, opt, X, t, rng, 6, jobs[i][2])
        except BaseException as e:  # surfaced below: an exception in a thread does not fail the test
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert not errors, errors
    for (state, losses), run, losses2 in zip(alone, runs, together):
        for name, value in run[0].state_dict().items():
            np.testing.assert_array_equal(value, state[name], err_msg=name)  # bit for bit
        assert losses2 == losses


def test_no_grad_in_one_thread_while_another_records_and_differentiates(fast_switching):
    w = Tensor(np.linspace(-1, 1, 6).reshape(2, 3), requires_grad=True)
    stop = threading.Event()
    seen = []

    def inference():
        with ad.no_grad():
            while not stop.is_set():
                seen.append((w * 2).requires_grad or ad.is_grad_enabled())

    th = threading.Thread(target=inference)
    th.start()
    try:
        for _ in range(200):
            (dw,) = ad.grad((w.tanh() * w).sum(), w)
            np.testing.assert_allclose(dw.data, np.tanh(w.data) + w.data * (1 - np.tanh(w.data) ** 2))
            assert ad.is_grad_enabled()
    finally:
        stop.set()
        th.join(10)
    assert seen and not any(seen)


def test_concurrent_backward_leaves_the_garbage_collector_enabled():
    assert gc.isenabled()

    def work():
        x = Tensor(np.ones(2), requires_grad=True)
        for _ in range(400):
            y = x
            for _ in range(backward_module._GC_PAUSE_NODES):  # big enough for backward to pause the GC
                y = y * 1.0
            y.sum().backward()

    try:
        for _ in range(4):
            threads = [threading.Thread(target=work) for _ in range(3)]
            for th in threads:
                th.start()
            for th in threads:
                th.join(60)
            assert gc.isenabled()
    finally:
        gc.enable()
