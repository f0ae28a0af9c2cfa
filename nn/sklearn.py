"""scikit-learn estimators on our engine: `MLPClassifier` and `MLPRegressor`, with scikit-learn's names.

They take scikit-learn's parameters (`hidden_layer_sizes`, `activation`, `alpha` = L2 strength,
`solver` sgd/adam, `learning_rate_init`, `momentum`, `batch_size`, `max_iter`, `random_state`,
`early_stopping`, `validation_fraction`, `tol`, `n_iter_no_change`) and set its fitted attributes
(`coefs_`, `intercepts_`, `loss_curve_`, `classes_`, `n_iter_`, `n_features_in_`), so they fit in
`Pipeline`, `cross_val_score` and `GridSearchCV`, and pass scikit-learn's own estimator checks.
`model_` is the trained `nn` module, which `ad.draw_graph` renders. scikit-learn is the `sklearn`
extra; `import nn` does not import this module.

>>> import numpy as np
>>> from nn.sklearn import MLPClassifier
>>> X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]] * 10)
>>> y = np.array([0, 1, 1, 0] * 10)                                   # XOR
>>> clf = MLPClassifier((8,), activation="tanh", learning_rate_init=0.05, max_iter=300, random_state=0).fit(X, y)
>>> clf.predict([[0.0, 1.0], [1.0, 1.0]]).tolist(), clf.score(X, y)
([1, 0], 1.0)
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from autodiff.extras import require

require(["sklearn"], "sklearn", "nn.sklearn")

from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.utils import check_random_state  # noqa: E402
from sklearn.utils.multiclass import check_classification_targets  # noqa: E402
from sklearn.utils.validation import check_is_fitted, validate_data  # noqa: E402

import autodiff as ad  # noqa: E402
import nn  # noqa: E402

# scikit-learn's activation names → ours
ACTIVATIONS = {"identity": "linear", "logistic": "sigmoid", "tanh": "tanh", "relu": "relu"}


class _MLP(BaseEstimator):
    """What both estimators share: the network, the training loop, scikit-learn's stopping rule."""

    def __init__(
        self,
        hidden_layer_sizes: Any = (100,),
        activation: str = "relu",
        *,
        solver: str = "adam",
        alpha: float = 0.0001,
        batch_size: Any = "auto",
        learning_rate_init: float = 0.001,
        max_iter: int = 200,
        shuffle: bool = True,
        random_state: Any = None,
        tol: float = 1e-4,
        momentum: float = 0.9,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        n_iter_no_change: int = 10,
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.momentum = momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change

    # --- what each estimator says -------------------------------------------------------------

    def _targets(self, y: np.ndarray) -> tuple[np.ndarray, int]:
        raise NotImplementedError

    def _loss(self, out: ad.Tensor, t: np.ndarray) -> ad.Tensor:
        raise NotImplementedError

    def _score_validation(self, X: np.ndarray, t: np.ndarray) -> float:
        raise NotImplementedError

    # --- fitting -----------------------------------------------------------------------------

    def _check_params(self) -> tuple[int, ...]:
        sizes = self.hidden_layer_sizes
        sizes = (sizes,) if isinstance(sizes, (int, np.integer)) else tuple(sizes)
        if any(not isinstance(s, (int, np.integer)) or s < 1 for s in sizes):
            raise ValueError(f"hidden_layer_sizes must be positive ints, got {self.hidden_layer_sizes!r}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}, got {self.activation!r}")
        if self.solver not in ("sgd", "adam"):
            raise ValueError(f"solver must be 'sgd' or 'adam', got {self.solver!r}")
        if not self.max_iter >= 1:
            raise ValueError(f"max_iter must be at least 1, got {self.max_iter!r}")
        if not (self.alpha >= 0 and self.learning_rate_init > 0 and 0 <= self.momentum <= 1 and self.tol >= 0):
            raise ValueError("alpha, tol ≥ 0, learning_rate_init > 0 and momentum in [0, 1] are required")
        if not 0 < self.validation_fraction < 1:
            raise ValueError(f"validation_fraction must be in (0, 1), got {self.validation_fraction!r}")
        return tuple(int(s) for s in sizes)

    def fit(self, X: Any, y: Any) -> _MLP:
        """Train a fresh network on (X, y) with mini-batch SGD or Adam until the loss stops improving."""
        hidden = self._check_params()
        regression = isinstance(self, RegressorMixin)
        X, y = validate_data(self, X, y, dtype=np.float64, multi_output=regression, y_numeric=regression)
        t, n_out = self._targets(y)
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        rng = np.random.default_rng(seed)
        self.model_ = nn.MLP([X.shape[1], *hidden, n_out], activation=ACTIVATIONS[self.activation], rng=rng)
        params = list(self.model_.parameters())
        if self.solver == "adam":
            opt: nn.Optimizer = nn.Adam(params, lr=self.learning_rate_init)
        else:
            opt = nn.SGD(params, lr=self.learning_rate_init, momentum=self.momentum)
        X_val = t_val = None
        if self.early_stopping:
            order = rng.permutation(len(X))
            n_val = max(1, round(self.validation_fraction * len(X)))
            if n_val >= len(X):
                raise ValueError("early_stopping needs more samples than validation_fraction sets aside")
            X_val, t_val = X[order[:n_val]], t[order[:n_val]]
            X, t = X[order[n_val:]], t[order[n_val:]]
        batch = min(200, len(X)) if self.batch_size == "auto" else int(np.clip(self.batch_size, 1, len(X)))
        weights = [m.weight for m in self.model_ if isinstance(m, nn.Linear)]
        self.loss_curve_: list[float] = []
        self.validation_scores_: list[float] | None = [] if self.early_stopping else None
        best, best_state, stale = np.inf, None, 0
        self.n_iter_ = 0
        for _ in range(self.max_iter):
            total = 0.0
            for Xb, tb in nn.batches(X, t, batch, shuffle=self.shuffle, rng=rng):
                loss = self._loss(self.model_(Xb), tb)
                if self.alpha:  # scikit-learn's penalty: (α/2) Σ‖W‖² per sample of the batch
                    penalty = sum(((w * w).sum() for w in weights[1:]), (weights[0] * weights[0]).sum())
                    loss = loss + penalty * (self.alpha / (2 * len(Xb)))
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += loss.item() * len(Xb)
            self.n_iter_ += 1
            self.loss_curve_.append(total / len(X))
            if self.early_stopping:
                score = self._score_validation(X_val, t_val)
                self.validation_scores_.append(score)
                improved, value = score > -best + self.tol, -score
            else:
                value = self.loss_curve_[-1]
                improved = value < best - self.tol
            stale = 0 if improved else stale + 1
            if value < best:
                best = value
                if self.early_stopping:
                    best_state = self.model_.state_dict()
            if stale > self.n_iter_no_change:
                break
        else:
            warnings.warn(f"{type(self).__name__}: max_iter={self.max_iter} reached before the loss stopped improving",
                          ConvergenceWarning, stacklevel=2)
        if best_state is not None:
            self.model_.load_state_dict(best_state)
            self.best_validation_score_ = -best
        else:
            self.best_loss_ = best
        self.loss_ = self.loss_curve_[-1]
        linears = [m for m in self.model_ if isinstance(m, nn.Linear)]
        self.coefs_ = [m.weight.data.T.copy() for m in linears]  # scikit-learn's layout: (n_in, n_out)
        self.intercepts_ = [m.bias.data.copy() for m in linears]
        self.n_layers_ = len(linears) + 1
        self.n_outputs_ = n_out
        return self

    def _forward(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "model_")
        X = validate_data(self, X, dtype=np.float64, reset=False)
        with ad.no_grad():
            return self.model_(X).data


class MLPClassifier(ClassifierMixin, _MLP):
    """A multilayer perceptron classifier trained with cross-entropy on softmax outputs (one per class)."""

    def _targets(self, y: np.ndarray) -> tuple[np.ndarray, int]:
        check_classification_targets(y)
        self.classes_ = np.unique(y)
        if len(self.classes_) < 2:
            raise ValueError(f"MLPClassifier needs samples of at least 2 classes, got 1 class: {self.classes_[0]!r}")
        return np.searchsorted(self.classes_, y), len(self.classes_)

    def _loss(self, out: ad.Tensor, t: np.ndarray) -> ad.Tensor:
        return nn.functional.cross_entropy(out, t)

    def _score_validation(self, X: np.ndarray, t: np.ndarray) -> float:
        with ad.no_grad():
            return float((self.model_(X).data.argmax(axis=1) == t).mean())

    def predict_proba(self, X: Any) -> np.ndarray:
        """P(class | x) for each row of X, columns in the order of `classes_`."""
        a = self._forward(X)
        p = np.exp(a - a.max(axis=1, keepdims=True))
        return p / p.sum(axis=1, keepdims=True)

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """log P(class | x), computed stably."""
        a = self._forward(X)
        z = a - a.max(axis=1, keepdims=True)
        return z - np.log(np.exp(z).sum(axis=1, keepdims=True))

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each row of X."""
        a = self._forward(X)
        return self.classes_[a.argmax(axis=1)]


class MLPRegressor(RegressorMixin, _MLP):
    """A multilayer perceptron regressor trained with mean squared error on linear outputs."""

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True  # y of shape (n, k): k outputs
        return tags

    def _targets(self, y: np.ndarray) -> tuple[np.ndarray, int]:
        self._flat = y.ndim == 1
        t = y.reshape(len(y), -1).astype(np.float64)
        return t, t.shape[1]

    def _loss(self, out: ad.Tensor, t: np.ndarray) -> ad.Tensor:
        return nn.functional.mse_loss(out, t) * (t.shape[1] / 2)  # scikit-learn's ½ Σ over outputs, mean over rows

    def _score_validation(self, X: np.ndarray, t: np.ndarray) -> float:
        with ad.no_grad():
            y = self.model_(X).data
        return float(1 - ((y - t) ** 2).sum() / max(((t - t.mean(axis=0)) ** 2).sum(), 1e-300))

    def predict(self, X: Any) -> np.ndarray:
        """The network's output for each row of X (1-D when it was fitted on a 1-D y)."""
        y = self._forward(X)
        return y[:, 0] if self._flat else y
