"""nn.sklearn: scikit-learn's own estimator checks are the judge; then what the lecture does with them."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

import autodiff as ad
import nn
from nn.sklearn import MLPClassifier, MLPRegressor


@parametrize_with_checks([MLPClassifier(), MLPRegressor()])
def test_scikit_learns_own_checks(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)


def spiral(n=200, seed=0):
    return nn.datasets.spiral(n, 0.05, np.random.default_rng(seed))


def test_fitted_attributes_follow_scikit_learn():
    X, t = spiral()
    clf = MLPClassifier((16, 8), activation="tanh", learning_rate_init=0.02, max_iter=60, random_state=0)
    with pytest.warns(ConvergenceWarning):
        clf.fit(X, np.array(["orange", "blue"])[t])
    assert clf.classes_.tolist() == ["blue", "orange"] and clf.n_features_in_ == 2 and clf.n_iter_ == 60
    assert [c.shape for c in clf.coefs_] == [(2, 16), (16, 8), (8, 2)]
    assert [b.shape for b in clf.intercepts_] == [(16,), (8,), (2,)]
    assert len(clf.loss_curve_) == 60 and clf.loss_curve_[-1] < clf.loss_curve_[0]
    assert np.allclose(clf.predict_proba(X).sum(axis=1), 1) and set(clf.predict(X)) <= {"blue", "orange"}
    assert np.allclose(np.exp(clf.predict_log_proba(X)), clf.predict_proba(X))
    # model_ is the trained nn module: it predicts the same, and renders
    with ad.no_grad():
        logits = clf.model_(X).data
    assert np.array_equal(clf.classes_[logits.argmax(axis=1)], clf.predict(X))
    loss = nn.functional.cross_entropy(clf.model_(X[:4]), t[:4])
    assert "0.weight" in ad.draw_graph(loss, params=clf.model_).source


def test_the_same_random_state_gives_the_same_fit():
    X, t = spiral()
    a = MLPClassifier((8,), max_iter=20, random_state=3).fit(X, t)
    b = MLPClassifier((8,), max_iter=20, random_state=3).fit(X, t)
    assert all(np.array_equal(p, q) for p, q in zip(a.coefs_, b.coefs_)) and a.loss_curve_ == b.loss_curve_


def test_training_stops_when_the_loss_stops_improving():
    X, t = nn.datasets.gauss(200, 0.05, np.random.default_rng(0))
    clf = MLPClassifier((4,), learning_rate_init=0.05, max_iter=500, tol=1e-3, n_iter_no_change=5, random_state=0).fit(X, t)
    assert clf.n_iter_ < 500 and clf.score(X, t) > 0.95


def test_early_stopping_keeps_the_best_validation_score():
    X, t = spiral(300)
    clf = MLPClassifier((16,), activation="tanh", early_stopping=True, validation_fraction=0.2, n_iter_no_change=5,
                        max_iter=300, learning_rate_init=0.03, random_state=0).fit(X, t)
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    assert len(clf.validation_scores_) == clf.n_iter_ < 300


def test_the_regressor_fits_the_lectures_sine():
    X, t = nn.datasets.sine(200, 0.1, np.random.default_rng(0))
    reg = MLPRegressor((20,), activation="tanh", solver="sgd", learning_rate_init=0.05, momentum=0.9, max_iter=400,
                       random_state=0).fit(X, t[:, 0])
    assert reg.predict(X).shape == (200,) and reg.score(X, t[:, 0]) > 0.9
    two = MLPRegressor((20,), activation="tanh", max_iter=50, random_state=0).fit(X, np.hstack([t, -t]))
    assert two.predict(X).shape == (200, 2)


def test_alpha_is_an_l2_penalty_that_shrinks_the_weights():
    X, t = spiral()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        norms = [sum(np.abs(c).sum() for c in MLPClassifier((16,), alpha=a, learning_rate_init=0.02, max_iter=150,
                                                            random_state=0).fit(X, t).coefs_) for a in (0.0, 10.0)]
    assert norms[1] < 0.2 * norms[0]  # scikit-learn's α: (α/2n) Σ‖W‖² on top of the mean loss


@pytest.mark.parametrize(("params", "says"), [
    ({"hidden_layer_sizes": (0,)}, "hidden_layer_sizes"), ({"activation": "softsign"}, "activation"),
    ({"solver": "lbfgs"}, "solver"), ({"max_iter": 0}, "max_iter"), ({"validation_fraction": 1.0}, "validation_fraction"),
])
def test_bad_parameters_are_named(params, says):
    X, t = spiral(20)
    with pytest.raises(ValueError, match=says):
        MLPClassifier(**params).fit(X, t)


def test_it_works_in_pipelines_and_grid_search_in_parallel():
    X, t = spiral(200)
    pipe = make_pipeline(StandardScaler(), MLPClassifier((16,), activation="tanh", max_iter=80, learning_rate_init=0.02,
                                                         random_state=0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        grid = GridSearchCV(pipe, {"mlpclassifier__alpha": [1e-4, 1.0]}, cv=3, n_jobs=2).fit(X, t)
        sequential = cross_val_score(pipe.set_params(mlpclassifier__alpha=1e-4), X, t, cv=3, n_jobs=1)
    assert grid.best_params_["mlpclassifier__alpha"] in (1e-4, 1.0)
    assert np.allclose(grid.cv_results_["split0_test_score"][0], sequential[0])  # processes give what one process gives
