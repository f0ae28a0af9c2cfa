"""ModuleList and ModuleDict: parameters found and named as torch names them ("0.weight", "key.weight"),
indexing, append/extend/insert, len/iter, state dicts that load into torch's containers, bad items refused."""

from __future__ import annotations

import numpy as np
import pytest

import nn

RNG = np.random.default_rng(3)


class Tower(nn.Module):
    def __init__(self):
        self.blocks = nn.ModuleList([nn.Linear(3, 3, rng=RNG) for _ in range(2)])
        self.heads = nn.ModuleDict({"mean": nn.Linear(3, 1, rng=RNG), "scale": nn.Linear(3, 1, rng=RNG)})

    def forward(self, x):
        for block in self.blocks:
            x = block(x).tanh()
        return self.heads["mean"](x) + self.heads["scale"](x)


def test_parameters_are_found_and_named_as_torch_names_them():
    names = [name for name, _ in Tower().named_parameters()]
    assert names == ["blocks.0.weight", "blocks.0.bias", "blocks.1.weight", "blocks.1.bias",
                     "heads.mean.weight", "heads.mean.bias", "heads.scale.weight", "heads.scale.bias"]


def test_module_list_is_a_list():
    layers = nn.ModuleList([nn.Linear(2, 2, rng=RNG)])
    layers.append(nn.Tanh()).extend([nn.Linear(2, 1, rng=RNG)])
    layers.insert(1, nn.ReLU())
    assert [type(m).__name__ for m in layers] == ["Linear", "ReLU", "Tanh", "Linear"]
    assert len(layers) == 4 and isinstance(layers[-1], nn.Linear)
    assert isinstance(layers[1:3], nn.ModuleList) and len(layers[1:3]) == 2
    layers[1] = nn.Sigmoid()
    del layers[2]
    assert [type(m).__name__ for m in layers] == ["Linear", "Sigmoid", "Linear"]
    assert [n for n, _ in layers.named_parameters()] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert "(1): Sigmoid()" in repr(layers)


def test_module_dict_is_a_dict():
    heads = nn.ModuleDict([("a", nn.Linear(2, 1, rng=RNG))])
    heads["b"] = nn.Tanh()
    heads.update({"c": nn.Linear(2, 2, rng=RNG)})
    assert list(heads) == ["a", "b", "c"] and len(heads) == 3 and "b" in heads
    assert list(heads.keys()) == ["a", "b", "c"] and isinstance(heads["c"], nn.Linear)
    assert [type(m).__name__ for m in heads.values()] == ["Linear", "Tanh", "Linear"]
    assert isinstance(heads.pop("b"), nn.Tanh) and "b" not in heads
    del heads["a"]
    assert [n for n, _ in heads.named_parameters()] == ["c.weight", "c.bias"]
    heads.clear()
    assert len(heads) == 0 and list(heads.parameters()) == []


def test_bad_items_are_refused_and_change_nothing():
    layers = nn.ModuleList([nn.Tanh()])
    with pytest.raises(TypeError, match=r"not an nn\.Module"):
        layers.append(np.zeros(2))
    with pytest.raises(TypeError, match="item 1"):
        layers.extend([nn.ReLU(), "relu"])
    with pytest.raises(TypeError, match="item 0"):
        nn.ModuleList([lambda x: x])
    assert len(layers) == 1
    heads = nn.ModuleDict({"a": nn.Tanh()})
    with pytest.raises(ValueError, match=r"without '\.'"):
        heads["a.b"] = nn.Tanh()
    with pytest.raises(TypeError, match="strings"):
        heads.update({1: nn.Tanh()})
    with pytest.raises(TypeError, match=r"not an nn\.Module"):
        heads.update({"b": nn.Tanh(), "c": 3})
    assert list(heads) == ["a"]


def test_optimising_through_containers_and_saving(tmp_path):
    model = Tower()
    x, t = RNG.normal(size=(8, 3)), RNG.normal(size=(8, 1))
    opt = nn.SGD(model.parameters(), lr=0.1)
    first = None
    for _ in range(20):
        opt.zero_grad()
        loss = nn.functional.mse_loss(model(x), t)
        loss.backward()
        opt.step()
        first = first if first is not None else loss.item()
    assert loss.item() < first
    model.save(tmp_path / "tower.npz")
    other = Tower()
    other.load(tmp_path / "tower.npz")
    np.testing.assert_array_equal(other(x).data, model(x).data)


def test_state_dict_loads_into_torchs_containers():
    torch = pytest.importorskip("torch")

    class TorchTower(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = torch.nn.ModuleList([torch.nn.Linear(3, 3) for _ in range(2)])
            self.heads = torch.nn.ModuleDict({"mean": torch.nn.Linear(3, 1), "scale": torch.nn.Linear(3, 1)})

        def forward(self, x):
            for block in self.blocks:
                x = torch.tanh(block(x))
            return self.heads["mean"](x) + self.heads["scale"](x)

    ours, theirs = Tower(), TorchTower().double()
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()})
    x = RNG.normal(size=(4, 3))
    np.testing.assert_allclose(theirs(torch.from_numpy(x)).detach().numpy(), ours(x).data, rtol=1e-13, atol=1e-14)
