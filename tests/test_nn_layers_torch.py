"""Dropout, BatchNorm1d, LayerNorm, Flatten, Conv2d, MaxPool2d, AvgPool2d, LeakyReLU, Softplus, GELU:
values and gradients against torch in float64 when it is installed, gradcheck with random upstream
weights (in gradcheck itself) always, running statistics and train/eval modes."""

import numpy as np
import pytest

import autodiff as ad
import nn
from autodiff.testing import gradcheck, gradgradcheck

RNG = np.random.default_rng(5)


def weights_of(module):
    return {name: p.data.copy() for name, p in module.named_parameters()}


def torch_twin(torch, ours, theirs):
    """Copy our parameters into the torch module (same names) and return it in float64."""
    theirs = theirs.double()
    with torch.no_grad():
        for name, array in weights_of(ours).items():
            dict(theirs.named_parameters())[name].copy_(torch.tensor(array))
    return theirs


LAYERS = [
    ("conv", lambda: nn.Conv2d(2, 3, 3, rng=RNG), lambda t: t.nn.Conv2d(2, 3, 3), (2, 2, 6, 5)),
    ("conv-stride-pad", lambda: nn.Conv2d(2, 3, (3, 2), stride=2, padding=1, rng=RNG),
     lambda t: t.nn.Conv2d(2, 3, (3, 2), stride=2, padding=1), (2, 2, 7, 6)),
    ("conv-no-bias", lambda: nn.Conv2d(1, 2, 2, bias=False, rng=RNG), lambda t: t.nn.Conv2d(1, 2, 2, bias=False), (3, 1, 4, 4)),
    ("maxpool", lambda: nn.MaxPool2d(2), lambda t: t.nn.MaxPool2d(2), (2, 3, 6, 5)),
    ("maxpool-stride-pad", lambda: nn.MaxPool2d(3, stride=2, padding=1), lambda t: t.nn.MaxPool2d(3, stride=2, padding=1),
     (2, 2, 7, 7)),
    ("avgpool", lambda: nn.AvgPool2d(2), lambda t: t.nn.AvgPool2d(2), (2, 3, 6, 4)),
    ("avgpool-stride-pad", lambda: nn.AvgPool2d(3, stride=2, padding=1), lambda t: t.nn.AvgPool2d(3, stride=2, padding=1),
     (2, 2, 5, 6)),
    ("flatten", lambda: nn.Flatten(), lambda t: t.nn.Flatten(), (2, 3, 4, 2)),
    ("layernorm", lambda: nn.LayerNorm(4), lambda t: t.nn.LayerNorm(4), (3, 5, 4)),
    ("layernorm-2d", lambda: nn.LayerNorm((2, 3)), lambda t: t.nn.LayerNorm((2, 3)), (4, 2, 3)),
    ("batchnorm", lambda: nn.BatchNorm1d(3), lambda t: t.nn.BatchNorm1d(3), (6, 3)),
    ("batchnorm-3d", lambda: nn.BatchNorm1d(2), lambda t: t.nn.BatchNorm1d(2), (4, 2, 5)),
    ("leaky", lambda: nn.LeakyReLU(0.1), lambda t: t.nn.LeakyReLU(0.1), (3, 4)),
    ("softplus", lambda: nn.Softplus(2.0, 1.0), lambda t: t.nn.Softplus(2.0, 1.0), (3, 4)),
    ("gelu", lambda: nn.GELU(), lambda t: t.nn.GELU(), (3, 4)),
    ("gelu-tanh", lambda: nn.GELU("tanh"), lambda t: t.nn.GELU("tanh"), (3, 4)),
]
IDS = [name for name, *_ in LAYERS]


def perturbed(ours):
    """Affine weights away from 1 and 0, so a forgotten γ or β shows."""
    for p in ours.parameters():
        p.data[...] = RNG.normal(size=p.shape)
    return ours


@pytest.mark.parametrize(("name", "make", "make_torch", "shape"), LAYERS, ids=IDS)
def test_values_and_gradients_match_torch_in_float64(name, make, make_torch, shape):
    torch = pytest.importorskip("torch")
    ours = perturbed(make())
    theirs = torch_twin(torch, ours, make_torch(torch))
    x0 = RNG.normal(size=shape)
    x = ad.Tensor(x0, requires_grad=True)
    y = ours(x)
    tx = torch.tensor(x0, requires_grad=True)
    ty = theirs(tx)
    np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=1e-12, atol=1e-12)
    w = RNG.normal(size=y.shape)
    (y * w).sum().backward()
    (ty * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-10, atol=1e-12)
    for pname, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad, dict(theirs.named_parameters())[pname].grad.numpy(), rtol=1e-10, atol=1e-12)
    if name.startswith("batchnorm"):  # the running statistics moved the same way, and eval mode uses them
        np.testing.assert_allclose(ours.running_mean.data, theirs.running_mean.numpy(), rtol=1e-12)
        np.testing.assert_allclose(ours.running_var.data, theirs.running_var.numpy(), rtol=1e-12)
        x1 = RNG.normal(size=shape)
        np.testing.assert_allclose(ours.eval()(x1).data, theirs.eval()(torch.tensor(x1)).detach().numpy(), rtol=1e-12)


