"""Graph rendering (`draw_graph`, `save_graph`) and the narrated backward pass (`explain`)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import autodiff as ad
from autodiff.backward import reverse_topological

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")

NODE = re.compile(r'^\s*(n\d+) \[label="((?:[^"\\]|\\.)*)"', re.M)


def lecture_net(n=4, d=1, m=3, rng=None):
    """The lecture's network y = tanh(x W1ᵀ + b1) W2ᵀ + b2 with the mean squared error E."""
    rng = rng or np.random.default_rng(0)
    x = ad.Tensor(rng.uniform(-1, 1, (n, d)), name="x")
    t = ad.Tensor(rng.normal(size=(n, 1)), name="t")
    params = {
        "0.weight": ad.Tensor(rng.normal(size=(m, d)), requires_grad=True),
        "0.bias": ad.Tensor(rng.normal(size=m), requires_grad=True),
        "2.weight": ad.Tensor(rng.normal(size=(1, m)), requires_grad=True),
        "2.bias": ad.Tensor(rng.normal(size=1), requires_grad=True),
    }
    W1, b1, W2, b2 = params.values()
    y = (x @ W1.T + b1).tanh() @ W2.T + b2
    E = ((y - t) ** 2).mean()
    return E, params


def labels(source):
    """{node id: label lines} of a DOT source."""
    return {i: label.split("\\n") for i, label in NODE.findall(source)}


def norm_of(lines):
    (v,) = [float(s.split("= ")[1]) for s in lines if s.startswith("‖δ‖")]
    return v


class FakeModule:
    """Just what draw_graph relies on from nn.Module: named_parameters() -> (dotted name, tensor)."""

    def __init__(self, named):
        self._named = named

    def named_parameters(self):
        return iter(self._named.items())


# ----------------------------------------------------------------- DOT source


def test_source_before_backward_has_ops_names_and_clusters():
    E, params = lecture_net()
    src = ad.draw_graph(E, params=params).source
    ops = [lines[0] for lines in labels(src).values()]
    for op in ("mean", "pow", "sub", "add", "matmul", "tanh", "transpose"):
        assert op in ops
    for name in ("0.weight", "0.bias", "2.weight", "2.bias", "x", "t"):
        assert name in ops
    assert "(3, 1) float64" in src and "() float64" in src
    assert re.findall(r"subgraph (cluster_\w+)", src) == ["cluster_m0", "cluster_m1"]
    assert re.findall(r"label=(\d) ", src) == ["2", "0"]  # numbered as backward meets them
    # Before backward nothing has a gradient to show, and there is no legend.
    assert "‖δ‖" not in src and "legend" not in src


def test_parameters_sit_in_their_module_cluster():
    E, params = lecture_net()
    src = ad.draw_graph(E, params=params).source
    blocks = {b.split("label=")[1].split()[0]: b for b in re.findall(r"subgraph cluster_m\d+ \{.*?\}", src, re.S)}
    assert sorted(blocks) == ["0", "2"]
    # The layer's own work joins it: W.T, x @ W.T and + b read its parameters; tanh does not.
    assert re.findall(r'label="([\w.]+)', blocks["0"]) == ["add", "matmul", "transpose", "0.weight", "0.bias"]
    assert re.findall(r'label="([\w.]+)', blocks["2"]) == ["add", "matmul", "transpose", "2.weight", "2.bias"]


def test_gradient_norms_after_backward_match_the_engine():
    E, params = lecture_net()
    E.backward()
    src = ad.draw_graph(E, params=params).source
    by_name = {lines[0]: lines for lines in labels(src).values()}
    for name, p in params.items():
        assert norm_of(by_name[name]) == pytest.approx(np.linalg.norm(p.grad), rel=1e-3)
    order = reverse_topological([E])
    tanh = next(t for t in order if t.op == "tanh")
    (g,) = ad.grad(E, tanh)
    assert norm_of(labels(src)[f"n{next(i for i, t in enumerate(order) if t is tanh)}"]) == pytest.approx(np.linalg.norm(g.data), rel=1e-3)
    assert norm_of(by_name["mean"]) == 1.0
    assert "legend" in src and "edge colour" in src
    assert 'color="#08306b"' in src  # strong gradients are drawn dark
    assert "‖δ‖" not in by_name["x"][-1]  # a constant has no gradient


def test_rendering_is_pure():
    E, params = lecture_net()
    E.backward()
    before = {k: p.grad.copy() for k, p in params.items()}
    ad.draw_graph(E, params=params, show_data=True)
    ad.explain(E, params)
    for k, p in params.items():
        np.testing.assert_array_equal(p.grad, before[k])
    assert all(t.grad is None for t in reverse_topological([E]) if not t.is_leaf)


