"""nn.datasets, nn.batches and nn.kfold: shapes, classes, determinism under a seed, partitions."""

from __future__ import annotations

import numpy as np
import pytest

import autodiff as ad
from nn import datasets
from nn.data import batches, kfold

CLASSIFIERS = sorted(datasets.CLASSIFICATION)


@pytest.mark.parametrize("name", CLASSIFIERS)
@pytest.mark.parametrize("n", [2, 7, 100])
def test_classification_shapes_and_balanced_classes(name, n):
    X, t = datasets.DATASETS[name](n, noise=0.1, rng=np.random.default_rng(0))
    assert X.shape == (n, 2) and X.dtype == np.float64
    assert t.shape == (n,) and np.issubdtype(t.dtype, np.integer)
    assert set(t.tolist()) == {0, 1}
    assert abs(np.sum(t == 0) - np.sum(t == 1)) <= 1
    assert np.isfinite(X).all()


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_points_lie_in_the_playground_square(name):
    X, _ = datasets.DATASETS[name](500, noise=0.0, rng=np.random.default_rng(1))
    assert np.abs(X).max() <= 1.6


def test_sine_is_regression():
    X, t = datasets.sine(40, noise=0.0, rng=np.random.default_rng(0))
    assert X.shape == (40, 1) and t.shape == (40, 1) and t.dtype == np.float64
    np.testing.assert_allclose(t, np.sin(X))
    assert X.min() >= -3 and X.max() <= 3


@pytest.mark.parametrize("name", sorted(datasets.DATASETS))
def test_same_seed_same_data_other_seed_other_data(name):
    f = datasets.DATASETS[name]
    a = f(50, noise=0.1, rng=np.random.default_rng(3))
    b = f(50, noise=0.1, rng=np.random.default_rng(3))
    c = f(50, noise=0.1, rng=np.random.default_rng(4))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])
    # an int seed works as a Generator seeded with it; no rng means the default generator
    np.testing.assert_array_equal(f(50, 0.1, 3)[0], a[0])
    ad.manual_seed(5)
    d = f(50, 0.1)
    ad.manual_seed(5)
    np.testing.assert_array_equal(f(50, 0.1)[0], d[0])


def test_noise_moves_points():
    clean, _ = datasets.circle(200, noise=0.0, rng=np.random.default_rng(0))
    r = np.hypot(*clean.T)
    assert ((r <= 0.5) | ((r >= 0.7) & (r <= 1.0))).all()
    noisy, _ = datasets.circle(200, noise=0.3, rng=np.random.default_rng(0))
    assert not np.allclose(clean, noisy)


def test_xor_labels_follow_the_quadrants_without_noise():
    X, t = datasets.xor(300, noise=0.0, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(t, (X[:, 0] * X[:, 1] < 0).astype(int))


@pytest.mark.parametrize(
    ("args", "error"),
    [((0, 0.1), ValueError), ((1, 0.1), ValueError), ((2.5, 0.1), TypeError), ((10, -1.0), ValueError),
     ((10, float("nan")), ValueError), ((10, "a"), TypeError), ((True, 0.1), TypeError)],
)
def test_bad_arguments(args, error):
    with pytest.raises(error, match="spiral"):
        datasets.spiral(*args, rng=np.random.default_rng(0))


def test_bad_rng_and_unknown_name():
    with pytest.raises(TypeError, match="rng"):
        datasets.gauss(10, 0.1, rng="seed")
    with pytest.raises(ValueError, match="moons"):
        datasets.load("moons", 10, 0.1)


# ---------------------------------------------------------------------- batches
@pytest.mark.parametrize(("n", "batch_size"), [(10, 3), (10, 10), (10, 32), (1, 1), (64, 16)])
@pytest.mark.parametrize("shuffle", [True, False])
def test_batches_cover_every_sample_once_per_pass(n, batch_size, shuffle):
    X = np.arange(n * 2, dtype=float).reshape(n, 2)
    t = np.arange(n)
    rng = np.random.default_rng(0)
    for _ in range(2):  # each pass is a complete, fresh pass
        parts = list(batches(X, t, batch_size, shuffle=shuffle, rng=rng))
        assert [len(tb) for _, tb in parts[:-1]] == [batch_size] * (len(parts) - 1)
        assert 1 <= len(parts[-1][1]) <= batch_size
        seen = np.concatenate([tb for _, tb in parts])
        assert sorted(seen.tolist()) == list(range(n))
        for Xb, tb in parts:  # rows stay paired with their targets
            np.testing.assert_array_equal(Xb[:, 0], 2 * tb)
        if not shuffle:
            assert seen.tolist() == list(range(n))


def test_batches_shuffle_is_seeded_and_differs_between_passes():
    X, t = np.zeros((50, 1)), np.arange(50)
    order = lambda rng: np.concatenate([tb for _, tb in batches(X, t, 8, rng=rng)])  # noqa: E731
    np.testing.assert_array_equal(order(np.random.default_rng(1)), order(np.random.default_rng(1)))
    rng = np.random.default_rng(1)
    assert not np.array_equal(order(rng), order(rng))


def test_batches_errors():
    with pytest.raises(ValueError, match="same number of samples"):
        next(batches(np.zeros((4, 2)), np.zeros(5), 2))
    with pytest.raises(ValueError, match="batch_size"):
        next(batches(np.zeros((4, 2)), np.zeros(4), 0))
    with pytest.raises(TypeError, match="batch_size"):
        next(batches(np.zeros((4, 2)), np.zeros(4), 2.0))


# ---------------------------------------------------------------------- kfold
@pytest.mark.parametrize(("n", "k"), [(10, 2), (10, 3), (12, 4), (7, 7), (100, 5)])
@pytest.mark.parametrize("shuffle", [True, False])
def test_kfold_partitions(n, k, shuffle):
    splits = list(kfold(n, k, rng=np.random.default_rng(0), shuffle=shuffle))
    assert len(splits) == k
    tests = [test for _, test in splits]
    assert sorted(np.concatenate(tests).tolist()) == list(range(n))  # disjoint and covering
    sizes = sorted(len(test) for test in tests)
    assert sizes[-1] - sizes[0] <= 1 and sum(sizes) == n
    for train, test in splits:
        assert not set(train.tolist()) & set(test.tolist())
        assert sorted([*train.tolist(), *test.tolist()]) == list(range(n))
        assert np.issubdtype(train.dtype, np.integer) and np.issubdtype(test.dtype, np.integer)


def test_kfold_is_seeded():
    a = [test.tolist() for _, test in kfold(20, 4, rng=np.random.default_rng(2))]
    b = [test.tolist() for _, test in kfold(20, 4, rng=np.random.default_rng(2))]
    c = [test.tolist() for _, test in kfold(20, 4, shuffle=False)]
    assert a == b and a != c
    assert c == [list(range(i, i + 5)) for i in range(0, 20, 5)]


@pytest.mark.parametrize(("n", "k"), [(5, 1), (5, 6), (0, 2)])
def test_kfold_errors(n, k):
    with pytest.raises(ValueError, match="kfold"):
        list(kfold(n, k))
