"""Modules: parameter discovery, names, modes, repr; the layers; Parameter; initialisers."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import autodiff as ad
import autodiff.testing.strategies as strategies
import nn
from autodiff.testing import gradcheck


def rng(seed=0):
    return np.random.default_rng(seed)


# ---------------------------------------------------------------------- discovery and names
class Block(nn.Module):
    def __init__(self, shared):
        self.shared = shared
        self.own = nn.Linear(2, 2, rng=rng())
        self.scale = nn.Parameter([1.0])

    def forward(self, x):
        return self.own(self.shared(x)) * self.scale


class Net(nn.Module):
    def __init__(self):
        self.first = nn.Linear(2, 2, rng=rng())
        self.blocks = [Block(self.first), Block(self.first)]
        self.heads = {"a": nn.Linear(2, 1, rng=rng()), "b": (nn.Parameter([0.0]), nn.Tanh())}
        self.not_a_param = ad.Tensor([1.0], requires_grad=True)
        self.numbers = [1, 2.0, "x"]

    def forward(self, x):
        for b in self.blocks:
            x = b(x)
        return self.heads["a"](x) + self.heads["b"][0]


def test_named_parameters_walk_attributes_containers_and_list_shared_weights_once():
    net = Net()
    names = [name for name, _ in net.named_parameters()]
    assert names == [
        "first.weight", "first.bias",
        "blocks.0.own.weight", "blocks.0.own.bias", "blocks.0.scale",
        "blocks.1.own.weight", "blocks.1.own.bias", "blocks.1.scale",
        "heads.a.weight", "heads.a.bias", "heads.b.0",
    ]
    params = list(net.parameters())
    assert len({id(p) for p in params}) == len(params) == 11
    assert params[0] is net.first.weight and params[-1] is net.heads["b"][0]


def test_children_and_modules():
    net = Net()
    assert [name for name, _ in net.named_children()] == ["first", "blocks.0", "blocks.1", "heads.a", "heads.b.1"]
    assert list(net.children())[1] is net.blocks[0]
    names = [name for name, _ in net.named_modules()]
    # the shared Linear appears once, under its first name
    assert names == ["", "first", "blocks.0", "blocks.0.own", "blocks.1", "blocks.1.own", "heads.a", "heads.b.1"]
    assert len(list(net.modules())) == 8


def test_a_module_that_refers_to_itself_or_its_parent_does_not_loop():
    net = nn.Sequential(nn.Linear(1, 1, rng=rng()))
    net.layers[0].parent = net
    net.me = net
    assert [n for n, _ in net.named_parameters()] == ["0.weight", "0.bias"]
    assert len(list(net.modules())) == 2


def test_sequential_names_its_layers_by_position():
    model = nn.Sequential(nn.Linear(1, 20, rng=rng()), nn.Tanh(), nn.Linear(20, 1, rng=rng()))
    assert [n for n, _ in model.named_parameters()] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert len(model) == 3 and isinstance(model[1], nn.Tanh)
    assert isinstance(model[1:], nn.Sequential) and len(model[1:]) == 2
    model.append(nn.Sigmoid())
    assert isinstance(list(model)[-1], nn.Sigmoid)
    with pytest.raises(TypeError, match="Sequential: argument 1 is a function"):
        nn.Sequential(nn.Tanh(), lambda x: x)


def test_zero_grad_train_and_eval():
    net = Net()
    net(np.ones((3, 2))).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    assert net.training
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())


def test_repr_prints_the_module_tree():
    model = nn.Sequential(nn.Linear(2, 3, rng=rng()), nn.ReLU(), nn.Sequential(nn.Linear(3, 1, bias=False, rng=rng())))
    assert repr(model) == (
        "Sequential(\n"
        "  (0): Linear(in_features=2, out_features=3, bias=True)\n"
        "  (1): ReLU()\n"
        "  (2): Sequential(\n"
        "    (0): Linear(in_features=3, out_features=1, bias=False)\n"
        "  )\n"
        ")"
    )


def test_forward_must_be_defined():
    with pytest.raises(NotImplementedError, match="Empty must define forward"):
        type("Empty", (nn.Module,), {})()(1.0)


# ---------------------------------------------------------------------- Parameter
def test_parameter_is_a_leaf_tensor_that_always_requires_grad():
    p = nn.Parameter(np.arange(3))
    assert isinstance(p, ad.Tensor) and p.requires_grad and p.is_leaf and p.dtype == np.float64
    assert not hasattr(p, "__dict__")  # __slots__ = (): as lean as a Tensor
    assert repr(nn.Parameter([1.0], dtype=np.float32)) == "Parameter([1.], dtype=float32)"
    y = p * 2
    assert type(y) is ad.Tensor and y.op == "mul"


# ---------------------------------------------------------------------- Linear
def call_with(layer, x, weight, bias=None):
    """layer(x) with its weight and bias swapped for the given tensors (gradcheck passes copies)."""
    saved = layer.weight, layer.bias
    layer.weight, layer.bias = weight, bias
    try:
        return layer(x)
    finally:
        layer.weight, layer.bias = saved


@given(st.integers(1, 4), st.integers(1, 4), st.sampled_from([(), (3,), (2, 3)]), st.booleans())
def test_linear_computes_x_wt_plus_b_and_passes_gradcheck(n_in, n_out, batch, bias):
    layer = nn.Linear(n_in, n_out, bias=bias, rng=rng())
    x = ad.Tensor(rng(1).normal(size=(*batch, n_in)), requires_grad=True)
    y = layer(x)
    expected = x.data @ layer.weight.data.T + (layer.bias.data if bias else 0)
    np.testing.assert_allclose(y.data, expected, rtol=1e-12)
    params = [layer.weight] + ([layer.bias] if bias else [])
    assert gradcheck(lambda x, *ps: call_with(layer, x, *ps), x, *params)


@pytest.mark.parametrize("batch", [(), (3,), (2, 3)])
def test_linear_can_be_differentiated_twice(batch):
    from autodiff.testing import gradgradcheck

    layer = nn.Linear(3, 2, rng=rng())
    x = ad.Tensor(rng(1).normal(size=(*batch, 3)), requires_grad=True)
    assert gradgradcheck(lambda x, w, b: (call_with(layer, x, w, b) ** 2).sum(), x, layer.weight, layer.bias)


@given(strategies.tensors(shape=(4, 3)))
def test_linear_gradients_match_the_backprop_formulas(x):
    layer = nn.Linear(3, 2, rng=rng())
    g = rng(2).normal(size=(4, 2))
    layer(x).backward(g)
    np.testing.assert_allclose(layer.weight.grad, g.T @ x.data, rtol=1e-12, atol=1e-12)  # ∂E/∂w_ji = Σ_n δ_nj x_ni
    np.testing.assert_allclose(layer.bias.grad, g.sum(0), rtol=1e-12)
    np.testing.assert_allclose(x.grad, g @ layer.weight.data, rtol=1e-12, atol=1e-12)


def test_linear_init_is_uniform_within_one_over_sqrt_in_and_reproducible():
    layer = nn.Linear(16, 64, rng=rng())
    bound = 1 / np.sqrt(16)
    assert layer.weight.shape == (64, 16) and layer.bias.shape == (64,)
    assert np.abs(layer.weight.data).max() <= bound and np.abs(layer.weight.data).max() > 0.9 * bound
    assert np.abs(layer.bias.data).max() <= bound
    ad.manual_seed(3)
    a = nn.MLP([2, 4, 1])
    ad.manual_seed(3)
    b = nn.MLP([2, 4, 1])
    c = nn.MLP([2, 4, 1])
    for pa, pb, pc in zip(a.parameters(), b.parameters(), c.parameters()):
        np.testing.assert_array_equal(pa.data, pb.data)
        assert not np.array_equal(pa.data, pc.data)


def test_linear_accepts_arrays_and_lists_and_keeps_float32():
    layer = nn.Linear(2, 3, rng=rng(), dtype=np.float32)
    assert layer(np.ones((4, 2), np.float32)).dtype == np.float32
    assert layer([[1.0, 2.0]]).shape == (1, 3)
    assert layer(np.ones(2, np.float32)).shape == (3,)


@pytest.mark.parametrize("shape", [(5, 4), (4,), (2, 3, 2)])
def test_linear_with_the_wrong_number_of_features_names_the_layer_and_both_sizes(shape):
    layer = nn.Linear(3, 2, rng=rng())
    before = layer.state_dict()
    x = ad.Tensor(np.ones(shape), requires_grad=True)
    with pytest.raises(ValueError) as info:
        layer(x)
    message = str(info.value)
    assert message.startswith("Linear(in_features=3, out_features=2")
    assert f"has {shape[-1]} features" in message and "expects 3" in message
    assert x.grad is None and all(np.array_equal(v, layer.state_dict()[k]) for k, v in before.items())


@pytest.mark.parametrize(("bad", "error"), [(0, ValueError), (-1, ValueError), (2.5, TypeError), (True, TypeError),
                                            ("3", TypeError), (None, TypeError)])
def test_linear_rejects_bad_sizes(bad, error):
    # a size of the wrong type is a TypeError, a size of the right type out of range a ValueError
    with pytest.raises(error, match="Linear: in_features must be a positive int"):
        nn.Linear(bad, 2)
    with pytest.raises(error, match="Linear: out_features must be a positive int"):
        nn.Linear(2, bad)


# ---------------------------------------------------------------------- activations and MLP
@pytest.mark.parametrize(
    ("module", "reference"),
    [
        (nn.Tanh(), np.tanh),
        (nn.Sigmoid(), lambda a: 1 / (1 + np.exp(-a))),
        (nn.ReLU(), lambda a: np.maximum(a, 0)),
        (nn.Identity(), lambda a: a),
    ],
)
def test_activations(module, reference):
    a = np.array([-2.0, -0.5, 0.3, 1.7])
    np.testing.assert_allclose(module(ad.Tensor(a)).data, reference(a), rtol=1e-12)
    assert gradcheck(module, ad.Tensor(a, requires_grad=True))
    assert list(module.parameters()) == []


def test_mlp_builds_linear_layers_with_activations_between():
    mlp = nn.MLP([2, 8, 4, 3], activation="relu", output_activation="sigmoid", rng=rng())
    assert [type(m).__name__ for m in mlp] == ["Linear", "ReLU", "Linear", "ReLU", "Linear", "Sigmoid"]
    assert [n for n, _ in mlp.named_parameters()][:3] == ["0.weight", "0.bias", "2.weight"]
    out = mlp(np.ones((5, 2)))
    assert out.shape == (5, 3) and np.all((out.data > 0) & (out.data < 1))
    assert [type(m).__name__ for m in nn.MLP([3, 1], activation=nn.Tanh, rng=rng())] == ["Linear"]


@pytest.mark.parametrize(
    ("kw", "error"),
    [({"sizes": [3]}, ValueError), ({"activation": "swish"}, ValueError), ({"activation": 3}, TypeError),
     ({"output_activation": "softplus"}, ValueError)],
)
def test_mlp_rejects_bad_arguments(kw, error):
    with pytest.raises(error, match="MLP"):
        nn.MLP(**{"sizes": [2, 3, 1], **kw})


# ---------------------------------------------------------------------- init
@pytest.mark.parametrize(
    ("init", "bound"),
    [
        (nn.init.xavier_uniform_, np.sqrt(6 / (200 + 100))),
        (lambda w, rng: nn.init.kaiming_uniform_(w, nonlinearity="relu", rng=rng), np.sqrt(2) * np.sqrt(3 / 200)),
    ],
)
def test_uniform_initialisers_fill_in_place_within_their_bound(init, bound):
    w = nn.Parameter(np.zeros((100, 200)))
    data = w.data
    assert init(w, rng=rng()) is w and w.data is data
    assert np.abs(w.data).max() <= bound and np.abs(w.data).max() > 0.99 * bound
    np.testing.assert_array_equal(init(nn.Parameter(np.zeros((100, 200))), rng=rng()).data, w.data)


def test_xavier_normal_std_and_zeros():
    w = nn.init.xavier_normal_(nn.Parameter(np.zeros((300, 200))), gain=2.0, rng=rng())
    assert w.data.std() == pytest.approx(2 * np.sqrt(2 / 500), rel=0.02)
    assert not nn.init.zeros_(w, rng=rng()).data.any()
    f32 = nn.init.xavier_uniform_(nn.Parameter(np.zeros((3, 3), np.float32)))
    assert f32.dtype == np.float32 and f32.data.any()


def test_initialisers_reject_bad_input_and_change_nothing():
    b = nn.Parameter([1.0, 2.0])
    with pytest.raises(ValueError, match="xavier_uniform_: fan in and fan out need a tensor of at least 2"):
        nn.init.xavier_uniform_(b)
    with pytest.raises(ValueError, match="mode"):
        nn.init.kaiming_uniform_(nn.Parameter(np.ones((2, 2))), mode="fan_avg")
    with pytest.raises(TypeError, match="zeros_: expected a Tensor"):
        nn.init.zeros_(np.ones(2))
    assert b.data.tolist() == [1.0, 2.0]
