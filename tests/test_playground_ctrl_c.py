"""Ctrl-C in the middle of an epoch: the summary counts the steps of the unfinished epoch as such."""

from __future__ import annotations

import importlib

import pytest

pytest.importorskip("matplotlib")
from nn.playground import main

# 40 points, 30 to train on in batches of 10: three steps an epoch
SMALL = ["--dataset", "xor", "--hidden", "3", "--epochs", "4", "--n", "40", "--test-fraction", "0.25", "--batch-size", "10",
         "--quiet"]


def test_ctrl_c_in_the_middle_of_an_epoch_counts_its_steps_as_part_of_it(tmp_path, monkeypatch, capsys):
    train_module = importlib.import_module("nn.playground.train")
    real, taken = train_module.batches, []

    def batches_then_ctrl_c(*args, **kwargs):  # Ctrl-C arrives before the 8th step: 2 epochs and 1 step in
        for batch in real(*args, **kwargs):
            taken.append(1)
            if len(taken) == 8:
                raise KeyboardInterrupt
            yield batch

    monkeypatch.setattr(train_module, "batches", batches_then_ctrl_c)
    assert main([*SMALL, "--out", str(tmp_path / "out")]) == 130
    captured = capsys.readouterr()
    assert ": 2 epochs and 1 step into epoch 3, 7 steps of SGD" in captured.out
    assert captured.err.strip() == ("autodiff-playground: interrupted after 2 of 4 epochs and 1 step into epoch 3: "
                                    "wrote what was trained so far")


def test_ctrl_c_in_the_progress_bar_between_epochs_stops_cleanly(tmp_path, monkeypatch, capsys):
    # the bar's own work (set_postfix, its iterator) took a Ctrl-C outside the epoch's handler: a
    # traceback and exit status 1 instead of 130 (CI's real Ctrl-C test hit it once)
    train_module = importlib.import_module("nn.playground.train")

    class Bar:
        def __init__(self, epochs):
            self.epochs, self.shown = epochs, 0

        def __iter__(self):
            yield from range(self.epochs)

        def set_postfix(self, *args, **kwargs):
            self.shown += 1
            if self.shown == 2:  # after the second epoch has finished
                raise KeyboardInterrupt

        def close(self):
            pass

    monkeypatch.setattr(train_module, "_progress", lambda config: Bar(config.epochs))
    try:
        status = main([*SMALL, "--out", str(tmp_path / "out")])
    except KeyboardInterrupt:  # escaping, it would stop the whole test run
        pytest.fail("a Ctrl-C in the progress bar escaped main()")
    assert status == 130
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err and ": 2 epochs" in captured.out
    assert captured.err.strip() == "autodiff-playground: interrupted after 2 of 4 epochs: wrote what was trained so far"
