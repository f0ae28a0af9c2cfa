"""nn.export_onnx of RNN, LSTM and GRU: ONNX's RNN/LSTM/GRU operators, one per layer, equal to our forward.

onnxruntime runs these operators in float32 only (compared to our float64 forward to float32's
rounding); float64 exports are run by onnx's reference evaluator (an independent NumPy
implementation of the operators) and must agree to ~1e-12. Skipped without the onnx extra.
"""

from __future__ import annotations

import numpy as np
import pytest

import nn

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx.reference import ReferenceEvaluator  # noqa: E402

RNG = np.random.default_rng(0)
CONFIGS = {
    "one-layer": {},
    "two-layers-bidirectional": {"num_layers": 2, "bidirectional": True},
    "three-layers-batch-first": {"num_layers": 3, "batch_first": True},
    "no-bias-bidirectional-batch-first": {"bias": False, "bidirectional": True, "batch_first": True},
    "dropout-between-layers": {"num_layers": 2, "dropout": 0.5},  # eval mode: no dropout
}
KINDS = {"rnn-tanh": nn.RNN, "rnn-relu": lambda *a, **k: nn.RNN(*a, nonlinearity="relu", **k), "lstm": nn.LSTM,
         "gru": nn.GRU}


def _model(kind, config):
    model = KINDS[kind](3, 4, rng=RNG, **CONFIGS[config])
    model.eval()
    return model


def _inputs(model, seq, batch, dtype):
    shape = (batch, seq, 3) if model.batch_first else (seq, batch, 3)
    return RNG.normal(size=shape).astype(dtype)


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("kind", KINDS)
def test_onnxruntime_float32_gives_our_sequence_output(kind, config, tmp_path):
    model = _model(kind, config)
    path = tmp_path / "m.onnx"
    nn.export_onnx(model, path, dtype=np.float32)
    proto = onnx.load(str(path))
    op_type = "RNN" if kind.startswith("rnn") else kind.upper()
    assert [n.op_type for n in proto.graph.node].count(op_type) == model.num_layers
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for seq, batch in ((1, 1), (6, 3)):  # sequence length and batch are free axes
        x = _inputs(model, seq, batch, np.float32)
        (y,) = session.run(["output"], {"input": x})
        expected = model(x.astype(np.float64))[0].data
        assert y.dtype == np.float32 and y.shape == expected.shape
        np.testing.assert_allclose(y, expected, rtol=1e-5, atol=2e-6)


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("kind", ["rnn-tanh", "lstm", "gru"])  # the reference evaluator knows no Relu activation
def test_float64_export_equals_our_forward_in_the_reference_evaluator(kind, config, tmp_path):
    model = _model(kind, config)
    path = tmp_path / "m.onnx"
    nn.export_onnx(model, path)
    x = _inputs(model, 5, 2, np.float64)
    (y,) = ReferenceEvaluator(str(path)).run(["output"], {"input": x})
    assert y.dtype == np.float64
    np.testing.assert_allclose(y, model(x)[0].data, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_onnxruntime_agrees_with_torch(kind, tmp_path):
    torch = pytest.importorskip("torch")
    model = _model(kind, "two-layers-bidirectional")
    path = tmp_path / "m.onnx"
    nn.export_onnx(model, path, dtype=np.float32)
    x = _inputs(model, 6, 3, np.float32)
    (y,) = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(["output"], {"input": x})
    with torch.no_grad():
        theirs = nn.to_torch(model).eval()(torch.from_numpy(x.astype(np.float64)))[0].numpy()
    np.testing.assert_allclose(y, theirs, rtol=1e-5, atol=2e-6)


def test_a_float32_model_exports_in_its_own_dtype(tmp_path):
    model = nn.GRU(3, 4, num_layers=2, bidirectional=True, rng=RNG, dtype=np.float32)
    path = tmp_path / "m.onnx"
    nn.export_onnx(model, path)
    x = _inputs(model, 4, 2, np.float32)
    (y,) = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(["output"], {"input": x})
    np.testing.assert_allclose(y, model(x)[0].data, rtol=1e-5, atol=1e-6)


def test_what_stays_refused_is_refused_before_writing(tmp_path):
    path = tmp_path / "m.onnx"
    # inside a container the (output, state) tuple has no single meaning as the graph's output
    for model in (nn.Sequential(nn.LSTM(3, 4)), nn.Sequential(nn.Linear(3, 3), nn.GRU(3, 4))):
        with pytest.raises(TypeError, match=r"export_onnx: (LSTM|GRU) is not supported by export_onnx inside "
                                            r"Sequential .*tuple.*export the (LSTM|GRU) itself"):
            nn.export_onnx(model, path)
    for shape in ((None, 3), (None, 2, 5)):
        with pytest.raises(ValueError, match=r"RNN's graph takes a batched \(3-D\) input of 3 features"):
            nn.export_onnx(nn.RNN(3, 4), path, input_shape=shape)
    with pytest.raises(TypeError, match=r"export_onnx: LSTMCell is not supported by export_onnx inside Sequential"):
        nn.export_onnx(nn.Sequential(nn.LSTMCell(3, 4)), path)
    with pytest.raises(ValueError, match=r"GRUCell's graph takes a batched \(2-D\) input of 3 features"):
        nn.export_onnx(nn.GRUCell(3, 4), path, input_shape=(None, 5, 3))
    assert not path.exists()


CELLS = {
    "rnn-cell": lambda: nn.RNNCell(3, 4, rng=RNG),
    "rnn-cell-relu-no-bias": lambda: nn.RNNCell(3, 4, nonlinearity="relu", bias=False, rng=RNG),
    "gru-cell": lambda: nn.GRUCell(3, 4, rng=RNG),
    "lstm-cell": lambda: nn.LSTMCell(3, 4, rng=RNG),  # alone: its forward returns (h', c'), the graph h'
    "gru-cell-in-sequential": lambda: nn.Sequential(nn.Linear(3, 3, rng=RNG), nn.GRUCell(3, 4, rng=RNG), nn.Tanh()),
}


@pytest.mark.parametrize("make", CELLS.values(), ids=CELLS.keys())
def test_cells_export_as_one_step_from_the_zero_state(make, tmp_path):
    model = make()
    path = tmp_path / "m.onnx"
    nn.export_onnx(model, path, dtype=np.float32)
    x = RNG.normal(size=(5, 3))
    (y,) = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(["output"],
                                                                                  {"input": x.astype(np.float32)})
    ours = model(x)
    ours = ours[0] if isinstance(ours, tuple) else ours
    np.testing.assert_allclose(y, ours.data, rtol=1e-5, atol=2e-6)