@pytest.mark.parametrize(("name", "make", "make_torch", "shape"), LAYERS[:10] + LAYERS[10:12], ids=IDS[:12])
def test_gradients_match_finite_differences(name, make, make_torch, shape):
    ours = perturbed(make())
    x = ad.Tensor(RNG.normal(size=shape), requires_grad=True)
    params = list(ours.parameters())

    def f(x, *ps):
        return ours(x)

    assert gradcheck(f, x, *params)


@pytest.mark.parametrize("make", [lambda: nn.Conv2d(1, 2, 2, rng=RNG), lambda: nn.LayerNorm(3), lambda: nn.MaxPool2d(2)],
                         ids=["conv", "layernorm", "maxpool"])
def test_second_derivatives_match_finite_differences(make):
    ours = perturbed(make())
    shape = (1, 3) if isinstance(ours, nn.LayerNorm) else (1, 1, 4, 4)
    x = ad.Tensor(RNG.normal(size=shape), requires_grad=True)
    assert gradgradcheck(lambda x: ours(x).tanh(), x)


def test_dropout_keeps_the_expectation_in_training_and_is_the_identity_in_eval():
    drop = nn.Dropout(0.25, rng=np.random.default_rng(0))
    x = ad.Tensor(np.ones((200, 50)), requires_grad=True)
    y = drop(x)
    kept = y.data != 0
    assert set(np.unique(y.data)) == {0.0, 1 / 0.75}
    assert abs(kept.mean() - 0.75) < 0.02
    g = RNG.normal(size=y.shape)
    y.backward(g)
    np.testing.assert_allclose(x.grad, g * kept / 0.75)
    assert drop.eval()(x) is x
    assert nn.Dropout(1.0)(np.ones(3)).data.tolist() == [0.0, 0.0, 0.0]
    assert nn.Dropout(0.5, rng=np.random.default_rng(1)).train()(np.ones(3, np.float32)).dtype == np.float32
    with pytest.raises(ValueError, match="probability"):
        nn.Dropout(1.5)


def test_batchnorm_buffers_are_saved_with_the_parameters_and_not_optimized(tmp_path):
    model = nn.Sequential(nn.Linear(2, 3, rng=RNG), nn.BatchNorm1d(3))
    model(RNG.normal(size=(8, 2)))
    state = model.state_dict()
    assert list(state) == ["0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var",
                           "1.num_batches_tracked"]
    assert len(list(model.parameters())) == 4 and state["1.num_batches_tracked"] == 1
    model.save(tmp_path / "m.npz")
    other = nn.Sequential(nn.Linear(2, 3, rng=RNG), nn.BatchNorm1d(3))
    other.load(tmp_path / "m.npz")
    np.testing.assert_array_equal(other[1].running_var.data, model[1].running_var.data)
    x = RNG.normal(size=(4, 2))
    np.testing.assert_array_equal(other.eval()(x).data, model.eval()(x).data)


def test_batchnorm_momentum_none_is_the_cumulative_average():
    bn = nn.BatchNorm1d(2, momentum=None)
    batches = [RNG.normal(size=(5, 2)) for _ in range(3)]
    for b in batches:
        bn(b)
    np.testing.assert_allclose(bn.running_mean.data, np.mean([b.mean(axis=0) for b in batches], axis=0), rtol=1e-12)


@pytest.mark.parametrize(
    ("make", "shape", "words"),
    [
        (lambda: nn.Conv2d(3, 2, 3), (1, 2, 5, 5), r"expected input of shape \(N, 3, H, W\)"),
        (lambda: nn.Conv2d(1, 2, 5), (1, 1, 3, 3), "larger than the padded input"),
        (lambda: nn.MaxPool2d(2, padding=2), None, "at most half"),
        (lambda: nn.BatchNorm1d(3), (1, 3), "more than one value per channel"),
        (lambda: nn.BatchNorm1d(3), (4, 2), r"\(N, 3\)"),
        (lambda: nn.LayerNorm(4), (2, 3), "does not end in"),
        (lambda: nn.Conv2d(1, 1, 0), None, "kernel_size"),
    ],
)
def test_bad_shapes_and_sizes_are_named(make, shape, words):
    with pytest.raises(ValueError, match=words):
        layer = make()
        layer(np.zeros(shape))


def test_a_small_cnn_trains_end_to_end_in_float32():
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, rng=RNG, dtype=np.float32), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Dropout(0.1, rng=RNG), nn.Linear(16, 2, rng=RNG, dtype=np.float32))
    x = RNG.normal(size=(16, 1, 4, 4)).astype(np.float32)
    t = (x[:, 0, :2].sum(axis=(1, 2)) > x[:, 0, 2:].sum(axis=(1, 2))).astype(int)
    opt = nn.AdamW(model.parameters(), lr=0.05)
    losses = []
    for _ in range(30):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), t)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert model(x).dtype == np.float32
    assert losses[-1] < 0.5 * losses[0]


@pytest.mark.parametrize(("kernel", "stride", "padding"), [((3, 3), (1, 1), (1, 1)), ((2, 3), (2, 1), (0, 2))])
def test_fold_is_the_adjoint_of_unfold(kernel, stride, padding):
    from nn.modules.conv import fold, unfold

    x = RNG.normal(size=(2, 3, 5, 4))
    cols = unfold(x, kernel, stride, padding).data
    z = RNG.normal(size=cols.shape)
    back = fold(z, x.shape, kernel, stride, padding).data
    assert back.shape == x.shape
    assert np.sum(cols * z) == pytest.approx(np.sum(x * back), rel=1e-12)
