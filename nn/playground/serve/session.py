"""One page's playground: its data, its network, and training step by step (`views` draws it).

A `Session` is plain Python with no web in it: the server keeps one per open page and calls it
from one worker at a time. Everything random comes from the seed in the settings, in three
streams (data, initial weights, batch order), so a link reproduces a run epoch for epoch, and
`reset()` starts the same run again.
"""

from __future__ import annotations

import contextlib
import math
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import autodiff as ad
import nn
from nn.datasets import DATASETS, MULTICLASS, load
from nn.playground.serve.features import featurize
from nn.playground.serve.settings import NEW_DATA, NEW_MODEL, SAMPLES, Settings
from nn.playground.train import mlp, optimizer

MAX_WEIGHT = 100.0  # a weight typed in by hand
MAX_HISTORY = 5000  # rows of loss history kept; older ones are thinned, so a page can play for days
# The data sets of `nn.datasets` live in the unit square; the page stretches them as the TensorFlow
# playground draws its points, over ±6, where sin x₁ is no copy of x₁.
SCALE = 5.0
VIEW = 6.0
# The noise slider's 100 % as a standard deviation in each data set's own units: its 50 % blurs a
# spiral's arms without merging them, and scatters xor, circle and blobs as far as the TF playground.
NOISE = {"spiral": 0.12, "xor": 0.6, "circle": 0.6, "gauss": 0.6, "sine": 1.0}


@dataclass
class Data:
    """A data set split once: raw points (for drawing) and the network's inputs (features of them)."""

    X_train: np.ndarray
    t_train: np.ndarray
    X_test: np.ndarray
    t_test: np.ndarray
    F_train: np.ndarray  # the network's inputs: features of the points, made anew with the network
    F_test: np.ndarray
    domain: tuple[float, float, float, float]  # x_min, x_max, y_min, y_max of the view


def _finite(v: float) -> float | None:
    return v if math.isfinite(v) else None  # JSON has no NaN: the page shows None as "NaN"