def test_show_grad_false_and_show_data():
    E, params = lecture_net()
    E.backward()
    src = ad.draw_graph(E, params=params, show_grad=False, show_data=True, rankdir="TB").source
    assert "‖δ‖" not in src and "rankdir=TB" in src
    assert "μ=" in src  # the (4, 3) hidden layer is summarized
    assert np.array2string(params["2.bias"].data, precision=3) in src  # a tiny tensor: its values


def test_vanishing_gradients_are_shaded():
    x = ad.Tensor([0.3], requires_grad=True, name="x")
    h = x
    for _ in range(12):
        h = (h * 8.0 + 6.0).sigmoid()  # saturated: each sigmoid passes on well under 10⁻¹
    h.sum().backward()
    src = ad.draw_graph(h.sum()).source
    assert "style=dashed" in src and 'color="#e6550d"' in src
    assert 'color="#08306b"' in src  # near the root the gradient is still strong


def test_infinite_gradients_are_drawn_in_red():
    x = ad.Tensor([0.0, 1.0], requires_grad=True, name="x")
    with np.errstate(all="ignore"):
        loss = x.sqrt().sum()  # δ_x = 1 / (2√x) is ∞ at 0
        loss.backward()
        src = ad.draw_graph(loss).source
    assert "‖δ‖ = inf" in src
    assert re.search(r'n2 -> n1 \[color="#cb181d" penwidth=3.0 style=bold\]', src)
    assert "NaN or ∞" in src


def test_node_count_does_not_depend_on_tensor_sizes():
    small, _ = lecture_net(n=2, d=1, m=2)
    big, _ = lecture_net(n=64, d=30, m=200)
    big.backward()
    n_small = len(labels(ad.draw_graph(small).source))
    n_big = len(labels(ad.draw_graph(big, show_data=True).source))
    assert n_small == n_big == 16


def test_source_is_deterministic():
    a, pa = lecture_net()
    b, pb = lecture_net()
    a.backward()
    b.backward()
    assert ad.draw_graph(a, params=pa).source == ad.draw_graph(b, params=pb).source


def test_module_params_give_nested_clusters():
    rng = np.random.default_rng(1)
    named = {
        "encoder.0.weight": ad.Tensor(rng.normal(size=(3, 2)), requires_grad=True),
        "encoder.1.weight": ad.Tensor(rng.normal(size=(3, 3)), requires_grad=True),
        "head.weight": ad.Tensor(rng.normal(size=(1, 3)), requires_grad=True),
        "scale": ad.Tensor(2.0, requires_grad=True),
    }
    W0, W1, W2, s = named.values()
    x = ad.Tensor(rng.normal(size=(5, 2)))
    loss = ((x @ W0.T).tanh() @ W1.T @ W2.T * s).sum()
    src = ad.draw_graph(loss, params=FakeModule(named)).source
    lines = src.splitlines()
    level = {}
    for i, line in enumerate(lines):
        m = re.match(r"(\t+)subgraph (cluster_\w+)", line)
        if m:
            label = re.search(r"label=\"?([\w.]+)", lines[i + 1]).group(1)
            level[label] = len(m.group(1))
    assert level == {"encoder": 1, "encoder.0": 2, "encoder.1": 2, "head": 1}
    assert re.search(r"\t\t\tn\d+ \[label=\"encoder\.0\.weight", src)  # inside encoder → encoder.0
    assert re.search(r"^\tn\d+ \[label=\"scale", src, re.M)  # a top-level parameter: no cluster


def test_shared_tensor_is_one_node_with_two_edges():
    a = ad.Tensor([1.0, 2.0], requires_grad=True, name="a")
    out = (a * a).sum()
    src = ad.draw_graph(out).source
    assert len(labels(src)) == 3
    assert src.count("n2 -> n1") == 2
    assert "(in total, over its 2 uses)" in ad.explain(out)


def test_names_float32_and_nonscalar_root():
    w = ad.Tensor(np.ones((2, 2), np.float32), requires_grad=True, name='we"ird\\path')
    h = w.tanh()
    h.name = "h"
    y = h * 3.0
    y.backward(np.ones((2, 2)))
    src = ad.draw_graph(y).source
    assert "(2, 2) float32" in src and "tanh h" in src and 'we\\"ird\\\\path' in src
    by_id = labels(src)
    assert norm_of(by_id["n2"]) == pytest.approx(np.linalg.norm(w.grad), rel=1e-3)  # leaves: their .grad
    assert not any(s.startswith("‖δ‖") for s in by_id["n0"])  # no seed to recompute intermediates


