"""One playground run from flags to files: parse, train, draw into a temporary folder, then move into --out.

Exit status: 0 done; 1 training diverged, ran out of memory, --out cannot be written or an
optional package is missing; 2 bad flags; 130 stopped by Ctrl-C (what the finished epochs learnt is
written). Nothing is left half-written: every file is made in a hidden temporary folder inside --out
and moved into place only when all of them exist; on failure the temporary folder (and --out, if
this run created it) is removed.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import autodiff as ad
from autodiff.extras import MissingExtra, require
from nn.playground import plots
from nn.playground.cli import PROG, Config, parse_args
from nn.playground.train import Diverged, Result, loss_function, train

INTERRUPTED = 130  # the exit status of a program stopped by Ctrl-C (128 + SIGINT)


class OutputError(RuntimeError):
    """--out cannot be created or written."""


class Staging:
    """A hidden temporary folder inside `out`; `commit()` moves its files into `out`, `abort()` undoes it all."""

    def __init__(self, out: Path) -> None:
        self.out = out
        missing = [p for p in (out, *out.parents) if not p.exists()]
        self._created = missing[-1] if missing else None  # the topmost folder this run creates
        if out.exists() and not out.is_dir():
            raise OutputError(f"cannot write to {str(out)!r}: it is a file, not a folder")
        try:
            out.mkdir(parents=True, exist_ok=True)
            self.tmp = Path(tempfile.mkdtemp(prefix=".playground-", dir=out))
        except OSError as e:
            self._remove_created()
            reason = e.strerror or str(e)
            raise OutputError(f"cannot write to {str(out)!r}: {reason}") from None

    def commit(self) -> list[Path]:
        """Move every staged file into `out` (replacing older ones) and return their new paths."""
        moved = []
        for f in sorted(self.tmp.iterdir()):
            target = self.out / f.name
            f.replace(target)
            moved.append(target)
        self.tmp.rmdir()
        return moved

    def abort(self) -> None:
        """Remove the staged files, and `out` itself if this run created it."""
        shutil.rmtree(self.tmp, ignore_errors=True)
        self._remove_created()

    def _remove_created(self) -> None:
        if self._created is None:
            return
        for folder in (self.out, *self.out.parents):
            try:
                folder.rmdir()  # only empty folders go
            except OSError:
                return
            if folder == self._created:
                return


def describe(config: Config) -> str:
    """'spiral, 2-8-8-2 tanh': the data set and the network, as the summary and titles say it."""
    act = config.activation if config.hidden else "linear"
    return f"{config.dataset}, {'-'.join(map(str, config.sizes))} {act}"


def write_outputs(config: Config, result: Result, folder: Path) -> dict[str, str]:
    """Draw the pictures, the graph and the weights into `folder`; return {file name: what it is}."""
    d, model, title = result.data, result.model, describe(config)
    written: dict[str, str] = {}
    if config.regression:
        plots.fitted_curve(model, d.X_train, d.t_train, d.X_test, d.t_test, folder / "fit.png", title=title)
        written["fit.png"] = "the fitted curve over the data"
    else:
        title += f" · held-out accuracy {100 * result.test_accuracy:.1f} %"
        plots.decision_boundary(model, d.X_train, d.t_train, d.X_test, d.t_test, folder / "boundary.png", title=title)
        written["boundary.png"] = "the decision boundary over the data"
    plots.network_view(model, d.X_train, folder / "units.png", title=describe(config), classification=not config.regression)
    written["units.png"] = "the network: each unit's output over the inputs as a square, the weights as arrows"
    loss_name = "mean squared error" if config.regression else "cross-entropy"
    plots.loss_curves(result.train_loss, result.test_loss, folder / "loss.png", title=describe(config), ylabel=loss_name)
    written["loss.png"] = "train and held-out loss per epoch"
    written.update(_graph(config, result, folder))
    model.save(folder / "weights.npz")
    written["weights.npz"] = "the final weights (nn.Module.load reads them)"
    return written


def _graph(config: Config, result: Result, folder: Path) -> dict[str, str]:
    """The network's graph after one backward pass on four training points, as SVG (DOT source without Graphviz)."""
    model, d = result.model, result.data
    model.zero_grad()
    loss = loss_function(config)(model(d.X_train[:4]), d.t_train[:4])
    loss.backward()
    try:
        ad.save_graph(loss, folder / "graph.svg", params=model)
        return {"graph.svg": "the network's graph, shaded by gradient (one backward pass on 4 points)"}
    except RuntimeError:  # Graphviz's dot is missing: the source still shows the graph
        ad.save_graph(loss, folder / "graph.dot", params=model)
        return {"graph.dot": "the network's graph as DOT source (install Graphviz's dot to get graph.svg)"}
    finally:
        model.zero_grad()


