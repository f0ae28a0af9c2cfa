"""The browser playground's server side without a browser: settings, training, what the page draws, export."""

from __future__ import annotations

import base64
import json
import runpy

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import autodiff as ad
import nn
from nn.playground.serve import settings as limits
from nn.playground.serve import views
from nn.playground.serve.export import python_code
from nn.playground.serve.presets import presets
from nn.playground.serve.session import Session
from nn.playground.serve.settings import FIELDS, Settings, SettingsError
from nn.playground.serve.views import GRID, UNIT


def weights(session: Session) -> list[np.ndarray]:
    return [p.data.copy() for p in session.model.parameters()]


def same(a: list[np.ndarray], b: list[np.ndarray]) -> bool:
    return len(a) == len(b) and all(x.shape == y.shape and np.array_equal(x, y) for x, y in zip(a, b))


# --- settings ------------------------------------------------------------------------------------


def test_defaults_are_the_page_start_and_round_trip_through_the_fragment():
    s = Settings()
    assert (s.dataset, s.sizes, s.activation) == ("spiral", [2, 8, 8, 2], "tanh")
    text = s.fragment()
    assert list(text) == list(FIELDS)
    assert text["hidden"] == "8,8" and text["lr"] == "0.03" and text["features"] == "x1,x2"
    again, changed = Settings().update(text)
    assert again == s and changed == set()


def test_every_value_is_parsed_into_its_canonical_text():
    s, changed = Settings().update({
        "dataset": "xor", "noise": "25", "train-ratio": "70", "batch-size": " 30 ", "seed": "7",
        "features": "x2sq,x1", "hidden": " 4,3 ", "activation": "relu", "lr": "1e-1", "momentum": "0",
        "regularization": "L2", "reg-rate": "0.003", "speed": "10",
    })
    f = s.fragment()
    assert f["features"] == "x1,x2sq"  # in the page's order, whatever order they came in
    assert f["hidden"] == "4,3" and f["lr"] == "0.1" and f["batch-size"] == "30"
    assert s.sizes == [2, 4, 3, 2]
    assert changed == {"dataset", "noise", "train-ratio", "batch-size", "seed", "features", "hidden", "activation",
                       "lr", "momentum", "regularization", "reg-rate", "speed"}


@pytest.mark.parametrize(("key", "bad", "says"), [
    ("lr", "-0.1", "outside"),
    ("lr", "0", "outside"),
    ("lr", "abc", "not a number"),
    ("lr", "nan", "outside"),
    ("lr", True, "number"),
    ("hidden", "abc", "list of layer sizes"),
    ("hidden", "8,0", "at least 1"),
    ("hidden", "1000000000000", "at most"),
    ("hidden", "9" * 5000, "not a comma-separated list"),
    ("hidden", ",".join(["2"] * (limits.MAX_LAYERS + 1)), "at most"),
    ("hidden", str(limits.MAX_UNITS + 1), "at most 32 units"),
    ("dataset", "moons", "not one of"),
    ("activation", "softplus", "not one of"),
    ("regularization", "l3", "not one of"),
    ("features", "", "at least one"),
    ("features", "x3", "unknown feature"),
    ("batch-size", "0", "outside"),
    ("batch-size", "2.5", "not an integer"),
    ("train-ratio", "95", "outside"),
    ("noise", "-1", "outside"),
    ("momentum", "1", "outside"),
    ("classes", str(limits.MAX_CLASSES + 1), "outside"),
    ("points", "1:2", "not x, y, class"),
    ("points", [{"a": 1, "b": 2, "c": 3}] * 4, "not x, y, class"),
    ("points", "99:0:1", "outside"),
    ("points", "0:0:9", "class 9"),
    ("points", [[0, 0, 0]] * (limits.MAX_POINTS + 1), "at most"),
    ("speed", "7", "not one of"),
    ("nonsense", "1", "unknown setting"),
])
def test_a_bad_value_is_named_with_its_control_and_changes_nothing(key, bad, says):
    session = Session()
    session.advance(2)
    before, epoch, settings = weights(session), session.epoch, session.settings
    with pytest.raises(SettingsError) as info:
        session.update({"lr": "0.1", key: bad})  # a good value beside it is not applied either
    assert key in info.value.errors and says in info.value.errors[key]
    assert session.settings is settings and session.epoch == epoch and same(weights(session), before)


