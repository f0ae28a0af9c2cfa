"""Learning-rate schedulers, gradient clipping and checkpoints: against torch in float64 when it is
installed, by hand otherwise; resuming from a checkpoint is bit-identical to never stopping."""

import math

import numpy as np
import pytest

import nn

SCHEDULES = [
    ("StepLR", {"step_size": 3, "gamma": 0.5}),
    ("ExponentialLR", {"gamma": 0.9}),
    ("CosineAnnealingLR", {"T_max": 5}),
    ("CosineAnnealingLR", {"T_max": 4, "eta_min": 0.01}),
]
EPOCHS = 14  # past 2·T_max, so the cosine's restart upwards is covered


def lrs(name, kw, epochs=EPOCHS, lr=0.1):
    opt = nn.SGD([nn.Parameter([1.0])], lr=lr)
    sched = getattr(nn.lr_scheduler, name)(opt, **kw)
    out = []
    for _ in range(epochs):
        opt.step()
        sched.step()
        out.append(sched.get_last_lr()[0])
    return out


@pytest.mark.parametrize(("name", "kw"), SCHEDULES, ids=[f"{n}-{k}" for n, k in SCHEDULES])
def test_schedules_follow_their_closed_forms(name, kw):
    e = np.arange(1, EPOCHS + 1)
    if name == "StepLR":
        expected = 0.1 * kw["gamma"] ** (e // kw["step_size"])
    elif name == "ExponentialLR":
        expected = 0.1 * kw["gamma"] ** e
    else:
        lo = kw.get("eta_min", 0.0)
        expected = lo + (0.1 - lo) * (1 + np.cos(np.pi * e / kw["T_max"])) / 2
    np.testing.assert_allclose(lrs(name, kw), expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(("name", "kw"), SCHEDULES, ids=[f"{n}-{k}" for n, k in SCHEDULES])
def test_schedules_are_torchs_to_the_last_bit(name, kw):
    torch = pytest.importorskip("torch")
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    sched = getattr(torch.optim.lr_scheduler, name)(opt, **kw)
    theirs = []
    for _ in range(EPOCHS):
        opt.step()
        sched.step()
        theirs.append(sched.get_last_lr()[0])
    assert lrs(name, kw) == theirs


PLATEAU = [3.0, 2.0, 2.0, 2.0, 1.9999, 2.5, 2.5, 2.5, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]


@pytest.mark.parametrize(
    "kw",
    [
        {"patience": 1},
        {"patience": 0, "cooldown": 2, "factor": 0.5},
        {"mode": "max", "patience": 1, "threshold_mode": "abs", "threshold": 0.1, "min_lr": 0.02},
    ],
)
def test_reduce_on_plateau_is_torchs(kw):
    opt = nn.SGD([nn.Parameter([1.0])], lr=0.1)
    sched = nn.lr_scheduler.ReduceLROnPlateau(opt, **kw)
    ours = []
    for metric in PLATEAU:
        sched.step(metric)
        ours.append(opt.param_groups[0]["lr"])
    if kw == {"patience": 1}:  # by hand: two epochs without a relative improvement of 1e-4 cut the rate
        assert ours[:5] == [0.1, 0.1, 0.1, 0.1 * 0.1, 0.1 * 0.1]
    torch = pytest.importorskip("torch")
    topt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    tsched = torch.optim.lr_scheduler.ReduceLROnPlateau(topt, **kw)
    theirs = []
    for metric in PLATEAU:
        tsched.step(metric)
        theirs.append(topt.param_groups[0]["lr"])
    assert ours == theirs


def test_a_scheduler_changes_every_group_and_resumes_from_its_state_dict():
    def make():
        opt = nn.SGD([{"params": [nn.Parameter([1.0])]}, {"params": [nn.Parameter([2.0])], "lr": 1.0}], lr=0.1)
        return opt, nn.lr_scheduler.ExponentialLR(opt, gamma=0.5)

    _, sched = make()
    sched.step()
    assert sched.get_last_lr() == [0.05, 0.5]
    state = sched.state_dict()
    sched.step()
    _, sched2 = make()
    sched2.load_state_dict(state)
    assert sched2.last_epoch == 1 and sched2.get_last_lr() == [0.05, 0.5]
    with pytest.raises(ValueError, match="expected the keys"):
        sched2.load_state_dict({"last_epoch": 3})


@pytest.mark.parametrize(
    ("make", "error", "words"),
    [
        (lambda o: nn.lr_scheduler.StepLR(o, step_size=0), ValueError, "step_size"),
        (lambda o: nn.lr_scheduler.StepLR(object(), step_size=1), TypeError, "nn optimizer"),
        (lambda o: nn.lr_scheduler.CosineAnnealingLR(o, T_max=2.5), ValueError, "T_max"),
        (lambda o: nn.lr_scheduler.ReduceLROnPlateau(o, mode="up"), ValueError, "mode"),
        (lambda o: nn.lr_scheduler.ReduceLROnPlateau(o, factor=1.0), ValueError, "factor"),
        (lambda o: nn.lr_scheduler.ReduceLROnPlateau(o).step("low"), TypeError, "metrics"),
    ],
)
def test_bad_scheduler_arguments(make, error, words):
    opt = nn.SGD([nn.Parameter([1.0])], lr=0.1)
    with pytest.raises(error, match=words):
        make(opt)


# ---------------------------------------------------------------------- clipping
RNG = np.random.default_rng(3)
GRADS = [RNG.normal(size=(3, 4)), RNG.normal(size=5), None]


def with_grads():
    ps = [nn.Parameter(np.zeros((3, 4))), nn.Parameter(np.zeros(5)), nn.Parameter(np.zeros(2))]
    for p, g in zip(ps, GRADS):
        p.grad = None if g is None else g.copy()
    return ps


@pytest.mark.parametrize("norm_type", [2.0, 1.0, math.inf])
@pytest.mark.parametrize("max_norm", [0.5, 100.0])
def test_clip_grad_norm_scales_all_gradients_together(norm_type, max_norm):
    ps = with_grads()
    flat = np.concatenate([g.ravel() for g in GRADS if g is not None])
    total = np.linalg.norm(flat, ord=norm_type)
    returned = nn.utils.clip_grad_norm_(ps, max_norm, norm_type=norm_type)
    assert float(returned.item()) == pytest.approx(total, rel=1e-12)
    coef = min(1.0, max_norm / (total + 1e-6))
    for p, g in zip(ps, GRADS):
        if g is None:
            assert p.grad is None
        else:
            np.testing.assert_allclose(p.grad, g * coef, rtol=1e-12)
    torch = pytest.importorskip("torch")
    tps = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in GRADS if g is not None]
    for t, g in zip(tps, GRADS):
        t.grad = torch.tensor(g)
    theirs = float(torch.nn.utils.clip_grad_norm_(tps, max_norm, norm_type=norm_type))
    assert theirs == pytest.approx(returned.item(), rel=1e-12)
    for t, p in zip(tps, ps):
        np.testing.assert_allclose(p.grad, t.grad.numpy(), rtol=1e-12)


def test_clip_grad_norm_refuses_a_non_finite_norm_when_asked_and_changes_nothing():
    ps = with_grads()
    ps[0].grad[0, 0] = np.inf
    kept = [p.grad for p in ps]
    with pytest.raises(RuntimeError, match="total norm"):
        nn.utils.clip_grad_norm_(ps, 1.0, error_if_nonfinite=True)
    assert all(p.grad is k for p, k in zip(ps, kept))
    assert np.isinf(ps[0].grad[0, 0]) and ps[0].grad[0, 1] == GRADS[0][0, 1]


def test_clip_grad_value_and_float32_stays_float32():
    p = nn.Parameter(np.zeros(4), dtype=np.float32)
    p.grad = np.array([-3.0, -0.5, 0.5, 3.0], np.float32)
    nn.utils.clip_grad_value_([p], 1.0)
    assert p.grad.tolist() == [-1.0, -0.5, 0.5, 1.0] and p.grad.dtype == np.float32
    nn.utils.clip_grad_norm_(p, 0.1)
    assert p.grad.dtype == np.float32
    with pytest.raises(TypeError, match="clip_value"):
        nn.utils.clip_grad_value_([p], "big")


# ---------------------------------------------------------------------- checkpoints
DATA = np.random.default_rng(9).normal(size=(16, 2))
LABELS = (DATA[:, 0] > DATA[:, 1]).astype(int)


def setup_run(seed=0):
    model = nn.MLP([2, 6, 3], rng=np.random.default_rng(seed))
    opt = nn.Adam([{"params": [model[0].weight, model[0].bias]}, {"params": list(model[2].parameters()), "lr": 0.02}],
                  lr=0.05, amsgrad=True)
    return model, opt, nn.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)


