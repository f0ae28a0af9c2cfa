"""The bridges (to_torch, from_torch, export_onnx) convert every layer kind faithfully and refuse, with a
TypeError naming the class and before any work, what they cannot: a Sequential subclass adding a
residual used to be converted as a plain chain, its residual silently dropped. Torch's integer
buffers (BatchNorm's num_batches_tracked, int64) load into our state."""

from __future__ import annotations

import numpy as np
import pytest

import nn

torch = pytest.importorskip("torch")
RNG = np.random.default_rng(11)


class Residual(nn.Sequential):
    """x + f(x): its forward is not Sequential's."""

    def forward(self, x):
        return x + super().forward(x)


class CalledTwice(nn.Linear):
    def __call__(self, x):
        return super().__call__(super().__call__(x))


class Plain(nn.Sequential):
    """A subclass that keeps Sequential's forward converts as one."""


def test_a_residual_sequential_is_refused_not_flattened(tmp_path):
    model = nn.Sequential(nn.Linear(2, 2, rng=RNG), Residual(nn.Linear(2, 2, rng=RNG), nn.Tanh()))
    with pytest.raises(TypeError, match=r"to_torch: Residual overrides Sequential\.forward"):
        nn.to_torch(model)
    pytest.importorskip("onnx")
    path = tmp_path / "m.onnx"
    with pytest.raises(TypeError, match=r"export_onnx: Residual overrides Sequential\.forward"):
        nn.export_onnx(model, path)
    assert not path.exists()


def test_a_layer_subclass_that_changes_its_call_is_refused_and_one_that_does_not_converts():
    with pytest.raises(TypeError, match="to_torch: CalledTwice overrides Linear"):
        nn.to_torch(CalledTwice(2, 2, rng=RNG))
    theirs = nn.to_torch(Plain(nn.Linear(2, 3, rng=RNG), nn.ReLU()))
    assert isinstance(theirs, torch.nn.Sequential) and len(theirs) == 2


def test_torch_subclasses_and_unknown_torch_modules_are_refused():
    class TorchResidual(torch.nn.Sequential):
        def forward(self, x):
            return x + super().forward(x)

    with pytest.raises(TypeError, match="from_torch: TorchResidual is not supported"):
        nn.from_torch(TorchResidual(torch.nn.Linear(2, 2)))
    with pytest.raises(TypeError, match="from_torch: PixelShuffle is not supported"):
        nn.from_torch(torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.PixelShuffle(2)))


def test_torch_batchnorm_state_with_its_int64_counter_loads():
    theirs = torch.nn.BatchNorm1d(3).double()
    for _ in range(2):
        theirs(torch.randn(6, 3, dtype=torch.float64))
    state = {k: v.numpy() for k, v in theirs.state_dict().items()}
    assert state["num_batches_tracked"].dtype == np.int64
    ours = nn.BatchNorm1d(3)
    ours.load_state_dict(state)
    assert ours.num_batches_tracked.data == 2.0
    np.testing.assert_array_equal(ours.running_var.data, state["running_var"])
    x = RNG.normal(size=(4, 3))
    np.testing.assert_allclose(ours.eval()(x).data, theirs.eval()(torch.from_numpy(x)).detach().numpy(), rtol=1e-13)


def test_integers_are_refused_for_parameters_and_beyond_float_precision():
    bn = nn.BatchNorm1d(2)
    before = bn.state_dict()
    with pytest.raises(ValueError, match="'weight' has dtype int64"):
        bn.load_state_dict({**before, "weight": np.array([1, 2])})
    with pytest.raises(ValueError, match="num_batches_tracked"):
        bn.load_state_dict({**before, "num_batches_tracked": np.array(2**60)})
    assert all(np.array_equal(v, bn.state_dict()[k]) for k, v in before.items())


def _same_outputs(ours, theirs, x):
    y, yt = ours(x), theirs(torch.from_numpy(x))
    if isinstance(y, tuple):
        y, yt = y[0], yt[0]
    np.testing.assert_allclose(yt.detach().numpy(), y.data, rtol=1e-12, atol=1e-12)