# What a page can send as one value: text, numbers, JSON's other kinds, nested lists.
VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30)
    | st.sampled_from(["8,8", "0.1", "x1,x2", "L1", "relu", "custom", "1:2:1", "-0", "1e400", " 3 "]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=8,
)


@given(st.dictionaries(st.sampled_from(list(FIELDS)) | st.text(max_size=8), VALUES, max_size=4))
def test_any_message_either_applies_or_names_every_bad_value(values):
    """No value, however odd, raises anything but SettingsError; what is accepted round-trips through the fragment."""
    try:
        new, changed = Settings().update(values)
    except SettingsError as e:
        assert e.errors and all(isinstance(k, str) and isinstance(v, str) and v for k, v in e.errors.items())
        return
    again, _ = Settings().update(new.fragment())
    assert again == new and changed <= set(values)


def test_values_that_conflict_blame_the_control_just_set():
    with pytest.raises(SettingsError) as info:
        Settings().update({"dataset": "sine", "features": "x2,x2sq"})
    assert list(info.value.errors) == ["features"]
    with pytest.raises(SettingsError) as info:
        Settings().update({"dataset": "custom"})
    assert "at least 4 points" in info.value.errors["dataset"]
    with pytest.raises(SettingsError) as info:
        Settings().update({"dataset": "custom", "points": "0:0:0;1:1:0;0:1:0;1:0:0"})
    assert "two classes" in info.value.errors["points"]
    with pytest.raises(SettingsError) as info:
        Settings().update({"dataset": "custom", "points": "0:0:0;1:1:3;0:1:0;1:0:3", "classes": "3"})
    assert "at least 4 classes" in info.value.errors["classes"]


def test_noise_is_a_whole_percentage_from_0_to_50_as_the_tensorflow_playgrounds():
    assert Settings().update({"noise": " 35 "})[0].fragment()["noise"] == "35"
    for bad in ("0.3", "51", "-5"):
        with pytest.raises(SettingsError) as info:
            Settings().update({"noise": bad})
        assert "noise" in info.value.errors


def test_the_sine_keeps_only_the_features_of_x1():
    s, _ = Settings().update({"dataset": "sine", "features": "x1,x2,sinx1"})
    assert s.inputs == ("x1", "sinx1") and s.sizes == [2, 8, 8, 1]
    assert s.fragment()["features"] == "x1,x2,sinx1"  # the choice is kept for when the data set changes back


# --- training --------------------------------------------------------------------------------------


def test_training_the_default_spiral_lowers_the_loss_and_is_reproducible():
    a, b = Session(), Session()
    a.advance(150)
    b.advance(150)
    assert a.epoch == 150 and len(a.history) == 151
    assert a.history[-1][1] < 0.9 * a.history[0][1]
    assert a.history == b.history and same(weights(a), weights(b))


def test_reset_starts_the_same_run_again():
    s = Session()
    start = weights(s)
    first = [row[:3] for row in s.advance(5)]
    s.reset()
    assert s.epoch == 0 and same(weights(s), start)
    assert [row[:3] for row in s.advance(5)] == first


def test_a_new_rate_applies_while_training_and_a_new_network_restarts():
    s = Session()
    s.advance(3)
    kept, velocity = weights(s), s.opt.state_dict()["state"][0]["momentum_buffer"].copy()
    assert s.update({"lr": "0.1", "batch-size": "25"}) == {"lr", "batch-size"}
    assert s.epoch == 3 and same(weights(s), kept) and s.opt.lr == 0.1
    assert np.array_equal(s.opt.state_dict()["state"][0]["momentum_buffer"], velocity)  # momentum carries on
    s.update({"hidden": "5"})
    assert s.epoch == 0 and [p.shape for p in s.model.parameters()] == [(5, 2), (5,), (2, 5), (2,)]
    train_points = s.data.X_train.copy()
    s.update({"activation": "relu"})
    assert np.array_equal(s.data.X_train, train_points)  # a new network, the same data
    s.update({"seed": "3"})
    assert not np.array_equal(s.data.X_train, train_points)


def test_train_ratio_splits_every_point_once():
    s = Session()
    s.update({"train-ratio": "30", "noise": "10"})  # without noise both arms start at (0, 0)
    assert (len(s.data.X_train), len(s.data.X_test)) == (150, 350)
    everything = np.concatenate([s.data.X_train, s.data.X_test])
    assert len(np.unique(everything, axis=0)) == limits.SAMPLES


