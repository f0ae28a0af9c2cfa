"""The playground's --optimizer and --dropout: every optimizer trains, dropout sits after each hidden
activation in training and is off when the run is measured and drawn; bad values exit 2."""

import numpy as np
import pytest

import nn
from nn.playground.cli import OPTIMIZERS, Config, parse_args
from nn.playground.train import make_model, make_optimizer, train

SMALL = {"dataset": "xor", "hidden": (6,), "epochs": 15, "n": 80, "batch_size": 16, "progress": False}


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_every_optimizer_trains(name):
    lr = {"sgd": 0.1, "adagrad": 0.1}.get(name, 0.02)
    result = train(Config(**SMALL, optimizer=name, lr=lr))
    assert isinstance(make_optimizer(Config(optimizer=name), nn.Linear(2, 2)), getattr(nn, {
        "sgd": "SGD", "adam": "Adam", "adamw": "AdamW", "rmsprop": "RMSprop", "adagrad": "Adagrad"}[name]))
    assert np.isfinite(result.train_loss).all() and result.train_loss[-1] < result.train_loss[0]


def test_dropout_follows_each_hidden_activation_and_is_off_after_training():
    config = Config(**{**SMALL, "hidden": (8, 8)}, dropout=0.3, optimizer="adam", lr=0.02)
    model = make_model(config, np.random.default_rng(0))
    assert [type(m).__name__ for m in model] == ["Linear", "Sequential", "Linear", "Sequential", "Linear"]
    assert [type(m).__name__ for m in model[1]] == ["Tanh", "Dropout"]
    assert [name for name, _ in model.named_parameters()] == [name for name, _ in nn.MLP([2, 8, 8, 2]).named_parameters()]
    result = train(config)
    assert not result.model.training  # measured and drawn without dropout
    x = np.random.default_rng(1).normal(size=(5, 2))
    np.testing.assert_array_equal(result.model(x).data, result.model(x).data)


def test_flags_reach_the_config():
    config = parse_args(["--optimizer", "rmsprop", "--dropout", "0.25"])
    assert config.optimizer == "rmsprop" and config.dropout == 0.25
    assert parse_args([]).optimizer == "sgd" and parse_args([]).dropout == 0.0


@pytest.mark.parametrize("flags", [["--optimizer", "lbfgs"], ["--dropout", "1"], ["--dropout", "-0.1"], ["--dropout", "x"]])
def test_bad_values_exit_2_with_one_line(flags, capsys):
    with pytest.raises(SystemExit) as exc:
        parse_args(flags)
    assert exc.value.code == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_the_summary_names_the_optimizer_and_its_settings():
    from nn.playground.run import _optimizer_text

    assert _optimizer_text(Config()) == "SGD (lr 0.05, momentum 0.9, weight decay 0)"
    assert _optimizer_text(Config(optimizer="adamw", weight_decay=0.01, dropout=0.2)) == "AdamW (lr 0.05, weight decay 0.01, dropout 0.2)"