class Session:
    """The playground behind one page. `update` changes the set-up, `advance` trains; `views` draws it."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        self.playing = False
        self._new_data()

    # --- set-up ------------------------------------------------------------------------------

    def update(self, values: dict[str, Any]) -> set[str]:
        """Apply control values (id → text); return the ids that changed. Bad values raise
        `SettingsError` and change nothing. New data or a new network restart training."""
        new, changed = self.settings.update(values)
        self.settings = new
        self._step_objective = None  # what a step computes may have changed: trace it again
        if changed & NEW_DATA:
            self._new_data()
        elif changed & NEW_MODEL:
            self._new_model()
        elif "optimizer" in changed:
            self._new_optimizer()  # another optimizer from here on: its own state starts afresh
        elif changed & {"lr", "momentum"}:
            self._set_rates()
        return changed

    def reset(self) -> None:
        """The same run from its start: the same initial weights and batch order, epoch 0."""
        self._new_model()

    def restart(self, values: dict[str, Any]) -> set[str]:
        """A preset: apply `values`, then start from fresh weights at epoch 0 with an empty history,
        whatever changed (also nothing, when the same preset is chosen again)."""
        changed = self.update(values)
        self._new_model()
        return changed

    def _rng(self, stream: int) -> np.random.Generator:
        return np.random.default_rng([self.settings.seed, stream])

    def _new_data(self) -> None:
        s = self.settings
        rng = self._rng(0)
        if s.dataset == "custom":
            pts = np.array(s.points, dtype=np.float64).reshape(-1, 3)
            order = rng.permutation(len(pts))
            X, t = pts[order, :2], pts[order, 2].astype(np.int64)
        else:
            noise = NOISE[s.dataset] * s.noise / 100
            if s.dataset in MULTICLASS:
                X, t = DATASETS[s.dataset](SAMPLES, noise, rng, classes=s.n_classes)
            else:
                X, t = load(s.dataset, SAMPLES, noise, rng)
            if not s.regression:
                X = X * SCALE
        n_train = min(max(1, round(len(X) * s.train_ratio / 100)), len(X) - 1)
        X_train, X_test, t_train, t_test = X[:n_train], X[n_train:], t[:n_train], t[n_train:]
        if s.regression:
            half = 1.1 * float(np.abs(X).max())
            lo, hi = float(t.min()), float(t.max())
            pad = 0.15 * (hi - lo) + 0.1
            domain = (-half, half, lo - pad, hi + pad)
        else:
            half = VIEW if s.dataset != "custom" else max(VIEW, math.ceil(float(np.abs(X).max())))
            domain = (-half, half, -half, half)
        self.data = Data(X_train, t_train, X_test, t_test, X_train, X_test, domain)
        self._new_model()

    def _new_model(self) -> None:
        s, d = self.settings, self.data
        d.F_train, d.F_test = featurize(d.X_train, s.inputs), featurize(d.X_test, s.inputs)
        self.model = mlp(s.sizes, s.activation, s.dropout, self._rng(1))
        self.linears = [m for m in self.model if isinstance(m, nn.Linear)]
        self.loss_fn = nn.MSELoss() if s.regression else nn.CrossEntropyLoss()
        self._batch_rng = self._rng(2)
        self._epoch_batches: Iterator[tuple[np.ndarray, np.ndarray]] | None = None
        self._new_optimizer()
        self._step_objective: Any = None
        self.epoch = 0
        self.history: list[list[float | None]] = []
        self.grad_norms = [0.0] * len(self.linears)
        self._norm_sum = np.zeros(len(self.linears))  # ‖∂E/∂W‖ per layer summed over this epoch's steps so far
        self._norm_steps = 0
        self.stop_requested = False  # set from another thread (a message came): the current frame ends at its next step
        self.diverged: str | None = None
        self.playing = False
        self.last_batch = (self.data.F_train[: s.batch_size], self.data.t_train[: s.batch_size])
        self.history.append(self._evaluate())

    def _new_optimizer(self) -> None:
        s = self.settings
        self.opt = optimizer(s.optimizer, self.model.parameters(), s.lr, s.momentum)

    def _set_rates(self) -> None:
        """A new learning rate or momentum, the same run: the optimizer's state (its velocity) carries on."""
        for group in self.opt.param_groups:
            group["lr"] = self.settings.lr
            if "momentum" in group:  # SGD's and RMSprop's
                group["momentum"] = self.settings.momentum

    @contextlib.contextmanager
    def predicting(self) -> Iterator[None]:
        """The network as it predicts: no graph, and no dropout (eval mode) until the block ends."""
        self.model.eval()
        try:
            with ad.no_grad(), np.errstate(all="ignore"):
                yield
        finally:
            self.model.train()

    # --- training ----------------------------------------------------------------------------

    def penalty(self) -> ad.Tensor | None:
        """The regularization term on the weights (not the biases): λ Σ|w| (L1) or (λ/2) Σ w² (L2)."""
        s = self.settings
        if s.regularization == "none" or s.reg_rate == 0:
            return None
        if s.regularization == "L1":
            terms = [m.weight.abs().sum() for m in self.linears]
        else:
            terms = [(m.weight * m.weight).sum() for m in self.linears]
        total = terms[0]
        for term in terms[1:]:
            total = total + term
        return total * (s.reg_rate if s.regularization == "L1" else s.reg_rate / 2)

    def objective(self, X: np.ndarray, t: np.ndarray) -> ad.Tensor:
        """What one step minimises on the batch (X, t): the data loss plus the penalty."""
        loss = self.loss_fn(self.model(X), t)
        reg = self.penalty()
        return loss if reg is None else loss + reg

    def _compiled_objective(self) -> Any:
        """`objective` as the training steps run it: compiled (traced on the first step after any
        change of settings, then replayed), or eagerly when dropout draws new masks every step.
        The graph view runs `objective` itself, so the page still draws every op."""
        if self._step_objective is None:
            self._step_objective = self.objective if self.settings.dropout else ad.compile(self.objective)
        return self._step_objective

    def train_epoch(self) -> None:
        """One pass over the training set in mini-batches of SGD (the rest of one, if a budget cut it short)."""
        self._train(None)

    def _train(self, deadline: float | None, interruptible: bool = False) -> list[float | None] | None:
        """Steps of the current epoch until it ends (its history row is returned) or `deadline` passes (None).

        The epoch's batches live on between calls, so a frame may end mid-epoch and the next one
        carries on: however the time is cut, the run is the same, step for step.
        """
        d, s = self.data, self.settings
        if self._epoch_batches is None:
            self._epoch_batches = nn.batches(d.F_train, d.t_train, s.batch_size, rng=self._batch_rng)
        with np.errstate(all="ignore"):
            objective = self._compiled_objective()
            for Xb, tb in self._epoch_batches:
                loss = objective(Xb, tb)
                self.opt.zero_grad()
                loss.backward()
                self.opt.step()
                self.last_batch = (Xb, tb)
                for i, m in enumerate(self.linears):
                    g = m.weight.grad.ravel()
                    self._norm_sum[i] += math.sqrt(float(g @ g))
                self._norm_steps += 1
                if (interruptible and self.stop_requested) or (deadline is not None and time.perf_counter() > deadline):
                    return None
            self._epoch_batches = None
            # the mean over the epoch's steps: one mini-batch's norm is noise at batch size 10
            self.grad_norms = (self._norm_sum / max(self._norm_steps, 1)).tolist()
            self._norm_sum[:] = 0
            self._norm_steps = 0
            self.epoch += 1
            row = self._evaluate()
        self._record(row)
        if row[1] is None or not all(map(math.isfinite, self.grad_norms)):
            self.playing = False
            self.diverged = (
                f"training diverged at epoch {self.epoch}: the loss is no longer a number. "
                "Press reset and try a smaller learning rate."
            )
        return row

    def _record(self, row: list[float | None]) -> None:
        """Append an epoch's row; past MAX_HISTORY rows, thin the older half to every other row."""
        self.history.append(row)
        if len(self.history) > MAX_HISTORY:
            keep = MAX_HISTORY // 2
            self.history = self.history[:-keep:2] + self.history[-keep:]

    def _evaluate(self) -> list[float | None]:
        """[epoch, train loss, test loss, train accuracy, test accuracy, ‖∂E/∂W‖ per layer…]."""
        d = self.data
        row: list[float | None] = [float(self.epoch)]
        accs: list[float | None] = []
        with self.predicting():
            for F, t in ((d.F_train, d.t_train), (d.F_test, d.t_test)):
                y = self.model(F)
                row.append(_finite(self.loss_fn(y, t).item()))
                accs.append(None if self.settings.regression else float((y.data.argmax(axis=1) == t).mean()))
        return [*row, *accs, *map(_finite, self.grad_norms)]

    def advance(self, epochs: int, budget: float | None = None, interruptible: bool = False) -> list[list[float | None]]:
        """Train `epochs` epochs, fewer if training diverges, `budget` seconds pass or (when
        `interruptible`, as a frame of play is) `stop_requested` is set, then possibly stopping
        mid-epoch: the next call carries on. Returns the rows of the epochs that ended."""
        deadline = None if budget is None else time.perf_counter() + budget
        rows = []
        for _ in range(epochs):
            row = self._train(deadline, interruptible)
            if row is None:
                break
            rows.append(row)
            if self.diverged or (interruptible and self.stop_requested) or (deadline is not None and time.perf_counter() > deadline):
                break
        return rows

    def set_weight(self, layer: Any, to: Any, source: Any, value: Any) -> None:
        """Set one weight w_ji of layer `layer` (j = `to`, i = `source`; `source` "bias" for b_j) by hand."""
        def index(v: Any, n: int, what: str) -> int:
            if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < n:
                raise ValueError(f"{what} must be an integer from 0 to {n - 1}, got {v!r}")
            return v

        li = index(layer, len(self.linears), "layer")
        lin = self.linears[li]
        j = index(to, lin.weight.shape[0], "unit")
        i = None if source == "bias" else index(source, lin.weight.shape[1], "input")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not abs(value) <= MAX_WEIGHT:
            raise ValueError(f"a weight must be a number from -{MAX_WEIGHT:g} to {MAX_WEIGHT:g}, got {value!r}")
        if i is None:
            if lin.bias is None:
                raise ValueError("this layer has no bias")
            lin.bias.data[j] = value
        else:
            lin.weight.data[j, i] = value
        self.history[-1] = self._evaluate()

    # --- export -----------------------------------------------------------------------------

    def export_weights(self) -> bytes:
        """The trained weights as `.npz` bytes, as `nn.Module.save` writes them (`nn.Module.load` reads them)."""
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "weights.npz"
            self.model.save(path)
            return path.read_bytes()
