"""One page's playground: its data, its network, training epoch by epoch, and what the page draws.

A `Session` is plain Python with no web in it: the server keeps one per open page and calls it
from one worker at a time. Everything random comes from the seed in the settings, in three
streams (data, initial weights, batch order), so a link reproduces a run epoch for epoch, and
`reset()` starts the same run again.
"""

from __future__ import annotations

import base64
import math
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import autodiff as ad
import nn
from nn.data import batches
from nn.datasets import DATASETS, MULTICLASS, load
from nn.playground.serve.features import FEATURES, featurize
from nn.playground.serve.settings import NEW_DATA, NEW_MODEL, SAMPLES, Settings

GRID = 64  # the output heatmap: GRID × GRID points, one batched forward
UNIT = 10  # each unit's square: UNIT × UNIT points
CURVE = 200  # points along the sine's fitted curve
MAX_WEIGHT = 100.0  # a weight typed in by hand


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


def _b64(a: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(a, dtype=np.uint8).tobytes()).decode("ascii")


def _to_byte(v: np.ndarray) -> np.ndarray:
    """Values in [-1, 1] (clipped) as bytes 0…255, the page's colour scale from orange to blue."""
    return np.rint((np.clip(np.nan_to_num(v), -1, 1) + 1) * 127.5).astype(np.uint8)


def _round(a: np.ndarray) -> list[Any]:
    return np.round(np.nan_to_num(a, nan=0.0, posinf=1e9, neginf=-1e9), 5).tolist()


def _finite(v: float) -> float | None:
    return v if math.isfinite(v) else None  # JSON has no NaN: the page shows None as "NaN"