def test_a_leaf_root_and_a_constant_root():
    w = ad.Tensor([1.0], requires_grad=True, name="w")
    assert len(labels(ad.draw_graph(w).source)) == 1
    c = ad.Tensor([1.0]) * 2.0
    assert len(labels(ad.draw_graph(c).source)) == 1


def test_ten_thousand_op_chain_renders_without_recursion():
    x = ad.Tensor([0.5], requires_grad=True, name="x")
    h = x
    for _ in range(9_999):
        h = h * 0.9999
    h = h.sum()  # op number 10,000
    h.backward()
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(300)  # any recursion over the graph would blow this
    try:
        src = ad.draw_graph(h).source
        text = ad.explain(h)
    finally:
        sys.setrecursionlimit(limit)
    assert len(labels(src)) == 10_001
    assert text.count("\nstep ") == 10_000 and "‖δ‖ = 0.3679" in text  # 0.9999^9999 ≈ 1/e


def test_import_autodiff_does_not_import_graphviz():
    code = "import sys, autodiff; assert 'graphviz' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


# ----------------------------------------------------------------- explain


def test_explain_lecture_net_in_backward_order_with_engine_norms():
    E, params = lecture_net()
    text = ad.explain(E, params)
    order = reverse_topological([E])
    steps = re.findall(r"^step (\d+)\s+(\S+(?: \S+)?) \((n\d+)\)$", text, re.M)
    assert [s[1] for s in steps] == [t.op for t in order if not t.is_leaf]
    assert [int(s[0]) for s in steps] == list(range(1, 11))
    ops = [s[1] for s in steps]
    # Layer 2 is differentiated before the hidden tanh, and that before layer 1.
    assert ops[:4] == ["mean", "pow", "sub", "add"]
    assert ops.index("tanh") > ops.index("matmul") and ops.index("matmul", ops.index("tanh")) > ops.index("tanh")
    assert "z = tanh(x);  δ_x = δ_z ⊙ (1 − z²)" in text
    assert "b: t (n15) is a constant, no δ" in text

    # Every ‖δ_z‖ reaching an op equals the engine's gradient of that op's output.
    blocks = text.split("\n\n")[1:-1]
    tensors = [t for t in order if not t.is_leaf]
    grads = ad.grad(E, tensors)
    for block, g in zip(blocks, grads):
        (v,) = re.findall(r"in\s+‖δ_\w‖ = (\S+)", block)
        assert float(v) == pytest.approx(np.linalg.norm(g.data), rel=1e-3)

    # The leaves' table equals what backward accumulates into .grad.
    E.backward()
    for name, p in params.items():
        (v,) = re.findall(rf"^  {re.escape(name)} \(n\d+\)\s+\(.*\)\s+float64  ‖δ‖ = (\S+)$", text, re.M)
        assert float(v) == pytest.approx(np.linalg.norm(p.grad), rel=1e-3)


def test_explain_nonscalar_root_shows_rules_without_norms():
    w = ad.Tensor([1.0, 2.0], requires_grad=True, name="w")
    text = ad.explain(ad.stack([w.exp(), w], 0))
    assert "no norms" in text and "‖δ" not in text
    assert "shapes  x₁ (2,), x₂ (2,) → z (2, 2)" in text
    assert "δ_x = δ_z ⊙ z" in text


# ----------------------------------------------------------------- files


@needs_dot
def test_saved_svg_is_xml_with_parameter_names(tmp_path):
    E, params = lecture_net()
    E.backward()
    path = ad.save_graph(E, tmp_path / "net.svg", params=params)
    assert path == tmp_path / "net.svg"
    root = ET.parse(path).getroot()
    assert root.tag.endswith("svg")
    texts = {el.text for el in root.iter() if el.tag.endswith("text")}
    assert {"0.weight", "0.bias", "2.weight", "2.bias"} <= texts


@needs_dot
@pytest.mark.parametrize(("suffix", "magic"), [(".png", b"\x89PNG"), (".PDF", b"%PDF")])
def test_saved_png_and_pdf(tmp_path, suffix, magic):
    x = ad.Tensor([1.0], requires_grad=True, name="x")
    path = ad.save_graph(x.tanh().sum(), tmp_path / f"g{suffix}")
    assert path.read_bytes().startswith(magic)


