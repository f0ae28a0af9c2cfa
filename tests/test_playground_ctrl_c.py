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
