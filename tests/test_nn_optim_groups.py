"""AdamW, RMSprop, Adagrad, SGD dampening, Adam amsgrad (hand-written torch rules, and torch itself in
float64 when installed), parameter groups, and state dicts that resume bit-identically."""

import numpy as np
import pytest

import nn

RNG = np.random.default_rng(1)
W0 = RNG.normal(size=(4, 3))
STEPS = 6
GRADS = RNG.normal(size=(STEPS, 4, 3))
# Above 256 KB: updated in blocks through the scratch buffer.
BIG_W0 = RNG.normal(size=(300, 150))
BIG_GRADS = RNG.normal(size=(3, 300, 150))


def grad_at(w, k, grads=GRADS):
    """Step k's gradient: it depends on w (so a wrong step changes every later one) and on k."""
    return grads[k] + 0.5 * np.sin(w)


# ---------------------------------------------------------------------- torch's documented rules by hand
def sgd_ref(w, grads, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False):
    buf, path = None, []
    for k in range(len(grads)):
        d = grad_at(w, k, grads) + weight_decay * w
        if momentum:
            buf = d.copy() if buf is None else momentum * buf + (1 - dampening) * d
            d = d + momentum * buf if nesterov else buf
        w = w - lr * d
        path.append(w)
    return path


def adam_ref(w, grads, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False, decoupled=False):
    (b1, b2), path = betas, []
    m, v, vmax = np.zeros_like(w), np.zeros_like(w), np.zeros_like(w)
    for k in range(1, len(grads) + 1):
        g = grad_at(w, k - 1, grads)
        if decoupled:
            w = w * (1 - lr * weight_decay)
        else:
            g = g + weight_decay * w
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        vmax = np.maximum(vmax, v)
        denom = np.sqrt(vmax if amsgrad else v) / np.sqrt(1 - b2**k) + eps
        w = w - lr / (1 - b1**k) * m / denom
        path.append(w)
    return path


def rmsprop_ref(w, grads, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False):
    r, ga, b, path = np.zeros_like(w), np.zeros_like(w), np.zeros_like(w), []
    for k in range(len(grads)):
        g = grad_at(w, k, grads) + weight_decay * w
        r = alpha * r + (1 - alpha) * g * g
        if centered:
            ga = alpha * ga + (1 - alpha) * g
            avg = np.sqrt(r - ga * ga) + eps
        else:
            avg = np.sqrt(r) + eps
        if momentum:
            b = momentum * b + g / avg
            w = w - lr * b
        else:
            w = w - lr * g / avg
        path.append(w)
    return path


def adagrad_ref(w, grads, lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10):
    total, path = np.full_like(w, initial_accumulator_value), []
    for k in range(1, len(grads) + 1):
        g = grad_at(w, k - 1, grads) + weight_decay * w
        total = total + g * g
        w = w - lr / (1 + (k - 1) * lr_decay) * g / (np.sqrt(total) + eps)
        path.append(w)
    return path


CASES = [
    ("SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.3}, lambda w, gs, **kw: sgd_ref(w, gs, **kw)),
    ("SGD", {"lr": 0.1, "momentum": 0.8, "dampening": 0.5, "weight_decay": 0.1},
     lambda w, gs, **kw: sgd_ref(w, gs, **kw)),
    ("Adam", {"lr": 0.05, "amsgrad": True}, adam_ref),
    ("Adam", {"lr": 0.05, "amsgrad": True, "weight_decay": 0.1, "betas": (0.5, 0.9)}, adam_ref),
    ("AdamW", {"lr": 0.05}, lambda w, gs, **kw: adam_ref(w, gs, weight_decay=1e-2, decoupled=True, **kw)),
    ("AdamW", {"lr": 0.05, "weight_decay": 0.3, "amsgrad": True},
     lambda w, gs, **kw: adam_ref(w, gs, decoupled=True, **kw)),
    ("RMSprop", {"lr": 0.01}, rmsprop_ref),
    ("RMSprop", {"lr": 0.01, "alpha": 0.9, "weight_decay": 0.1, "momentum": 0.5, "centered": True}, rmsprop_ref),
    ("RMSprop", {"lr": 0.01, "centered": True}, rmsprop_ref),
    ("Adagrad", {"lr": 0.1}, adagrad_ref),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.2, "weight_decay": 0.1, "initial_accumulator_value": 0.5, "eps": 1e-6},
     adagrad_ref),
]
IDS = [f"{name}-{'-'.join(kw)}" for name, kw, _ in CASES]


