"""Soak: training steps and huge graphs leave no memory behind (the 10,000-step run is `python -m benchmarks.soak`)."""

from __future__ import annotations

import gc
import os
import tracemalloc
import weakref

import numpy as np

import nn
from autodiff import Tensor

# Under tracemalloc, memory that CPython keeps in free lists is first traced as it is recycled: the traced
# total creeps up by ~64 bytes a step for one to two thousand steps, then stays flat to the byte. So the
# steps run in windows until one window grows by less than 8 KB (27 bytes a step); a real leak never
# gets there.
STEPS, MAX_WINDOWS = 300, 15
KB = 1024
MB = 1024 * KB


def spiral_step():
    """One training step of the playground's default network: MLP 2-8-8-2, cross-entropy, SGD."""
    rng = np.random.default_rng(0)
    X, t = nn.datasets.spiral(200, 0.05, rng)
    model = nn.MLP([2, 8, 8, 2], rng=rng)
    opt = nn.SGD(model.parameters(), lr=0.1, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()

    def step():
        loss = loss_fn(model(X), t)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    return step


def test_training_steps_keep_memory_flat_and_make_no_garbage():
    step = spiral_step()
    gc.collect()
    tracemalloc.start()
    try:
        first = step().item()
        for _ in range(MAX_WINDOWS):
            base = tracemalloc.get_traced_memory()[0]
            for _ in range(STEPS):
                last = step().item()
            drift = tracemalloc.get_traced_memory()[0] - base
            if drift < 8 * KB:
                break
    finally:
        tracemalloc.stop()
    assert drift < 8 * KB, f"memory still grew by {drift} bytes over {STEPS} steps after {MAX_WINDOWS * STEPS} steps"
    assert last < first  # it did train

    gc.disable()  # no reference cycles: every graph is freed by reference counting alone
    try:
        gc.collect()
        loss = step()
        ref = weakref.ref(loss)
        for _ in range(20):
            step()
        del loss
        assert ref() is None
        assert gc.collect() == 0
    finally:
        gc.enable()


def deep_graph(n: int = 100_000) -> float:
    """A graph of n ops (a chain mixing ops, with reuse), differentiated once and dropped."""
    x = Tensor(np.full(3, 0.5), requires_grad=True)
    y = x
    for i in range(n // 4):
        y = (y * 0.5 + x).tanh() - 0.1 if i % 2 else ((y + y) * 0.25).sin() * 1.0
    y.sum().backward()
    return float(x.grad.sum())


def rss() -> int:
    """Resident set size in bytes, now (Linux)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_a_100000_op_graph_created_and_dropped_repeatedly_leaves_nothing():
    # tracemalloc makes this 7x slower, so: every object counted, and resident memory (one leaked
    # graph of 100,000 nodes would be tens of MB).
    for _ in range(2):
        deep_graph()  # warm-up: caches, the interpreter's free lists, the heap's high-water mark
    gc.collect()
    gc.disable()
    try:
        values: list[float] = []
        objects, before = len(gc.get_objects()), rss()
        for _ in range(3):
            values.append(deep_graph())
        garbage = gc.collect()
        growth = rss() - before
        assert len(gc.get_objects()) == objects
    finally:
        gc.enable()
    assert values[0] == values[1] == values[2]
    assert garbage == 0
    assert growth < 4 * MB, f"resident memory grew by {growth / MB:.1f} MB over three 100,000-op graphs"
