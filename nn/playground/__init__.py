"""The playground: train a small network on a 2-D data set from the terminal and see what it learned.

`autodiff-playground` and `python -m nn.playground` run `main`; see `--help` for the flags.
matplotlib and tqdm are imported only while a run draws and trains, never by `import nn`;
`widget(...)` is the browser playground in a notebook (anywidget, imported when it is called).
"""

from nn.playground.cli import Config, parse_args
from nn.playground.run import main
from nn.playground.train import Diverged, Result, train
from nn.playground.widget import widget

__all__ = ["Config", "Diverged", "Result", "main", "parse_args", "train", "widget"]