def run(name, kw, w0, grads, steps=None):
    w = nn.Parameter(w0)
    opt = getattr(nn, name)([w], **kw)
    path = []
    for k in range(len(grads) if steps is None else steps):
        w.grad = grad_at(w.data, k, grads)
        opt.step()
        path.append(w.data.copy())
    return path


@pytest.mark.parametrize(("name", "kw", "reference"), CASES, ids=IDS)
def test_follows_torchs_documented_rule(name, kw, reference):
    np.testing.assert_allclose(run(name, kw, W0, GRADS), reference(W0, GRADS, **kw), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(("name", "kw", "reference"), CASES[::2], ids=IDS[::2])
def test_a_large_parameter_updated_in_blocks_follows_the_same_rule(name, kw, reference):
    np.testing.assert_allclose(run(name, kw, BIG_W0, BIG_GRADS), reference(BIG_W0, BIG_GRADS, **kw), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(("name", "kw", "reference"), CASES, ids=IDS)
def test_matches_torch_in_float64(name, kw, reference):
    torch = pytest.importorskip("torch")
    w = torch.tensor(W0, requires_grad=True)
    opt = getattr(torch.optim, name)([w], **kw)
    path = []
    for k in range(STEPS):
        w.grad = torch.tensor(grad_at(w.detach().numpy(), k))
        opt.step()
        path.append(w.detach().numpy().copy())
    np.testing.assert_allclose(run(name, kw, W0, GRADS), path, rtol=1e-10, atol=1e-13)


# ---------------------------------------------------------------------- parameter groups
def test_each_group_follows_its_own_hyperparameters_and_the_defaults_fill_the_rest():
    a, b = nn.Parameter(W0), nn.Parameter(W0 + 1)
    opt = nn.SGD([{"params": [a]}, {"params": [b], "lr": 0.01, "momentum": 0.5}], lr=0.1, momentum=0.9)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.01]
    assert [g["momentum"] for g in opt.param_groups] == [0.9, 0.5]
    for k in range(STEPS):
        a.grad, b.grad = grad_at(a.data, k), grad_at(b.data, k)
        opt.step()
    np.testing.assert_allclose(a.data, sgd_ref(W0, GRADS, lr=0.1, momentum=0.9)[-1], rtol=1e-12)
    np.testing.assert_allclose(b.data, sgd_ref(W0 + 1, GRADS, lr=0.01, momentum=0.5)[-1], rtol=1e-12)


def test_setting_lr_sets_every_group_and_reading_it_gives_the_first():
    opt = nn.Adam([{"params": [nn.Parameter([1.0])], "lr": 0.5}, {"params": [nn.Parameter([2.0])]}], lr=0.1)
    assert opt.lr == 0.5
    opt.lr = 0.2
    assert [g["lr"] for g in opt.param_groups] == [0.2, 0.2]
    assert "2 groups" in repr(opt)


@pytest.mark.parametrize(
    ("groups", "error", "words"),
    [
        (lambda w: [{"params": [w]}, {"params": [w]}], ValueError, "more than one parameter group"),
        (lambda w: [{"params": [w], "lr": -1}], ValueError, "SGD: lr must be"),
        (lambda w: [{"params": [w], "nesterov": True, "momentum": 0.9, "dampening": 0.1}], ValueError, "zero dampening"),
        (lambda w: [{"params": []}], ValueError, "empty parameter list"),
        (lambda w: [{"params": [w]}, {"lr": 0.1}], TypeError, "'params' entry"),
    ],
)
def test_bad_groups_are_refused(groups, error, words):
    w = nn.Parameter([1.0])
    with pytest.raises(error, match=words):
        nn.SGD(groups(w), lr=0.1)


def test_add_param_group_takes_the_defaults():
    a, b = nn.Parameter([1.0]), nn.Parameter([2.0])
    opt = nn.RMSprop([a], lr=0.1, alpha=0.9)
    opt.add_param_group({"params": b, "lr": 0.3})
    assert opt.param_groups[1]["alpha"] == 0.9 and opt.param_groups[1]["lr"] == 0.3
    b.grad = np.array([1.0])
    opt.step()
    assert b.data[0] != 2.0 and a.data[0] == 1.0


# ---------------------------------------------------------------------- state dicts
@pytest.mark.parametrize(("name", "kw", "reference"), CASES, ids=IDS)
def test_resuming_from_a_state_dict_is_bit_identical_to_never_stopping(name, kw, reference):
    straight = run(name, kw, W0, GRADS)[-1]
    w = nn.Parameter(W0)
    opt = getattr(nn, name)([w], **kw)
    for k in range(3):
        w.grad = grad_at(w.data, k)
        opt.step()
    saved_w, saved = w.data.copy(), opt.state_dict()
    for k in range(3):  # the saved state is a copy: stepping on does not change it
        w.grad = grad_at(w.data, 3 + k)
        opt.step()
    w2 = nn.Parameter(saved_w)
    opt2 = getattr(nn, name)([w2], lr=123.0)  # the hyperparameters come from the state dict
    opt2.load_state_dict(saved)
    for k in range(3, STEPS):
        w2.grad = grad_at(w2.data, k)
        opt2.step()
    np.testing.assert_array_equal(w2.data, straight)
    np.testing.assert_array_equal(w.data, straight)


def test_state_dict_has_torchs_layout():
    a, b = nn.Parameter(W0), nn.Parameter([1.0])
    opt = nn.Adam([{"params": [a]}, {"params": [b], "lr": 0.5}])
    a.grad = np.ones_like(W0)
    opt.step()
    state = opt.state_dict()
    assert list(state["state"]) == [0] and set(state["state"][0]) == {"step", "exp_avg", "exp_avg_sq"}
    assert state["state"][0]["step"] == 1
    assert [g["params"] for g in state["param_groups"]] == [[0], [1]]
    assert state["param_groups"][1]["lr"] == 0.5


@pytest.mark.parametrize(
    ("mangle", "words"),
    [
        (lambda s: s["state"][0].update(exp_avg=np.zeros(5)), r"parameter 0: 'exp_avg' is float64 \(5,\)"),
        (lambda s: s["state"][0].update(momentum=np.zeros(3)), "unknown state 'momentum'"),
        (lambda s: s["state"].update({7: {"step": 1}}), "parameter 7"),
        (lambda s: s["param_groups"].append({"params": []}), "2 parameter group"),
        (lambda s: s["param_groups"][0].update(lr=-1.0), "lr must be"),
    ],
)
def test_a_state_dict_that_does_not_fit_changes_nothing(mangle, words):
    w = nn.Parameter(np.ones(3))
    opt = nn.Adam([w], lr=0.1)
    w.grad = np.ones(3)
    opt.step()
    state = opt.state_dict()
    mangle(state)
    before = opt.state_dict()
    with pytest.raises(ValueError, match=words):
        opt.load_state_dict(state)
    after = opt.state_dict()
    assert after["param_groups"] == before["param_groups"]
    for key in before["state"][0]:
        np.testing.assert_array_equal(after["state"][0][key], before["state"][0][key])
