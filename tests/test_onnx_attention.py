"""nn.export_onnx of MultiheadAttention (self-attention, alone) and TransformerEncoderLayer: MatMul/Softmax
subgraphs equal to our forward in eval mode without masks. onnxruntime runs them in float64 (to
~1e-12), except GELU's Erf (float32 only, to float32's rounding). Skipped without the onnx extra.
"""

from __future__ import annotations

import numpy as np
import pytest

import nn

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

RNG = np.random.default_rng(0)


def _run(model, x, tmp_path, **kwargs):
    path = tmp_path / "m.onnx"
    nn.export_onnx(model, path, **kwargs)
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(["output"], {"input": x})[0]


def _inputs(batch_first, seq, batch, dtype=np.float64):
    return RNG.normal(size=(batch, seq, 8) if batch_first else (seq, batch, 8)).astype(dtype)


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("batch_first", [False, True])
def test_multihead_self_attention_equals_ours_in_float64(batch_first, bias, tmp_path):
    model = nn.MultiheadAttention(8, 2, dropout=0.5, bias=bias, batch_first=batch_first, rng=RNG)
    model.eval()
    if bias:  # torch initialises them to zero: give them values the test can see
        model.in_proj_bias.data[...] = RNG.normal(size=24)
        model.out_proj.bias.data[...] = RNG.normal(size=8)
    for seq, batch in ((1, 1), (5, 3)):  # free axes
        x = _inputs(batch_first, seq, batch)
        np.testing.assert_allclose(_run(model, x, tmp_path), model(x, x, x)[0].data, rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
def test_transformer_encoder_layer_equals_ours_in_float64(batch_first, norm_first, bias, tmp_path):
    model = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.1, batch_first=batch_first, norm_first=norm_first,
                                       bias=bias, rng=RNG)
    model.eval()
    x = _inputs(batch_first, 4, 3)
    np.testing.assert_allclose(_run(model, x, tmp_path), model(x).data, rtol=1e-11, atol=1e-11)


@pytest.mark.parametrize("norm_first", [False, True])
def test_a_stack_of_gelu_layers_in_float32(norm_first, tmp_path):
    model = nn.Sequential(*(nn.TransformerEncoderLayer(8, 2, 16, activation="gelu", batch_first=True,
                                                       norm_first=norm_first, rng=RNG) for _ in range(2)))
    model.eval()
    x = _inputs(True, 5, 2, np.float32)
    out = _run(model, x, tmp_path, dtype=np.float32)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, model(x.astype(np.float64)).data, rtol=1e-5, atol=2e-6)


def test_what_stays_refused_is_refused_before_writing(tmp_path):
    path = tmp_path / "m.onnx"
    with pytest.raises(TypeError, match=r"export_onnx: MultiheadAttention is not supported by export_onnx inside "
                                        r"Sequential .*tuple.*export the MultiheadAttention itself"):
        nn.export_onnx(nn.Sequential(nn.MultiheadAttention(8, 2)), path)
    with pytest.raises(TypeError, match=r"TransformerEncoderLayer with activation 'tanh' \(a callable\)"):
        nn.export_onnx(nn.TransformerEncoderLayer(8, 2, 16, activation=np.tanh), path)
    with pytest.raises(ValueError, match=r"graph takes a batched \(3-D\) input"):
        nn.export_onnx(nn.TransformerEncoderLayer(8, 2, 16), path, input_shape=(None, 8))
    assert not path.exists()


@pytest.mark.parametrize("norm_first", [False, True])
def test_onnxruntime_agrees_with_torch(norm_first, tmp_path):
    torch = pytest.importorskip("torch")
    model = nn.TransformerEncoderLayer(8, 2, 16, batch_first=True, norm_first=norm_first, rng=RNG)
    model.self_attn.in_proj_bias.data[...] = RNG.normal(size=24)
    model.eval()
    x = _inputs(True, 5, 3)
    with torch.no_grad():
        theirs = nn.to_torch(model).eval()(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(_run(model, x, tmp_path), theirs, rtol=1e-10, atol=1e-11)
