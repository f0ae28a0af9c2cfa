"""The command line: SPEC §5's flags, parsed and checked into a `Config`; bad flags are one line and exit 2."""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from nn.datasets import DATASETS
from nn.playground.values import layer_sizes, number

PROG = "autodiff-playground"
ACTIVATIONS = ("tanh", "sigmoid", "relu", "linear")
OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop", "adagrad")


@dataclass
class Config:
    """Everything one playground run needs; the defaults are the default run (2-8-8-2 tanh on the spiral)."""

    dataset: str = "spiral"
    hidden: tuple[int, ...] = (8, 8)
    activation: str = "tanh"
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 0.0
    epochs: int = 800
    batch_size: int = 64
    n: int = 1000
    noise: float = 0.03
    test_fraction: float = 0.2
    seed: int = 0
    out: Path = field(default_factory=lambda: Path("playground-out"))
    progress: bool = True
    serve: bool = False  # --serve: the browser playground instead of one batch run
    host: str = "127.0.0.1"
    port: int = 8000
    open_browser: bool = True
    workers: int = 0  # --workers: server processes, each holding its pages; 0: one per core
    optimizer: str = "sgd"  # one of OPTIMIZERS; --momentum is SGD's and RMSprop's
    dropout: float = 0.0  # dropout probability after each hidden layer's activation (in training only)

    @property
    def regression(self) -> bool:
        """True for the 1-D regression (`sine`), False for the 2-D classification sets."""
        return self.dataset == "sine"

    @property
    def sizes(self) -> list[int]:
        """Layer sizes in → hidden… → out: 2 inputs and 2 classes, or 1 input and 1 output for sine."""
        d_in, d_out = (1, 1) if self.regression else (2, 2)
        return [d_in, *self.hidden, d_out]


class _Parser(argparse.ArgumentParser):
    """argparse, but an error is exactly one line on stderr (no usage block), then exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _argument(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """An argparse type from a parser of `nn.playground.values`: its ValueError becomes argparse's error."""
    def argument(text: str) -> Any:
        try:
            return parse(text)
        except ValueError as e:
            raise argparse.ArgumentTypeError(str(e)) from None

    argument.__name__ = parse.__name__
    return argument


def _number(kind: type, low: float, high: float = math.inf, **kw: bool) -> Callable[[str], Any]:
    return _argument(number(kind, low, high, **kw))


#: Bounds on --hidden: a playground network, evaluated at once on the 200 × 200 grid of the picture
#: (a layer of 1024 units there is 330 MB), with at most about 4 million weights (32 MB in float64).
MAX_UNITS = 1024
MAX_WEIGHTS = 2**22


def _hidden(text: str) -> tuple[int, ...]:
    """'8,8' → (8, 8); '' or 'none' → () (no hidden layer: a linear model); at most MAX_UNITS per layer."""
    sizes = _argument(layer_sizes)(text)
    if sizes and max(sizes) > MAX_UNITS:
        raise argparse.ArgumentTypeError(f"{text[:40]!r}: at most {MAX_UNITS} units per layer in the playground")
    weights = sum(a * b for a, b in zip((2, *sizes), (*sizes, 2)))  # with 2 inputs and 2 outputs, the most there are
    if weights > MAX_WEIGHTS:
        raise argparse.ArgumentTypeError(f"{text[:40]!r}: {weights:,} weights, at most {MAX_WEIGHTS:,} in the playground")
    return sizes


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for `autodiff-playground` (also `python -m nn.playground`)."""
    d = Config()
    p = _Parser(
        prog=PROG,
        description="Train a small network on a playground data set, as the TensorFlow playground does, and "
        "write the decision boundary (or fitted curve), the loss curves, the network's graph and its weights.",
    )
    p.add_argument("--dataset", choices=list(DATASETS), default=d.dataset, help="data set (default: %(default)s)")
    p.add_argument("--hidden", type=_hidden, default=d.hidden, metavar="8,8",
                   help="hidden layer sizes, comma separated; 'none' for no hidden layer (default: 8,8)")
    p.add_argument("--activation", choices=ACTIVATIONS, default=d.activation, help="hidden units' activation (default: %(default)s)")
    p.add_argument("--lr", type=_number(float, 0, low_open=True), default=d.lr, help="learning rate η (default: %(default)s)")
    p.add_argument("--momentum", type=_number(float, 0, 1, high_open=True), default=d.momentum, help="SGD momentum (default: %(default)s)")
    p.add_argument("--weight-decay", type=_number(float, 0), default=d.weight_decay, help="weight decay λ (default: %(default)s)")
    p.add_argument("--optimizer", choices=OPTIMIZERS, default=d.optimizer,
                   help="optimizer; --momentum applies to sgd and rmsprop (default: %(default)s)")
    p.add_argument("--dropout", type=_number(float, 0, 1, high_open=True), default=d.dropout,
                   help="dropout probability after each hidden layer, in training only (default: %(default)s)")
    p.add_argument("--epochs", type=_number(int, 1), default=d.epochs, help="passes over the training set (default: %(default)s)")
    p.add_argument("--batch-size", type=_number(int, 1), default=d.batch_size, help="mini-batch size (default: %(default)s)")
    p.add_argument("--n", type=_number(int, 4), default=d.n, help="number of samples, train and held-out (default: %(default)s)")
    p.add_argument("--noise", type=_number(float, 0), default=d.noise, help="noise standard deviation (default: %(default)s)")
    p.add_argument("--test-fraction", type=_number(float, 0, 1, low_open=True, high_open=True), default=d.test_fraction,
                   help="fraction of samples held out (default: %(default)s)")
    p.add_argument("--seed", type=_number(int, 0), default=d.seed, help="random seed for data, weights and batches (default: %(default)s)")
    p.add_argument("--out", type=Path, default=d.out, help="output folder (default: %(default)s/)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    web = p.add_argument_group("the browser playground", "serve the playground as a live web page; set everything else on the page")
    web.add_argument("--serve", action="store_true", help="serve the page instead of training once (stop with Ctrl-C)")
    web.add_argument("--port", type=_number(int, 0, 65535), default=d.port, help="port, 0 for a free one (default: %(default)s)")
    web.add_argument("--host", default=d.host, help="address to listen on (default: %(default)s, this machine only)")
    web.add_argument("--no-open", action="store_true", help="do not open a browser")
    web.add_argument("--workers", type=_number(int, 0, 64), default=d.workers,
                     help="server processes sharing the pages, a page staying in its own (default: one per core)")
    return p


def parse_args(argv: Sequence[str] | None = None) -> Config:
    """Parse `argv` (default: sys.argv[1:]) into a Config; on bad flags print one line and exit 2."""
    parser = build_parser()
    a = parser.parse_args(sys.argv[1:] if argv is None else list(argv))
    n_test = round(a.n * a.test_fraction)
    if n_test < 1 or a.n - n_test < 1:
        parser.error(f"--n {a.n} with --test-fraction {a.test_fraction} leaves an empty train or held-out set")
    return Config(
        dataset=a.dataset, hidden=a.hidden, activation=a.activation, lr=a.lr, momentum=a.momentum,
        weight_decay=a.weight_decay, optimizer=a.optimizer, dropout=a.dropout, epochs=a.epochs, batch_size=a.batch_size,
        n=a.n, noise=a.noise,
        test_fraction=a.test_fraction, seed=a.seed, out=a.out, progress=not a.quiet,
        serve=a.serve, host=a.host, port=a.port, open_browser=not a.no_open, workers=a.workers,
    )
