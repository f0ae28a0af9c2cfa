"""End to end: the lecture's 1-20-1 tanh network learns a noisy sine; a classifier learns XOR; no leaks."""

import gc

import numpy as np

import autodiff as ad
import nn


def test_lecture_network_fits_a_noisy_sine_below_the_noise_variance():
    # y(x) = Σ_j w2_j tanh(w1_j x + b1_j) + b2, trained by gradient descent with momentum.
    rng = np.random.default_rng(0)
    noise = 0.1
    x = rng.uniform(-3, 3, size=(64, 1))
    t = np.sin(x) + noise * rng.normal(size=x.shape)
    ad.manual_seed(0)
    model = nn.Sequential(nn.Linear(1, 20), nn.Tanh(), nn.Linear(20, 1))
    opt = nn.SGD(model.parameters(), lr=0.1, momentum=0.9)
    loss_fn = nn.MSELoss()
    for _ in range(5000):
        loss = loss_fn(model(x), t)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if loss.item() < noise**2:
            break
    assert loss.item() < noise**2
    # it learned the sine, not the noise: close to the clean curve between the samples too
    grid = np.linspace(-2.5, 2.5, 50)[:, None]
    with ad.no_grad():
        assert np.mean((model(grid).data - np.sin(grid)) ** 2) < noise**2


def test_mlp_with_adam_and_cross_entropy_learns_xor():
    rng = np.random.default_rng(1)
    X = rng.uniform(-1, 1, size=(200, 2))
    t = ((X[:, 0] > 0) ^ (X[:, 1] > 0)).astype(int)
    model = nn.MLP([2, 16, 2], activation="relu", rng=rng)
    opt = nn.Adam(model.parameters(), lr=0.03)
    for _ in range(300):
        loss = nn.functional.cross_entropy(model(X), t)
        opt.zero_grad()
        loss.backward()
        opt.step()
    accuracy = np.mean(model(X).data.argmax(axis=1) == t)
    assert accuracy > 0.95


def test_bce_with_logits_classifier_reaches_a_small_loss():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(100, 3))
    t = (X @ np.array([1.0, -2.0, 0.5]) > 0).astype(float)[:, None]
    model = nn.Linear(3, 1, rng=rng)
    opt = nn.SGD(model.parameters(), lr=0.5)
    first = None
    for _ in range(200):
        loss = nn.BCEWithLogitsLoss()(model(X), t)
        first = loss.item() if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.2 * first


def test_a_training_step_leaves_no_reference_cycles():
    # Graphs must be freed by reference counting: the cyclic GC should find nothing after a step.
    rng = np.random.default_rng(3)
    model = nn.MLP([4, 8, 3], activation="relu", rng=rng)
    opt = nn.Adam(model.parameters())
    X, t = rng.normal(size=(16, 4)), rng.integers(0, 3, 16)
    gc.collect()
    gc.disable()
    try:
        for _ in range(3):
            loss = nn.CrossEntropyLoss()(model(X), t)
            opt.zero_grad()
            loss.backward()
            opt.step()
        del loss
        assert gc.collect() == 0
    finally:
        gc.enable()
