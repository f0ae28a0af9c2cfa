"""The playground end to end on a small budget: files written, exit codes, bad flags, unwritable output, divergence."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import nn
from nn.playground import Config, Diverged, main, parse_args, train
from nn.playground import run as run_module

ROOT = Path(__file__).resolve().parent.parent
SMALL = ["--epochs", "4", "--n", "60", "--quiet"]
HAS_DOT = shutil.which("dot") is not None
GRAPH = "graph.svg" if HAS_DOT else "graph.dot"


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_defaults_are_the_default_run():
    config = parse_args([])
    assert config == Config()
    assert (config.dataset, config.sizes, config.activation) == ("spiral", [2, 8, 8, 2], "tanh")
    assert config.out == Path("playground-out")


def test_default_run_learns_the_spiral():
    """The default run's code path with fewer epochs than its 800, and a lower bar than its ≥ 95 %."""
    result = train(dataclasses.replace(Config(), epochs=500, progress=False))
    assert result.test_accuracy >= 0.90
    assert len(result.train_loss) == len(result.test_loss) == 500
    assert result.train_loss[-1] < 0.5 * result.train_loss[0]


def test_flags_reach_the_config(tmp_path):
    config = parse_args(
        ["--dataset", "xor", "--hidden", "4,3,2", "--activation", "relu", "--lr", "0.2", "--momentum", "0",
         "--weight-decay", "1e-3", "--epochs", "7", "--batch-size", "5", "--noise", "0.2",
         "--test-fraction", "0.5", "--seed", "9", "--out", str(tmp_path), "--n", "50"]
    )
    assert config == Config("xor", (4, 3, 2), "relu", 0.2, 0.0, 1e-3, 7, 5, 50, 0.2, 0.5, 9, tmp_path, True)
    assert parse_args(["--hidden", "none"]).sizes == [2, 2]
    assert parse_args(["--dataset", "sine"]).sizes == [1, 8, 8, 1]


def test_cli_writes_every_output(tmp_path, capsys):
    out = tmp_path / "new" / "out"
    assert main([*SMALL, "--out", str(out)]) == 0
    assert listing(out) == sorted(["boundary.png", "loss.png", GRAPH, "units.png", "weights.npz"])
    assert (out / "boundary.png").read_bytes()[:4] == b"\x89PNG"
    assert (out / "units.png").read_bytes()[:4] == b"\x89PNG"
    if HAS_DOT:
        assert "<svg" in (out / "graph.svg").read_text()
    model = nn.MLP([2, 8, 8, 2])
    model.load(out / "weights.npz")  # the weights fit the network that was trained
    printed = capsys.readouterr().out
    assert "held out" in printed and str(out) in printed
    for name in listing(out):
        assert name in printed


def test_sine_draws_the_fitted_curve(tmp_path):
    assert main([*SMALL, "--dataset", "sine", "--hidden", "5", "--out", str(tmp_path)]) == 0
    assert listing(tmp_path) == sorted(["fit.png", "loss.png", GRAPH, "units.png", "weights.npz"])


