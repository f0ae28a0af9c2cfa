"""nn.export_onnx: a Gemm per Linear, activations as ONNX ops, accepted by onnx.checker, and
onnxruntime's outputs equal to ours (float64 to 1e-12). Skipped without the onnx extra."""

from __future__ import annotations

import numpy as np
import pytest

import nn

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

MODELS = {
    "mlp-tanh": lambda rng: nn.MLP([3, 8, 8, 2], rng=rng),
    "mlp-relu-sigmoid-out": lambda rng: nn.MLP([3, 5, 1], activation="relu", output_activation="sigmoid", rng=rng),
    "nested-no-bias": lambda rng: nn.Sequential(
        nn.Linear(3, 4, rng=rng), nn.Sequential(nn.Identity(), nn.Linear(4, 4, bias=False, rng=rng)), nn.Tanh(),
    ),
}


def _run(path, x):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(["output"], {"input": x})[0]


@pytest.mark.parametrize("make", MODELS.values(), ids=MODELS.keys())
def test_onnxruntime_gives_our_outputs_in_float64(make, tmp_path):
    rng = np.random.default_rng(0)
    model = make(rng)
    path = tmp_path / "model.onnx"
    nn.export_onnx(model, path)
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto, full_check=True)
    linears = [m for m in model.modules() if type(m) is nn.Linear]
    assert [n.op_type for n in proto.graph.node].count("Gemm") == len(linears)
    for batch in (1, 9):  # the batch dimension is free
        x = rng.normal(size=(batch, 3))
        np.testing.assert_allclose(_run(path, x), model(x).data, rtol=0, atol=1e-12)


def test_float32_export_of_a_float64_model(tmp_path):
    model = nn.MLP([2, 6, 1], rng=np.random.default_rng(0))
    nn.export_onnx(model, tmp_path / "m.onnx", dtype=np.float32)
    x = np.random.default_rng(1).normal(size=(5, 2)).astype(np.float32)
    out = _run(tmp_path / "m.onnx", x)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, model(x.astype(np.float64)).data, rtol=1e-5, atol=1e-6)


def test_activations_are_onnx_operators(tmp_path):
    model = nn.Sequential(nn.Linear(2, 2), nn.Tanh(), nn.Linear(2, 2), nn.Sigmoid(), nn.Linear(2, 2), nn.ReLU())
    nn.export_onnx(model, tmp_path / "m.onnx")
    ops = [n.op_type for n in onnx.load(str(tmp_path / "m.onnx")).graph.node]
    assert ops == ["Gemm", "Tanh", "Gemm", "Sigmoid", "Gemm", "Relu", "Identity"]


def test_unsupported_modules_and_dtypes_are_refused_before_writing(tmp_path):
    class Odd(nn.Module):
        def forward(self, x):
            return x

    path = tmp_path / "m.onnx"
    with pytest.raises(TypeError, match="export_onnx: Odd is not supported"):
        nn.export_onnx(nn.Sequential(nn.Linear(2, 2), Odd()), path)
    with pytest.raises(TypeError, match="float32 or float64"):
        nn.export_onnx(nn.Linear(2, 2), path, dtype=np.float16)
    with pytest.raises(ValueError, match="no Linear"):
        nn.export_onnx(nn.Tanh(), path)
    assert not path.exists()