def test_dot_source_needs_no_graphviz(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    x = ad.Tensor([1.0], requires_grad=True, name="x")
    y = x.tanh().sum()
    path = ad.save_graph(y, tmp_path / "g.gv")
    assert path.read_text(encoding="utf-8") == ad.draw_graph(y).source


# ----------------------------------------------------------------- errors


def test_non_tensor_root_is_a_type_error(tmp_path):
    for fn in (ad.draw_graph, ad.explain):
        with pytest.raises(TypeError, match="root must be a Tensor"):
            fn(np.ones(3))
    with pytest.raises(TypeError, match="root must be a Tensor"):
        ad.save_graph([1.0], tmp_path / "g.svg")
    assert not (tmp_path / "g.svg").exists()


def test_bad_arguments():
    E, params = lecture_net()
    with pytest.raises(TypeError, match="params"):
        ad.draw_graph(E, params=list(params.values()))
    with pytest.raises(TypeError, match="params"):
        ad.explain(E, {"w": np.ones(3)})
    with pytest.raises(ValueError, match="rankdir"):
        ad.draw_graph(E, rankdir="sideways")
    with pytest.raises(RuntimeError, match="does not require grad"):
        ad.explain(ad.Tensor([1.0]) * 2.0)


@pytest.mark.parametrize("name", ["graph.jpg", "graph", "graph.svg.txt"])
def test_bad_suffix_is_a_value_error_and_writes_nothing(tmp_path, name):
    E, _ = lecture_net()
    with pytest.raises(ValueError, match=r"\.svg, \.png or \.pdf"):
        ad.save_graph(E, tmp_path / name)
    assert list(tmp_path.iterdir()) == []


def test_missing_folder(tmp_path):
    E, _ = lecture_net()
    with pytest.raises(FileNotFoundError, match="does not exist"):
        ad.save_graph(E, tmp_path / "nope" / "g.svg")


def test_missing_dot_is_a_clear_error_and_writes_nothing(tmp_path, monkeypatch):
    E, params = lecture_net()
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(RuntimeError, match="apt-get install graphviz") as err:
        ad.save_graph(E, tmp_path / "net.svg", params=params)
    assert "net.dot" in str(err.value) and ".source" in str(err.value)
    assert list(tmp_path.iterdir()) == []


def test_dot_disappearing_during_render_is_the_same_clear_error(tmp_path, monkeypatch):
    import graphviz

    def gone(*args, **kwargs):
        raise graphviz.ExecutableNotFound(["dot"])

    monkeypatch.setattr(graphviz.Digraph, "pipe", gone)
    monkeypatch.setattr(shutil, "which", lambda name: "/usr/bin/dot")
    E, _ = lecture_net()
    with pytest.raises(RuntimeError, match="Install Graphviz"):
        ad.save_graph(E, tmp_path / "net.png")
    assert list(tmp_path.iterdir()) == []


def test_rendering_does_not_run_hooks():
    x = ad.Tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    calls = []
    h.register_hook(lambda g: calls.append(1))
    y = (h * h).sum()
    y.backward()
    assert len(calls) == 1
    ad.draw_graph(y)
    ad.explain(y)
    assert len(calls) == 1


def test_a_layer_fed_constant_data_does_not_pull_its_consumers_into_its_cluster():
    import nn

    ad.manual_seed(0)
    model = nn.Sequential(nn.Linear(1, 3), nn.Tanh(), nn.Linear(3, 1))
    loss = nn.MSELoss()(model(np.linspace(-1, 1, 4)[:, None]), np.zeros((4, 1)))
    source = ad.draw_graph(loss, params=model).source
    clusters = [block.split("}")[0] for block in source.split("subgraph ")[1:]]
    first = next(c for c in clusters if "label=0 " in c)
    assert "linear" in first and "0.weight" in first
    assert all("tanh" not in c for c in clusters)


def test_explain_values_prints_the_engines_deltas_and_only_norms_of_big_arrays():
    w = ad.Tensor([[0.5, -1.0]], requires_grad=True, name="w")
    big = ad.Tensor(np.ones((5, 5)), requires_grad=True, name="big")
    E = (w.tanh() * 3.0).sum() + big.sum()
    text = ad.explain(E, values=True)
    (g,) = ad.grad(E, [w])
    assert f"δ_x = [[{g.data[0, 0]:.4f} {g.data[0, 1]:.4f}]]" in text
    assert "δ_x: 25 values, not shown" in text and "value   z = [[ 0.4621 -0.7616]]" in text
    assert "value" not in ad.explain(E)