class Session:
    """The playground behind one page. `update` changes the set-up, `train_epoch` trains, `frame` draws."""

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
        if changed & NEW_DATA:
            self._new_data()
        elif changed & NEW_MODEL:
            self._new_model()
        elif changed & {"lr", "momentum"}:
            self._new_optimizer(keep_velocity=True)
        return changed

    def reset(self) -> None:
        """The same run from its start: the same initial weights and batch order, epoch 0."""
        self._new_model()

    def _rng(self, stream: int) -> np.random.Generator:
        return np.random.default_rng([self.settings.seed, stream])

    def _new_data(self) -> None:
        s = self.settings
        rng = self._rng(0)
        if s.dataset == "custom":
            pts = np.array(s.points, dtype=np.float64).reshape(-1, 3)
            order = rng.permutation(len(pts))
            X, t = pts[order, :2], pts[order, 2].astype(np.int64)
        elif s.dataset in MULTICLASS:
            X, t = DATASETS[s.dataset](SAMPLES, s.noise, rng, classes=s.n_classes)
        else:
            X, t = load(s.dataset, SAMPLES, s.noise, rng)
        n_train = min(max(1, round(len(X) * s.train_ratio / 100)), len(X) - 1)
        X_train, X_test, t_train, t_test = X[:n_train], X[n_train:], t[:n_train], t[n_train:]
        if s.regression:
            half = 1.1 * float(np.abs(X).max())
            lo, hi = float(t.min()), float(t.max())
            pad = 0.15 * (hi - lo) + 0.1
            domain = (-half, half, lo - pad, hi + pad)
        else:
            half = max(1.2, math.ceil(10 * 1.05 * float(np.abs(X).max())) / 10)
            domain = (-half, half, -half, half)
        self.data = Data(X_train, t_train, X_test, t_test, X_train, X_test, domain)
        self._new_model()

    def _new_model(self) -> None:
        s, d = self.settings, self.data
        d.F_train, d.F_test = featurize(d.X_train, s.inputs), featurize(d.X_test, s.inputs)
        self.model = nn.MLP(s.sizes, activation=s.activation, rng=self._rng(1))
        self.linears = [m for m in self.model if isinstance(m, nn.Linear)]
        self.loss_fn = nn.MSELoss() if s.regression else nn.CrossEntropyLoss()
        self._batch_rng = self._rng(2)
        self._new_optimizer(keep_velocity=False)
        self.epoch = 0
        self.history: list[list[float | None]] = []
        self.grad_norms = [0.0] * len(self.linears)
        self.diverged: str | None = None
        self.playing = False
        self._last_batch = (self.data.F_train[: s.batch_size], self.data.t_train[: s.batch_size])
        self.history.append(self._evaluate())

    def _new_optimizer(self, keep_velocity: bool) -> None:
        s = self.settings
        old = getattr(self, "opt", None)
        self.opt = nn.SGD(self.model.parameters(), lr=s.lr, momentum=s.momentum)
        if keep_velocity and old is not None and old._velocity is not None and self.opt._velocity is not None:
            self.opt._velocity = old._velocity  # a new rate, the same run: momentum carries on

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

    def train_epoch(self) -> None:
        """One pass over the training set in mini-batches of SGD; stops playing if the loss blows up."""
        d, s = self.data, self.settings
        with np.errstate(all="ignore"):
            for Xb, tb in batches(d.F_train, d.t_train, s.batch_size, rng=self._batch_rng):
                loss = self.objective(Xb, tb)
                self.opt.zero_grad()
                loss.backward()
                self.opt.step()
            self._last_batch = (Xb, tb)
            self.grad_norms = [float(np.linalg.norm(m.weight.grad)) for m in self.linears]
            self.epoch += 1
            row = self._evaluate()
        self.history.append(row)
        if row[1] is None or not all(map(math.isfinite, self.grad_norms)):
            self.playing = False
            self.diverged = (
                f"training diverged at epoch {self.epoch}: the loss is no longer a number. "
                "Press reset and try a smaller learning rate."
            )

    def _evaluate(self) -> list[float | None]:
        """[epoch, train loss, test loss, train accuracy, test accuracy, ‖∂E/∂W‖ per layer…]."""
        d = self.data
        row: list[float | None] = [float(self.epoch)]
        accs: list[float | None] = []
        with ad.no_grad(), np.errstate(all="ignore"):
            for F, t in ((d.F_train, d.t_train), (d.F_test, d.t_test)):
                y = self.model(F)
                row.append(_finite(self.loss_fn(y, t).item()))
                accs.append(None if self.settings.regression else float((y.data.argmax(axis=1) == t).mean()))
        return [*row, *accs, *map(_finite, self.grad_norms)]

    def advance(self, epochs: int, budget: float | None = None) -> list[list[float | None]]:
        """Train `epochs` epochs, fewer if training diverges or after `budget` seconds (at least one
        epoch); return their history rows. The budget splits a run into frames differently, never
        changes the run: each epoch is the same whichever frame it falls in."""
        start, began = len(self.history), time.perf_counter()
        for _ in range(epochs):
            self.train_epoch()
            if self.diverged or (budget is not None and time.perf_counter() - began > budget):
                break
        return self.history[start:]

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

    # --- what the page draws -----------------------------------------------------------------

    def _grid(self, size: int) -> np.ndarray:
        """size × size points over the view, row by row from the top (y falling), x rising."""
        x0, x1, y0, y1 = self.data.domain
        xs = np.linspace(x0, x1, size)
        ys = np.linspace(y1, y0, size)
        G = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)
        return G[:, :1] if self.settings.regression else G

    def _layers(self, X: np.ndarray) -> list[np.ndarray]:
        """The network's inputs, each hidden layer's outputs and its output, for raw points X."""
        h = featurize(X, self.settings.inputs)
        outs = [h]
        with ad.no_grad(), np.errstate(all="ignore"):
            for m in self.model:
                h = m(h)
                if not isinstance(m, nn.Linear):
                    outs.append(h.data)
            outs.append(h.data if isinstance(h, ad.Tensor) else h)
        return outs

    def _outputs_as_unit_values(self, out: np.ndarray) -> np.ndarray:
        # classification: each class's probability p as 2p − 1; regression: y itself
        if self.settings.regression:
            return out
        z = out - out.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        return 2 * p - 1

    def units(self) -> list[list[str]]:
        """Every node's square (inputs, hidden units, outputs) as UNIT × UNIT bytes, base64, layer by layer."""
        layers = self._layers(self._grid(UNIT))
        inputs = layers[0] / np.maximum(np.abs(layers[0]).max(axis=0), 1e-12)  # each feature scaled to [-1, 1]
        squares = [inputs, *layers[1:-1], self._outputs_as_unit_values(layers[-1])]
        return [[_b64(_to_byte(a[:, j])) for j in range(a.shape[1])] for a in squares]

    def output(self) -> dict[str, Any]:
        """The output view: for classification each grid point's class and confidence, for the sine the curve."""
        if self.settings.regression:
            x0, x1 = self.data.domain[:2]
            xs = np.linspace(x0, x1, CURVE)[:, None]
            return {"curve": _round(self._layers(xs)[-1][:, 0]), "x": [x0, x1]}
        logits = self._layers(self._grid(GRID))[-1]
        z = logits - logits.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        k = p.shape[1]
        conf = (p.max(axis=1) - 1 / k) / (1 - 1 / k)  # 0 where undecided, 1 where sure
        return {
            "size": GRID,
            "cls": _b64(p.argmax(axis=1)),
            "conf": _b64(np.rint(255 * np.clip(np.nan_to_num(conf), 0, 1))),
        }

    def frame(self, rows: list[list[float | None]] | None = None) -> dict[str, Any]:
        """Everything the page redraws: read-outs, new history rows, heatmaps, unit squares, weights."""
        last = self.history[-1]
        return {
            "type": "frame",
            "epoch": self.epoch,
            "loss_train": last[1],
            "loss_test": last[2],
            "acc_train": last[3],
            "acc_test": last[4],
            "rows": self.history[-1:] if rows is None else rows,
            "output": self.output(),
            "units": self.units(),
            "weights": [_round(m.weight.data) for m in self.linears],
            "biases": [_round(m.bias.data) if m.bias is not None else None for m in self.linears],
            "sizes": self.settings.sizes,
            "inputs": list(self.settings.inputs),
            "regression": self.settings.regression,
            "playing": self.playing,
            "diverged": self.diverged,
        }

    def data_message(self) -> dict[str, Any]:
        """The points and the view's extent, sent when the data change."""
        d, s = self.data, self.settings
        def pts(X: np.ndarray, t: np.ndarray) -> list[Any]:
            if s.regression:
                return np.round(np.concatenate([X, t], axis=1), 4).tolist()
            return [[round(float(a), 4), round(float(b), 4), int(c)] for (a, b), c in zip(X, t)]
        return {
            "type": "data",
            "train": pts(d.X_train, d.t_train),
            "test": pts(d.X_test, d.t_test),
            "domain": list(d.domain),
            "regression": s.regression,
            "classes": s.n_classes,
            "inputs": list(s.inputs),
            "labels": {name: FEATURES[name][0] for name in s.inputs},
            "sizes": s.sizes,
        }

    def graph(self) -> dict[str, Any]:
        """The backprop graph of the step being taken (the last batch at the current weights), and its explanation."""
        Xb, tb = self._last_batch
        params = list(self.model.parameters())
        kept = [p.grad for p in params]  # the optimizer's gradients stay as they were
        try:
            with np.errstate(all="ignore"):
                loss = self.objective(Xb, tb)
                for p in params:
                    p.grad = None
                loss.backward()  # the graph shows ‖δ‖ once its leaves have gradients
                dot = ad.draw_graph(loss, params=self.model)
                text = ad.explain(loss, params=self.model)
        finally:
            for p, g in zip(params, kept):
                p.grad = g
        try:
            svg = dot.pipe(format="svg").decode("utf-8")
        except Exception:  # Graphviz's dot missing or failing: the page shows the DOT source instead
            svg = None
        return {"type": "graph", "epoch": self.epoch, "svg": svg, "dot": None if svg else dot.source, "explain": text}

    # --- export -----------------------------------------------------------------------------

    def export_weights(self) -> bytes:
        """The trained weights as `.npz` bytes, as `nn.Module.save` writes them (`nn.Module.load` reads them)."""
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "weights.npz"
            self.model.save(path)
            return path.read_bytes()