def test_features_are_what_the_network_gets():
    s = Session()
    s.update({"features": "x1,x1sq,x1x2,sinx2"})
    X, F = s.data.X_train, s.data.F_train
    # the points span ±6; the network gets x/6 (products /36) and the sine of the coordinate itself
    assert np.allclose(F, np.stack([X[:, 0] / 6, (X[:, 0] / 6) ** 2, X[:, 0] * X[:, 1] / 36, np.sin(X[:, 1])], axis=1))
    assert s.model[0].weight.shape == (8, 4)


@pytest.mark.parametrize("kind", ["L1", "L2"])
def test_regularization_adds_its_penalty_to_the_weights_only(kind):
    s = Session()
    s.update({"regularization": kind, "reg-rate": "0.5"})
    W = [m.weight.data for m in s.linears]
    expected = 0.5 * sum(np.abs(w).sum() for w in W) if kind == "L1" else 0.25 * sum((w * w).sum() for w in W)
    assert s.penalty().item() == pytest.approx(expected)
    Xb, tb = s.data.F_train[:10], s.data.t_train[:10]
    with ad.no_grad():
        data_loss = s.loss_fn(s.model(Xb), tb).item()
    assert s.objective(Xb, tb).item() == pytest.approx(data_loss + expected)
    plain = Session()
    s.advance(20)
    plain.advance(20)
    assert sum(np.abs(m.weight.data).sum() for m in s.linears) < sum(np.abs(m.weight.data).sum() for m in plain.linears)


def test_the_penalty_is_off_at_rate_zero():
    s = Session()
    s.update({"regularization": "L1"})
    assert s.penalty() is None


def test_more_classes_get_more_outputs():
    s = Session()
    s.update({"dataset": "spiral", "classes": "3", "hidden": "12"})
    assert s.settings.sizes == [2, 12, 3] and set(np.unique(s.data.t_train)) == {0, 1, 2}
    frame = views.frame(s)
    assert len(frame["units"][-1]) == 3
    assert set(base64.b64decode(frame["output"]["cls"])) <= {0, 1, 2}
    s.update({"dataset": "xor"})  # xor has two classes, whatever `classes` says
    assert s.settings.sizes[-1] == 2


def test_the_users_own_points_are_the_data():
    points = [[-2.5, -2.5, 0], [-3, -2, 0], [2.5, 2.5, 1], [3, 2, 1], [0.0, 4.5, 2], [0.5, 4, 2]]
    s = Session()
    s.update({"dataset": "custom", "points": points, "classes": "3"})
    X = np.concatenate([s.data.X_train, s.data.X_test])
    assert sorted(map(tuple, X.tolist())) == sorted((x, y) for x, y, _ in points)
    assert s.settings.fragment()["points"] == "-2.5:-2.5:0;-3:-2:0;2.5:2.5:1;3:2:1;0:4.5:2;0.5:4:2"
    s.advance(50)
    assert s.history[-1][3] == 1.0  # six separable points are learnt


def test_a_diverging_run_stops_playing_and_says_why():
    s = Session()
    s.update({"dataset": "sine", "lr": "5", "activation": "linear"})
    s.playing = True
    rows = s.advance(20)
    assert s.diverged and "smaller learning rate" in s.diverged and not s.playing
    assert len(rows) < 20
    json.dumps(views.frame(s, rows), allow_nan=False)  # NaN never reaches the page as NaN


# --- what the page draws ----------------------------------------------------------------------------


def test_a_frame_has_one_square_per_unit_and_one_heatmap():
    s = Session()
    frame = views.frame(s)
    assert [len(layer) for layer in frame["units"]] == s.settings.sizes
    assert all(len(base64.b64decode(u)) == UNIT * UNIT for layer in frame["units"] for u in layer)
    assert len(base64.b64decode(frame["output"]["cls"])) == GRID * GRID
    assert [np.shape(w) for w in frame["weights"]] == [(8, 2), (8, 8), (2, 8)]
    json.dumps(frame, allow_nan=False)


def test_the_heatmap_is_the_networks_prediction_on_the_grid():
    s = Session()
    s.advance(30)
    cls = np.frombuffer(base64.b64decode(views.output(s)["cls"]), dtype=np.uint8).reshape(GRID, GRID)
    x0, x1, y0, y1 = s.data.domain
    row, col = 10, 50  # grid rows run from the top (y1) down, columns from x0 right
    point = np.array([[x0 + (x1 - x0) * col / (GRID - 1), y1 - (y1 - y0) * row / (GRID - 1)]])
    with ad.no_grad():
        assert cls[row, col] == s.model(point).data.argmax()