KINDS = {
    "cnn": (lambda: nn.Sequential(
        nn.Conv2d(2, 4, 3, padding="same", padding_mode="reflect", rng=RNG), nn.BatchNorm2d(4), nn.ReLU(),
        nn.MaxPool2d(2, ceil_mode=True),
        nn.Conv2d(4, 4, 3, padding=1, groups=2, rng=RNG), nn.ELU(0.5), nn.AvgPool2d(2, padding=1, count_include_pad=False),
        nn.ZeroPad2d((1, 0, 2, 1)), nn.ConvTranspose2d(4, 3, 3, stride=2, padding=1, output_padding=1, rng=RNG),
        nn.Upsample(scale_factor=2, mode="bilinear"), nn.SiLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        nn.Linear(3, 5, rng=RNG), nn.LeakyReLU(0.1), nn.GELU("tanh"), nn.Hardswish(), nn.SELU(), nn.Mish(),
        nn.Softplus(2.0, 3.0), nn.CELU(0.5), nn.Hardtanh(-0.5, 0.5), nn.LogSoftmax(dim=1)), (2, 2, 9, 8)),
    "signal": (lambda: nn.Sequential(
        nn.Conv1d(3, 4, 3, padding=2, dilation=2, rng=RNG), nn.ReflectionPad1d(2), nn.MaxPool1d(2),
        nn.ConvTranspose1d(4, 2, 3, stride=2, rng=RNG), nn.AvgPool1d(3, 1, 1), nn.Upsample(size=11, mode="linear",
                                                                                            align_corners=True),
        nn.Tanh(), nn.Flatten(), nn.LayerNorm(22), nn.Dropout(0.3)), (2, 3, 10)),
    "norm-mlp": (lambda: nn.Sequential(nn.Linear(3, 4, rng=RNG), nn.BatchNorm1d(4), nn.ReLU6(), nn.Softmax(dim=1)),
                 (5, 3)),
    "lstm": (lambda: nn.LSTM(3, 4, num_layers=2, bidirectional=True, batch_first=True, rng=RNG), (2, 5, 3)),
    "gru": (lambda: nn.GRU(3, 4, rng=RNG), (5, 2, 3)),
    "rnn-relu": (lambda: nn.RNN(3, 4, nonlinearity="relu", rng=RNG), (5, 2, 3)),
    "cells": (lambda: nn.LSTMCell(3, 4, rng=RNG), (2, 3)),
    "transformer": (lambda: nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, activation="gelu", batch_first=True,
                                                       norm_first=True, rng=RNG), (2, 5, 8)),
}


@pytest.mark.parametrize("name", KINDS)
def test_every_kind_goes_to_torch_and_back_with_the_same_outputs(name):
    make, shape = KINDS[name]
    ours = make()
    if name in ("norm-mlp", "cnn"):
        ours(RNG.normal(size=(8, *shape[1:])))  # running statistics away from their start
    ours.eval()  # dropout's masks are random
    x = RNG.normal(size=shape)
    theirs = nn.to_torch(ours)
    assert theirs.training == ours.training
    _same_outputs(ours, theirs, x)
    back = nn.from_torch(theirs)
    assert type(back) is type(ours) or isinstance(ours, nn.Sequential)
    for (a, p), (b, q) in zip(ours.state_dict().items(), back.state_dict().items()):
        assert a == b and p.dtype == q.dtype
        np.testing.assert_array_equal(p, q)


def test_training_mode_is_kept():
    assert nn.to_torch(nn.Sequential(nn.Dropout(0.5))).training
    assert not nn.to_torch(nn.Sequential(nn.Dropout(0.5)).eval())[0].training