def train(model, opt, sched, epochs):
    for _ in range(epochs):
        opt.zero_grad()
        nn.functional.cross_entropy(model(DATA), LABELS).backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()


def test_resuming_from_a_checkpoint_is_bit_identical_to_never_stopping(tmp_path):
    straight = setup_run()
    train(*straight, 8)
    first = setup_run()
    train(*first, 4)
    path = tmp_path / "run.npz"
    nn.save_checkpoint(path, *first)
    assert [p.name for p in tmp_path.iterdir()] == ["run.npz"]  # no temporary file left behind
    resumed = setup_run(seed=1)  # other weights: all of them come from the file
    nn.load_checkpoint(path, *resumed)
    train(*resumed, 4)
    for a, b in zip(straight[0].parameters(), resumed[0].parameters()):
        np.testing.assert_array_equal(a.data, b.data)
    assert resumed[2].get_last_lr() == straight[2].get_last_lr()
    with np.load(path, allow_pickle=False) as archive:
        assert {"format", "optimizer/param_groups", "model/0.weight", "optimizer/state/0/exp_avg"} <= set(archive.files)


def test_a_checkpoint_that_does_not_fit_changes_nothing(tmp_path):
    model, opt, sched = setup_run()
    train(model, opt, sched, 2)
    path = tmp_path / "run.npz"
    nn.save_checkpoint(path, model, opt, sched)
    with pytest.raises(ValueError, match="does not fit this model"):
        nn.load_checkpoint(path, nn.MLP([2, 5, 3], rng=np.random.default_rng(0)))
    model2, _, _ = setup_run(seed=4)
    sgd = nn.SGD(model2.parameters(), lr=0.1, momentum=0.9)
    before = [p.data.copy() for p in model2.parameters()]
    with pytest.raises(ValueError, match="does not fit this optimizer"):
        nn.load_checkpoint(path, model2, sgd)
    for p, b in zip(model2.parameters(), before):
        np.testing.assert_array_equal(p.data, b)
    assert sgd.state_dict()["state"] == {} and sgd.lr == 0.1
    plain = tmp_path / "weights.npz"
    model.save(plain)
    with pytest.raises(ValueError, match="not a checkpoint"):
        nn.load_checkpoint(plain, model)