def test_hidden_squares_show_each_units_output():
    s = Session()
    s.update({"hidden": "3"})
    units = views.frame(s)["units"]
    first = np.frombuffer(base64.b64decode(units[1][0]), dtype=np.uint8)
    x0, x1, y0, y1 = s.data.domain
    xs, ys = np.linspace(x0, x1, UNIT), np.linspace(y1, y0, UNIT)
    G = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)
    z = np.tanh(G / 6 @ s.model[0].weight.data.T + s.model[0].bias.data)[:, 0]  # the inputs x₁/6, x₂/6
    assert np.abs(first / 127.5 - 1 - z).max() < 0.01


def test_the_sine_is_drawn_as_a_curve():
    s = Session()
    s.update({"dataset": "sine"})
    out = views.output(s)
    assert len(out["curve"]) == 200 and "cls" not in out
    data = views.data_message(s)
    assert data["regression"] and len(data["train"][0]) == 2


def test_the_graph_is_the_step_being_taken():
    s = Session()
    s.update({"regularization": "L2", "reg-rate": "0.01"})
    s.advance(1)
    grads = [None if p.grad is None else p.grad.copy() for p in s.model.parameters()]
    g = views.graph(s)
    assert g["epoch"] == 1
    assert g["svg"].lstrip().startswith("<?xml") and "<svg" in g["svg"]
    # named as the page and the lecture name them: clusters layer 1…3 holding W⁽ˡ⁾ and b⁽ˡ⁾
    for name in (">layer 1<", ">layer 3<", ">W⁽¹⁾<", ">W⁽²⁾<", ">b⁽³⁾<", "cross_entropy", "‖δ‖"):
        assert name in g["svg"]
    assert "0.weight" not in g["svg"] and "edge colour" not in g["svg"]  # the legend is the page's, in HTML
    assert len(g["legend"]["edges"]) >= 6 and len(g["legend"]["nodes"]) == 4
    assert "W⁽¹⁾" in g["explain"] and "layer 1." not in g["explain"]
    assert "\n" + " " * 16 + "δ_x = δ_z ⊙ (1 − z²)\n" in g["explain"]  # each formula on a line of its own
    # drawing touched no gradient (the optimizer's next step is unchanged)
    assert all(np.array_equal(a, p.grad) for a, p in zip(grads, s.model.parameters()))


# --- editing and export ---------------------------------------------------------------------------


def test_a_weight_set_by_hand_changes_the_network():
    s = Session()
    s.set_weight(1, 2, 3, 1.5)
    s.set_weight(0, 4, "bias", -0.25)
    assert s.model[2].weight.data[2, 3] == 1.5 and s.model[0].bias.data[4] == -0.25


@pytest.mark.parametrize(("args", "says"), [
    ((3, 0, 0, 1.0), "layer"),
    ((0, 8, 0, 1.0), "unit"),
    ((0, 0, 2, 1.0), "input"),
    ((0, 0, True, 1.0), "input"),
    ((0, 0, 0, "1"), "number"),
    ((0, 0, 0, float("nan")), "number"),
    ((0, 0, 0, 1e9), "number"),
])
def test_a_bad_weight_edit_changes_nothing(args, says):
    s = Session()
    before = weights(s)
    with pytest.raises(ValueError, match=says):
        s.set_weight(*args)
    assert same(weights(s), before)


def test_exported_weights_load_into_the_same_network(tmp_path):
    s = Session()
    s.update({"hidden": "6,3", "activation": "sigmoid"})
    s.advance(3)
    path = tmp_path / "w.npz"
    path.write_bytes(s.export_weights())
    model = nn.MLP([2, 6, 3, 2], activation="sigmoid")
    model.load(path)
    assert same([p.data for p in model.parameters()], weights(s))


@pytest.mark.parametrize("values", [{}, {"dataset": "sine", "features": "x1,sinx1", "hidden": "5"},
                                    {"features": "x1x2,x2sq", "hidden": "", "activation": "relu"}])
def test_exported_code_rebuilds_the_network(tmp_path, monkeypatch, capsys, values):
    s = Session()
    s.update(values)
    s.advance(2)
    (tmp_path / "playground-weights.npz").write_bytes(s.export_weights())
    script = tmp_path / "model.py"
    script.write_text(python_code(s.settings, s.epoch))
    monkeypatch.chdir(tmp_path)
    scope = runpy.run_path(str(script))
    X = s.data.X_test[:7]
    with ad.no_grad():
        expected = s.model(s.data.F_test[:7]).data
    assert np.allclose(scope["model"](scope["features"](X)).data, expected)
    assert capsys.readouterr().out.strip()  # the script's example prints its predictions