def test_attention_and_embedding_and_losses_convert():
    attention = nn.MultiheadAttention(8, 2, batch_first=True, rng=RNG)
    q = RNG.normal(size=(2, 5, 8))
    out, weights = attention(q, q, q)
    t_out, t_weights = nn.to_torch(attention)(*(torch.from_numpy(q),) * 3)
    np.testing.assert_allclose(t_out.detach().numpy(), out.data, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(t_weights.detach().numpy(), weights.data, rtol=1e-12, atol=1e-12)
    embedding = nn.Embedding(10, 3, padding_idx=0, rng=RNG)
    tokens = np.array([[1, 0, 9]])
    np.testing.assert_array_equal(nn.to_torch(embedding)(torch.from_numpy(tokens)).detach().numpy(), embedding(tokens).data)
    loss = nn.CrossEntropyLoss(weight=[1.0, 2.0, 0.5], label_smoothing=0.1)
    theirs = nn.to_torch(loss)
    logits, target = RNG.normal(size=(4, 3)), np.array([0, 2, 1, 1])
    np.testing.assert_allclose(theirs(torch.from_numpy(logits), torch.from_numpy(target)).item(),
                               loss(logits, target).item(), rtol=1e-13)
    back = nn.from_torch(torch.nn.HuberLoss(reduction="sum", delta=0.5))
    assert isinstance(back, nn.HuberLoss) and back.delta == 0.5 and back.reduction == "sum"


def test_from_torch_keeps_float32():
    theirs = torch.nn.Sequential(torch.nn.Conv1d(2, 3, 3), torch.nn.BatchNorm1d(3), torch.nn.GELU())
    ours = nn.from_torch(theirs.eval())
    x = RNG.normal(size=(2, 2, 6)).astype(np.float32)
    y = ours(x)
    assert y.dtype == np.float32 and not ours.training
    np.testing.assert_allclose(y.data, theirs(torch.from_numpy(x)).detach().numpy(), rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------- ONNX
def _onnx_run(model, x, tmp_path, **kwargs):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    path = tmp_path / "m.onnx"
    nn.export_onnx(model, path, **kwargs)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(["output"], {"input": x})[0]


@pytest.mark.parametrize("name", ["cnn", "signal"])
def test_convolutional_models_export_to_onnx(name, tmp_path):
    # onnxruntime runs convolutions in float32 only
    make, shape = KINDS[name]
    model = make()
    model(RNG.normal(size=(8, *shape[1:])))  # BatchNorm's running statistics away from their start
    model.eval()
    x = RNG.normal(size=shape)
    out = _onnx_run(model, x.astype(np.float32), tmp_path, dtype=np.float32)
    np.testing.assert_allclose(out, model(x).data, rtol=1e-4, atol=1e-5)


def test_activations_and_norms_export_to_onnx_in_float64(tmp_path):
    model = nn.Sequential(nn.Linear(3, 6, rng=RNG), nn.BatchNorm1d(6), nn.LeakyReLU(0.01), nn.Linear(6, 6, rng=RNG),
                          nn.SELU(), nn.GELU("tanh"), nn.LayerNorm(6), nn.Softplus(0.5), nn.CELU(0.7), nn.Hardsigmoid(),
                          nn.LogSigmoid(), nn.Softmin(dim=1))
    model(RNG.normal(size=(8, 3)))
    model.eval()
    x = RNG.normal(size=(5, 3))
    np.testing.assert_allclose(_onnx_run(model, x, tmp_path), model(x).data, rtol=1e-10, atol=1e-12)


def test_onnx_refuses_what_it_cannot_write(tmp_path):
    pytest.importorskip("onnx")
    path = tmp_path / "m.onnx"
    with pytest.raises(TypeError, match="export_onnx: LSTM is not supported by export_onnx"):
        nn.export_onnx(nn.Sequential(nn.Linear(2, 2), nn.LSTM(2, 2)), path)
    with pytest.raises(TypeError, match="circular"):
        nn.export_onnx(nn.Conv2d(1, 1, 3, padding=1, padding_mode="circular"), path)
    with pytest.raises(TypeError, match="output_size"):
        nn.export_onnx(nn.Sequential(nn.Conv2d(1, 1, 3), nn.AdaptiveAvgPool2d(2)), path)
    assert not path.exists()


@pytest.mark.parametrize("up", [nn.Upsample(scale_factor=2), nn.Upsample(size=(5, 7)),
                                nn.Upsample(scale_factor=1.5, mode="bilinear"),
                                nn.Upsample(size=(4, 9), mode="bilinear", align_corners=True)], ids=repr)
def test_resizing_and_padding_export_to_onnx(up, tmp_path):
    model = nn.Sequential(nn.Conv2d(1, 1, 1, rng=RNG), up, nn.ReflectionPad2d(1), nn.ConstantPad2d((1, 0, 0, 2), 0.5),
                          nn.ReplicationPad2d(1))
    x = RNG.normal(size=(2, 1, 3, 5))
    out = _onnx_run(model, x.astype(np.float32), tmp_path, dtype=np.float32)
    np.testing.assert_allclose(out, model(x).data, rtol=1e-5, atol=1e-6)


def test_an_embedding_model_exports_with_integer_input(tmp_path):
    model = nn.Sequential(nn.Embedding(10, 4, padding_idx=0, rng=RNG), nn.Flatten(), nn.Linear(12, 2, rng=RNG),
                          nn.LogSoftmax(dim=1))
    tokens = RNG.integers(0, 10, size=(5, 3))
    np.testing.assert_allclose(_onnx_run(model, tokens, tmp_path), model(tokens).data, rtol=1e-13, atol=1e-14)
