"""The training loop: data split, model, an optimizer over mini-batches, loss curves, and divergence caught early."""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import autodiff as ad
import nn
from nn.data import batches
from nn.datasets import load
from nn.playground.cli import Config

# A loss this many times above where training started has blown up, even if still finite.
EXPLODE = 100.0


class Diverged(RuntimeError):
    """Training blew up: the loss became NaN or infinite, or grew past `EXPLODE` × its starting value."""

    def __init__(self, epoch: int, step: int, loss: float, start: float) -> None:
        self.epoch, self.step, self.loss, self.start = epoch, step, loss, start
        what = "became " + ("NaN" if math.isnan(loss) else "infinite") if not math.isfinite(loss) else f"exploded to {loss:.3g}"
        super().__init__(
            f"training diverged at step {step} (epoch {epoch}): the loss {what}, from {start:.3g} at the start; "
            "try a smaller --lr (or less --momentum)"
        )


@dataclass
class Split:
    """The data, split once into a training set and a held-out set."""

    X_train: np.ndarray
    t_train: np.ndarray
    X_test: np.ndarray
    t_test: np.ndarray


@dataclass
class Result:
    """What a run produced: the trained model, its data, and the per-epoch loss curves."""

    model: nn.Module
    data: Split
    train_loss: list[float] = field(default_factory=list)
    test_loss: list[float] = field(default_factory=list)
    train_accuracy: float | None = None
    test_accuracy: float | None = None
    steps: int = 0
    interrupted: bool = False  # Ctrl-C stopped training early: the curves hold the epochs that finished

    @property
    def epochs(self) -> int:
        """Epochs that finished."""
        return len(self.train_loss)


def make_data(config: Config, rng: np.random.Generator) -> Split:
    """Draw `config.n` samples of the data set and hold out `config.test_fraction` of them."""
    X, t = load(config.dataset, config.n, config.noise, rng)
    order = rng.permutation(len(X))
    n_test = round(config.n * config.test_fraction)
    test, train = order[:n_test], order[n_test:]
    return Split(X[train], t[train], X[test], t[test])


def mlp(sizes: list[int], activation: str, dropout: float, rng: np.random.Generator) -> nn.Module:
    """An MLP of `sizes` with `activation` after each hidden layer and a linear output; with
    `dropout`, a Dropout after each hidden activation (masks drawn from `rng`)."""
    model = nn.MLP(sizes, activation=activation, rng=rng)
    if dropout:
        # each hidden activation becomes (activation, Dropout): the layers alternate Linear and
        # activation as before, so the plots and the parameter names stay the same
        model.layers = [nn.Sequential(m, nn.Dropout(dropout, rng=rng)) if i % 2 else m for i, m in enumerate(model.layers)]
    return model


def optimizer(kind: str, params: Any, lr: float, momentum: float = 0.0, weight_decay: float = 0.0) -> nn.Optimizer:
    """The optimizer called `kind` (one of OPTIMIZERS) over `params`; momentum is SGD's and RMSprop's."""
    if kind == "sgd":
        return nn.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    if kind == "rmsprop":
        return nn.RMSprop(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    kinds = {"adam": nn.Adam, "adamw": nn.AdamW, "adagrad": nn.Adagrad}
    return kinds[kind](params, lr=lr, weight_decay=weight_decay)


def make_model(config: Config, rng: np.random.Generator) -> nn.Module:
    """The command's network: `mlp` of the config's sizes, activation and dropout."""
    return mlp(config.sizes, config.activation, config.dropout, rng)


def make_optimizer(config: Config, model: nn.Module) -> nn.Optimizer:
    """`config.optimizer` over the model's parameters with `config.lr` and `config.weight_decay`."""
    return optimizer(config.optimizer, model.parameters(), config.lr, config.momentum, config.weight_decay)


def loss_function(config: Config) -> nn.Module:
    """Cross-entropy on the logits for classification, mean squared error for the sine."""
    return nn.MSELoss() if config.regression else nn.CrossEntropyLoss()


def evaluate(model: nn.Module, loss_fn: nn.Module, X: np.ndarray, t: np.ndarray) -> tuple[float, float | None]:
    """(loss, accuracy) of `model` on (X, t) without recording a graph; accuracy is None for regression."""
    training = model.training
    model.eval()  # no dropout when measuring
    try:
        with ad.no_grad():
            y = model(X)
            loss = loss_fn(y, t).item()
    finally:
        model.train(training)
    accuracy = None if t.ndim == 2 else float((np.asarray(y).argmax(axis=1) == t).mean())
    return loss, accuracy


def _bad(loss: float, start: float) -> bool:
    return not math.isfinite(loss) or loss > EXPLODE * max(start, 1e-3)


def train(config: Config) -> Result:
    """Run one playground experiment as `config` says; raise `Diverged` if the loss blows up.

    Everything random (data, split, initial weights, batch order) comes from one generator seeded
    with `config.seed`, so a run is reproducible.
    """
    rng = np.random.default_rng(config.seed)
    data = make_data(config, rng)
    model = make_model(config, rng)
    loss_fn = loss_function(config)
    opt = make_optimizer(config, model)
    result = Result(model, data)
    # overflow in a diverging run is expected and reported below, not warned about per op
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        start, _ = evaluate(model, loss_fn, data.X_train, data.t_train)
        bar = _progress(config)
        try:
            for epoch in bar:
                _epoch(config, model, loss_fn, opt, data, rng, result, epoch, start)
                if hasattr(bar, "set_postfix"):
                    bar.set_postfix({"loss": f"{result.train_loss[-1]:.4f}", "held-out": f"{result.test_loss[-1]:.4f}"},
                                    refresh=False)
        except KeyboardInterrupt:  # Ctrl-C, in an epoch or in the progress bar: stop, keeping what the finished epochs learnt
            result.interrupted = True
        finally:
            if hasattr(bar, "close"):
                bar.close()
    n = min(len(result.train_loss), len(result.test_loss))  # a Ctrl-C between the two appends
    del result.train_loss[n:], result.test_loss[n:]
    model.eval()  # what is drawn and saved from here on is the network without dropout
    _, result.train_accuracy = evaluate(model, loss_fn, data.X_train, data.t_train)
    _, result.test_accuracy = evaluate(model, loss_fn, data.X_test, data.t_test)
    return result


def _epoch(config: Config, model: nn.Module, loss_fn: nn.Module, opt: nn.Optimizer, data: Split, rng: np.random.Generator,
           result: Result, epoch: int, start: float) -> None:
    """One pass over the training set, then both losses appended to the curves (together, or neither)."""
    for Xb, tb in batches(data.X_train, data.t_train, config.batch_size, rng=rng):
        loss = loss_fn(model(Xb), tb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        result.steps += 1
        value = loss.item()
        if _bad(value, start):
            raise Diverged(epoch + 1, result.steps, value, start)
    train_loss, _ = evaluate(model, loss_fn, data.X_train, data.t_train)
    test_loss, _ = evaluate(model, loss_fn, data.X_test, data.t_test)
    if _bad(train_loss, start):
        raise Diverged(epoch + 1, result.steps, train_loss, start)
    result.train_loss.append(train_loss)
    result.test_loss.append(test_loss)


def _progress(config: Config) -> Any:  # a tqdm bar, or a plain range when quiet
    if not config.progress:
        return range(config.epochs)
    from tqdm.auto import tqdm  # a widget bar in a notebook, a text bar in a terminal

    return tqdm(range(config.epochs), desc=f"{config.dataset} {'-'.join(map(str, config.sizes))}", unit="epoch",
                file=sys.stderr, dynamic_ncols=True, mininterval=0.2)