def test_every_preset_is_a_valid_set_up_with_a_sentence():
    items = presets()
    assert len(items) == 9
    for p in items:
        Settings().update(p["settings"])
        assert p["title"] and len(p["text"]) > 40


def test_the_linear_preset_has_no_hidden_layer_and_a_straight_boundary():
    s = Session()
    s.update(presets()[0]["settings"])
    assert s.settings.sizes == [2, 2]
    s.advance(30)
    assert s.history[-1][4] > 0.95


def test_a_time_budget_splits_the_run_into_frames_without_changing_it():
    a, b = Session(), Session()
    start = weights(a)
    assert a.advance(5, budget=0.0) == [] and a.epoch == 0  # one step, mid-epoch: pause is never far away
    assert not same(weights(a), start)
    while a.epoch < 5:
        a.advance(5, budget=0.0)
    b.advance(5)
    assert a.history == b.history and same(weights(a), weights(b))


def test_the_history_a_page_keeps_is_bounded():
    from nn.playground.serve.session import MAX_HISTORY

    s = Session()
    s.update({"dataset": "gauss", "hidden": "", "batch-size": "500"})  # an epoch is one step: fast
    s.advance(MAX_HISTORY + 10)
    assert len(s.history) <= MAX_HISTORY and s.history[-1][0] == s.epoch == MAX_HISTORY + 10
    epochs = [row[0] for row in s.history]
    assert epochs == sorted(epochs) and epochs[0] == 0


def test_the_sigmoid_preset_shows_the_vanishing_gradient():
    s = Session()
    s.update(next(p for p in presets() if p["title"].startswith("8."))["settings"])
    assert s.settings.sizes == [2, 8, 8, 8, 2] and s.settings.activation == "sigmoid"
    s.advance(100)
    norms = np.array([row[5:] for row in s.history[1:]]).mean(axis=0)
    assert norms[0] < norms[-1] / 100  # "hundreds of times below the last one's"
    assert s.history[-1][4] < 0.7  # "it barely learns"


@pytest.mark.parametrize("kind", ["adam", "adamw", "rmsprop", "adagrad"])
def test_another_optimizer_trains_the_same_network(kind):
    s = Session()
    s.advance(2)
    kept = weights(s)
    s.update({"optimizer": kind, "lr": "0.01"})
    assert s.epoch == 2 and same(weights(s), kept) and type(s.opt).__name__.lower() == kind
    s.advance(20)
    assert s.history[-1][1] < s.history[0][1]


def test_dropout_trains_with_masks_and_draws_without():
    s = Session()
    s.update({"dropout": "0.3"})
    assert s.epoch == 0 and "Dropout" in repr(s.model)
    a, b = views.frame(s), views.frame(s)
    assert a["units"] == b["units"] and a["output"] == b["output"]  # drawn in eval mode: no random masks
    again = Session()
    again.update({"dropout": "0.3"})
    s.advance(5)
    again.advance(5)
    assert s.history == again.history and s.model.training  # masks from the seed: reproducible, back to training
    with pytest.raises(SettingsError):
        s.update({"dropout": "0.7"})


def _eager(session):
    session._compiled_objective = lambda: session.objective
    return session


@pytest.mark.parametrize("changes", [{}, {"regularization": "L2", "reg-rate": "0.01"}, {"dataset": "xor", "hidden": "4"}])
def test_training_through_the_compiled_objective_is_the_eager_training(changes):
    compiled, eager = Session(), _eager(Session())
    for s in (compiled, eager):
        s.train_epoch()
        s.update(changes)  # a change of settings after a traced step: the next step traces again
        for _ in range(3):
            s.train_epoch()
    assert compiled._step_objective is not compiled.objective  # it did train compiled
    for p, q in zip(compiled.model.parameters(), eager.model.parameters()):
        np.testing.assert_allclose(p.data, q.data, rtol=1e-10, atol=1e-12)
    assert compiled.history[-1][1] == pytest.approx(eager.history[-1][1], rel=1e-10)


def test_dropout_trains_eagerly_without_a_warning():
    import warnings

    s = Session()
    s.update({"dropout": "0.2"})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s.train_epoch()
    assert s._step_objective == s.objective
