"""A sweep handed to a Dask cluster through joblib gives what the same sweep gives in one process."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")
distributed = pytest.importorskip("distributed")
import joblib  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402

import nn  # noqa: E402
from nn.sklearn import MLPClassifier  # noqa: E402


def test_a_weight_decay_sweep_on_a_local_cluster_equals_the_sequential_one():
    X, t = nn.datasets.spiral(150, 0.1, np.random.default_rng(0))
    grid = {"alpha": [1e-4, 1.0], "hidden_layer_sizes": [(8,), (16,)]}

    def sweep(n_jobs):
        est = MLPClassifier(activation="tanh", learning_rate_init=0.02, max_iter=40, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return GridSearchCV(est, grid, cv=3, n_jobs=n_jobs).fit(X, t)

    sequential = sweep(1)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client, joblib.parallel_backend("dask"):
        on_cluster = sweep(-1)
        assert len(client.scheduler_info()["workers"]) == 2
    assert on_cluster.best_params_ == sequential.best_params_
    assert np.array_equal(on_cluster.cv_results_["mean_test_score"], sequential.cv_results_["mean_test_score"])
