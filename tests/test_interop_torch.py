"""nn.to_torch / nn.from_torch: the same network in PyTorch, outputs equal to 1e-12 in float64,
gradients too, state dicts by the same names. Skipped without torch (pip install torch==2.13.0)."""

from __future__ import annotations

import numpy as np
import pytest

import nn

torch = pytest.importorskip("torch")

MODELS = {
    "mlp-tanh": lambda rng: nn.MLP([3, 8, 8, 2], rng=rng),
    "mlp-relu-sigmoid-out": lambda rng: nn.MLP([3, 5, 1], activation="relu", output_activation="sigmoid", rng=rng),
    "nested-sequential": lambda rng: nn.Sequential(
        nn.Linear(3, 4, rng=rng), nn.Sequential(nn.Sigmoid(), nn.Linear(4, 4, bias=False, rng=rng)), nn.Identity(),
        nn.ReLU(), nn.Linear(4, 2, rng=rng),
    ),
    "one-linear": lambda rng: nn.Linear(3, 2, rng=rng),
}


@pytest.mark.parametrize("make", MODELS.values(), ids=MODELS.keys())
def test_to_torch_gives_the_same_outputs_gradients_and_names(make):
    rng = np.random.default_rng(0)
    ours = make(rng)
    theirs = nn.to_torch(ours)
    x = rng.normal(size=(7, 3))
    y = ours(x)
    yt = theirs(torch.from_numpy(x))
    np.testing.assert_allclose(yt.detach().numpy(), y.data, rtol=0, atol=1e-12)
    w = rng.normal(size=y.shape)
    (y * w).sum().backward()
    (yt * torch.from_numpy(w)).sum().backward()
    named = dict(theirs.named_parameters())
    assert sorted(named) == sorted(name for name, _ in ours.named_parameters())
    for name, p in ours.named_parameters():
        assert named[name].dtype == torch.float64
        np.testing.assert_allclose(named[name].grad.numpy(), p.grad, rtol=0, atol=1e-12)


@pytest.mark.parametrize("make", MODELS.values(), ids=MODELS.keys())
def test_from_torch_round_trip_is_exact(make):
    ours = make(np.random.default_rng(1))
    back = nn.from_torch(nn.to_torch(ours))
    assert repr(back).replace("MLP", "Sequential") == repr(ours).replace("MLP", "Sequential")
    for (a, p), (b, q) in zip(ours.named_parameters(), back.named_parameters()):
        assert a == b and p.dtype == q.dtype and p is not q
        np.testing.assert_array_equal(p.data, q.data)


def test_from_torch_keeps_float32_and_copies():
    torch.manual_seed(0)
    theirs = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Tanh(), torch.nn.Linear(3, 1))
    ours = nn.from_torch(theirs)
    x = np.random.default_rng(0).normal(size=(4, 2)).astype(np.float32)
    y = ours(x)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y.data, theirs(torch.from_numpy(x)).detach().numpy(), rtol=1e-6, atol=1e-6)
    ours[0].weight.data[...] = 0  # a copy: torch's weights are untouched
    assert theirs[0].weight.abs().sum().item() > 0


def test_state_dicts_move_by_name():
    ours = nn.MLP([2, 4, 1], rng=np.random.default_rng(0))
    theirs = nn.to_torch(nn.MLP([2, 4, 1], rng=np.random.default_rng(5)))
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()})
    other = nn.MLP([2, 4, 1], rng=np.random.default_rng(9))
    other.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    for p, q in zip(ours.parameters(), other.parameters()):
        np.testing.assert_array_equal(p.data, q.data)


def test_unsupported_modules_are_named():
    class Odd(nn.Module):
        def forward(self, x):
            return x

    with pytest.raises(TypeError, match="to_torch: Odd is not supported; it knows Linear"):
        nn.to_torch(nn.Sequential(nn.Linear(2, 2), Odd()))
    with pytest.raises(TypeError, match="from_torch: Bilinear is not supported"):
        nn.from_torch(torch.nn.Sequential(torch.nn.Bilinear(1, 1, 1)))