def _optimizer_text(config: Config) -> str:
    """'SGD (lr 0.05, momentum 0.9, weight decay 0)': the optimizer and the settings it uses."""
    name = {"sgd": "SGD", "adam": "Adam", "adamw": "AdamW", "rmsprop": "RMSprop", "adagrad": "Adagrad"}[config.optimizer]
    momentum = f", momentum {config.momentum:g}" if config.optimizer in ("sgd", "rmsprop") else ""
    dropout = f", dropout {config.dropout:g}" if config.dropout else ""
    return f"{name} (lr {config.lr:g}{momentum}, weight decay {config.weight_decay:g}{dropout})"


def _partial_steps(result: Result, config: Config) -> int:
    """Steps taken in an epoch that Ctrl-C cut short (0 when every step belongs to a finished epoch)."""
    per_epoch = -(-len(result.data.X_train) // config.batch_size)  # the batches of one pass over the training set
    return max(0, result.steps - result.epochs * per_epoch)


def _trained(result: Result, config: Config) -> str:
    """'40 epochs', or after a Ctrl-C in the middle of one, '2 epochs and 3 steps into epoch 3'."""
    partial = _partial_steps(result, config)
    into = f" and {partial} step{'s' * (partial != 1)} into epoch {result.epochs + 1}" if partial else ""
    return f"{result.epochs} epochs{into}"


def summary(config: Config, result: Result, written: dict[str, str]) -> str:
    """The lines printed at the end of a run: what was trained, how well, and where the files are."""
    metric = "mean squared error" if config.regression else "cross-entropy"
    lines = [
        f"{describe(config)}: {_trained(result, config)}, {result.steps} steps of {_optimizer_text(config)}",
        f"  {metric}: train {result.train_loss[-1]:.4f}, held out {result.test_loss[-1]:.4f}",
    ]
    if not config.regression:
        lines.append(f"  accuracy: train {100 * result.train_accuracy:.1f} %, held out {100 * result.test_accuracy:.1f} %")
    lines.append(f"wrote {config.out}{'' if str(config.out).endswith('/') else '/'}")
    width = max(map(len, written))
    lines += [f"  {name:<{width}}  {what}" for name, what in written.items()]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """`autodiff-playground [flags]`: train, draw, save and summarise; returns the exit status."""
    config = parse_args(argv)  # bad flags exit here with status 2
    try:  # a missing optional package is one line, before any work
        if config.serve:
            require(["starlette", "uvicorn", "websockets"], "playground", "--serve")
        else:
            require(["matplotlib"], "playground", "drawing the pictures")
            if config.progress:
                require(["tqdm"], "playground", "the progress bar (--quiet has none)")
    except MissingExtra as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 1
    if config.serve:
        from nn.playground.serve.server import serve

        return serve(config.host, config.port, config.open_browser, prog=PROG, workers=config.workers)
    try:
        staging = Staging(config.out)
    except OutputError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 1
    try:
        result = train(config)
        if result.interrupted and not result.epochs:
            staging.abort()
            print(f"{PROG}: interrupted before the first epoch finished; nothing was written", file=sys.stderr)
            return INTERRUPTED
        written = write_outputs(config, result, staging.tmp)
        staging.commit()
    except Diverged as e:
        staging.abort()
        print(f"{PROG}: {e}; nothing was written", file=sys.stderr)
        return 1
    except OSError as e:
        staging.abort()
        print(f"{PROG}: error: cannot write to {str(config.out)!r}: {e.strerror or e}; nothing was written", file=sys.stderr)
        return 1
    except MemoryError:
        staging.abort()
        print(f"{PROG}: error: out of memory for {describe(config)}; try a smaller --hidden or --batch-size; "
              "nothing was written", file=sys.stderr)
        return 1
    except BaseException:
        staging.abort()
        raise
    print(summary(config, result, written))
    if result.interrupted:
        partial = _partial_steps(result, config)
        into = f" and {partial} step{'s' * (partial != 1)} into epoch {result.epochs + 1}" if partial else ""
        print(f"{PROG}: interrupted after {result.epochs} of {config.epochs} epochs{into}: wrote what was trained so far",
              file=sys.stderr)
        return INTERRUPTED
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