def test_runs_are_reproducible_and_replace_old_outputs(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    (tmp_path / "loss.png").write_text("old")
    a, b = tmp_path / "a", tmp_path / "b"
    assert main([*SMALL, "--seed", "3", "--out", str(a)]) == 0
    assert main([*SMALL, "--seed", "3", "--out", str(b)]) == 0
    wa, wb = np.load(a / "weights.npz"), np.load(b / "weights.npz")
    assert all(np.array_equal(wa[k], wb[k]) for k in wa.files)
    assert main([*SMALL, "--out", str(tmp_path)]) == 0
    assert (tmp_path / "notes.txt").read_text() == "mine"  # other files are left alone
    assert (tmp_path / "loss.png").read_bytes()[:4] == b"\x89PNG"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging folder left


@pytest.mark.parametrize(
    "flags",
    [["--bogus"], ["--dataset", "moons"], ["--lr", "-1"], ["--lr", "abc"], ["--epochs", "0"], ["--epochs", "1.5"],
     ["--hidden", "8,x"], ["--hidden", "8,0"], ["--hidden", "0"], ["--activation", "softplus"], ["--test-fraction", "1"],
     ["--momentum", "1"], ["--noise", "-0.1"], ["--n", "5", "--test-fraction", "0.01"], ["--batch-size"]],
)
def test_bad_flags_exit_2_with_one_line(flags, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main([*flags, "--out", str(tmp_path / "out")])
    assert exc.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert len(captured.err.strip().splitlines()) == 1 and "error" in captured.err
    assert not (tmp_path / "out").exists()


def test_unwritable_out_is_a_clear_error_and_writes_nothing(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    for out in (blocker, blocker / "sub"):
        assert main([*SMALL, "--out", str(out)]) == 1
        err = capsys.readouterr().err
        assert "cannot write" in err and str(out) in err
    assert listing(tmp_path) == ["a-file"] and blocker.read_text() == ""


def test_failure_while_writing_leaves_nothing_behind(tmp_path, monkeypatch, capsys):
    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(run_module.plots, "loss_curves", full_disk)
    fresh = tmp_path / "fresh" / "out"
    assert main([*SMALL, "--out", str(fresh)]) == 1
    assert "No space left" in capsys.readouterr().err
    assert listing(tmp_path) == []  # the folders this run created are gone too
    kept = tmp_path / "kept"
    kept.mkdir()
    (kept / "loss.png").write_text("old")
    assert main([*SMALL, "--out", str(kept)]) == 1
    assert listing(kept) == ["loss.png"] and (kept / "loss.png").read_text() == "old"


def test_divergence_is_reported_not_drawn(tmp_path, capsys):
    out = tmp_path / "out"
    assert main([*SMALL, "--lr", "50", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "diverged at step" in err and "--lr" in err
    assert len(err.strip().splitlines()) == 1
    assert not out.exists()


@pytest.mark.parametrize("dataset", ["spiral", "sine"])
def test_diverged_carries_step_and_loss(dataset):
    config = Config(dataset=dataset, lr=1e3, epochs=20, n=40, progress=False)
    with pytest.raises(Diverged) as exc:
        train(config)
    e = exc.value
    assert e.step >= 1 and e.epoch >= 1
    assert not np.isfinite(e.loss) or e.loss > 100 * e.start
    assert f"step {e.step}" in str(e)


def test_python_m_runs_with_a_progress_bar(tmp_path):
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "nn.playground", "--epochs", "3", "--n", "40", "--out", str(out)],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "epoch" in proc.stderr and "loss=" in proc.stderr  # tqdm's bar with the live loss
    assert "boundary.png" in proc.stdout and (out / "boundary.png").exists()


def test_import_nn_pulls_in_no_plotting():
    code = "import sys, autodiff, nn, nn.playground; sys.exit(bool({'matplotlib', 'tqdm'} & set(sys.modules)))"
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0


def _interrupt_at(monkeypatch, epoch: int) -> None:
    """Make Ctrl-C arrive while epoch `epoch` (1-based) trains."""
    import importlib

    train_module = importlib.import_module("nn.playground.train")  # the module, not the function of that name
    real, calls = train_module._epoch, []

    def epoch_or_ctrl_c(*args, **kwargs):
        calls.append(1)
        if len(calls) == epoch:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(train_module, "_epoch", epoch_or_ctrl_c)


def test_ctrl_c_stops_and_writes_what_the_finished_epochs_learnt(tmp_path, monkeypatch, capsys):
    _interrupt_at(monkeypatch, 3)
    assert main([*SMALL, "--out", str(tmp_path)]) == 130
    assert listing(tmp_path) == sorted(["boundary.png", "loss.png", GRAPH, "units.png", "weights.npz"])
    captured = capsys.readouterr()
    assert "2 epochs" in captured.out
    assert captured.err.strip() == "autodiff-playground: interrupted after 2 of 4 epochs: wrote what was trained so far"


def test_ctrl_c_before_the_first_epoch_writes_nothing(tmp_path, monkeypatch, capsys):
    out = tmp_path / "out"
    _interrupt_at(monkeypatch, 1)
    assert main([*SMALL, "--out", str(out)]) == 130
    assert not out.exists()
    assert "nothing was written" in capsys.readouterr().err


def test_a_real_ctrl_c_ends_a_long_run_cleanly(tmp_path):
    import re
    import signal
    import threading
    import time

    proc = subprocess.Popen([sys.executable, "-m", "nn.playground", "--epochs", "100000", "--n", "200", "--out", str(tmp_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    err: list[str] = []
    reader = threading.Thread(target=lambda: err.extend(iter(lambda: proc.stderr.read(1), "")), daemon=True)
    reader.start()
    deadline = time.monotonic() + 120
    while not re.search(r" [1-9]\d*/100000", "".join(err)) and time.monotonic() < deadline:  # an epoch has finished
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    out = proc.stdout.read()
    assert proc.wait(timeout=60) == 130
    reader.join(timeout=10)
    err_text = "".join(err)
    assert "Traceback" not in err_text and "interrupted after" in err_text
    assert (tmp_path / "weights.npz").exists() and "wrote" in out


@pytest.mark.parametrize(("flags", "missing"), [([], "matplotlib"), ([], "tqdm"), (["--serve"], "uvicorn")])
def test_a_missing_optional_package_is_one_line_before_any_work(tmp_path, flags, missing):
    code = (f"import sys; sys.modules[{missing!r}] = None; from nn.playground import main; "
            f"sys.exit(main({[*flags, '--epochs', '1', '--out', str(tmp_path / 'out')]!r}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert out.returncode == 1 and out.stdout == ""
    assert out.stderr.count("\n") == 1 and missing in out.stderr
    assert "pip install 'autodiff-playground[playground]'" in out.stderr
    assert not (tmp_path / "out").exists()


def test_training_points_keep_a_dark_rim_on_their_own_background():
    from matplotlib.colors import to_rgba
    from matplotlib.figure import Figure

    from nn.playground.plots import draw_boundary

    X, t = nn.datasets.gauss(40, 0.1, np.random.default_rng(0))
    ax = Figure().add_subplot()
    draw_boundary(ax, nn.MLP([2, 2], rng=np.random.default_rng(0)), X, t, X[:5], t[:5], resolution=10)
    for points in ax.collections[-4:]:  # train and held-out points of both classes
        r, g, b, _ = to_rgba(points.get_edgecolor()[0])
        assert 0.2126 * r + 0.7152 * g + 0.0722 * b < 0.2


def test_units_png_draws_a_square_per_unit_and_an_arrow_per_weight(tmp_path):
    from matplotlib.collections import LineCollection
    from matplotlib.colors import to_rgb
    from matplotlib.image import AxesImage

    from nn.playground.plots import network_view

    model = nn.MLP([2, 3, 4, 2], rng=np.random.default_rng(0))
    X = np.random.default_rng(1).uniform(-1, 1, (30, 2))
    fig = network_view(model, X, tmp_path / "units.png", resolution=8)
    board = fig.axes[0]
    squares = [c for c in board.get_children() if isinstance(c, AxesImage)]
    assert len(squares) == 2 + 3 + 4 + 2  # inputs, both hidden layers, outputs
    (arrows,) = [c for c in board.collections if isinstance(c, LineCollection)]
    weights = np.concatenate([m.weight.data.ravel() for m in model if isinstance(m, nn.Linear)])
    assert len(arrows.get_segments()) == weights.size == 2 * 3 + 3 * 4 + 4 * 2
    blue = sum(np.allclose(c[:3], to_rgb("#0877bd")) for c in arrows.get_colors())
    assert blue == (weights > 0).sum()  # positive weights blue, negative orange
    widths = arrows.get_linewidths()
    assert widths[np.argmax(np.abs(weights[:6]))] == max(widths[:6])  # the biggest weight of a layer is thickest
    assert any(ax.get_ylabel() == "unit output over the input plane" for ax in fig.axes)  # the colour bar
    values = squares[2].get_array()  # the first hidden unit: tanh of its input sum over the plane
    assert values.shape == (8, 8) and np.nanmax(np.abs(values)) <= 1


def test_units_png_for_one_input_and_more_units_than_drawn(tmp_path):
    from nn.playground.plots import MAX_DRAWN, network_view

    model = nn.MLP([1, MAX_DRAWN + 5, 1], rng=np.random.default_rng(0))
    fig = network_view(model, np.linspace(-3, 3, 20)[:, None], tmp_path / "u.png", classification=False, resolution=8)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "… and 5 more" in texts and "y" in texts
