"""The convolution family against torch 2.13 in float64: conv1d/conv2d (dilation, groups, 'same'/'valid',
padding modes), conv_transpose1d/2d, pad, interpolate, pooling (ceil_mode, count_include_pad, adaptive);
values, input gradients and weight gradients, modules' state dicts both ways, gradcheck, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autodiff as ad
import nn
from autodiff.testing import gradcheck

F = nn.functional
torch = pytest.importorskip("torch")
TF = torch.nn.functional
RNG = np.random.default_rng(25)


def against_torch(ours, theirs, *arrays, atol=1e-12):
    """ours(*Tensors) and theirs(*torch tensors): the same values and the same gradients for random upstream weights."""
    xs = [ad.Tensor(a, requires_grad=True) for a in arrays]
    out = ours(*xs)
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    expected = theirs(*ts)
    assert out.shape == tuple(expected.shape)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-12, atol=atol)
    g = RNG.normal(size=out.shape)
    out.backward(g)
    expected.backward(torch.tensor(g))
    for x, t in zip(xs, ts):
        np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=1e-12, atol=atol)


X4 = RNG.normal(size=(2, 4, 7, 6))
X3 = RNG.normal(size=(2, 4, 9))

FUNCTIONAL = {
    "conv2d-groups-dilation-stride": (
        lambda x, w, b: F.conv2d(x, w, b, stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=2),
        lambda x, w, b: TF.conv2d(x, w, b, stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=2),
        (X4, RNG.normal(size=(6, 2, 3, 2)), RNG.normal(size=6))),
    "conv2d-same-even-kernel": (lambda x, w: F.conv2d(x, w, padding="same", dilation=(2, 1)),
                                lambda x, w: TF.conv2d(x, w, padding="same", dilation=(2, 1)),
                                (X4, RNG.normal(size=(3, 4, 2, 4)))),
    "conv2d-valid-depthwise": (lambda x, w: F.conv2d(x, w, padding="valid", groups=4),
                               lambda x, w: TF.conv2d(x, w, padding="valid", groups=4), (X4, RNG.normal(size=(4, 1, 3, 3)))),
    "conv2d-unbatched": (lambda x, w: F.conv2d(x, w, padding=1), lambda x, w: TF.conv2d(x, w, padding=1),
                         (X4[0], RNG.normal(size=(2, 4, 3, 3)))),
    "conv1d": (lambda x, w, b: F.conv1d(x, w, b, stride=2, padding=1, dilation=2, groups=2),
               lambda x, w, b: TF.conv1d(x, w, b, stride=2, padding=1, dilation=2, groups=2),
               (X3, RNG.normal(size=(6, 2, 3)), RNG.normal(size=6))),
    "conv1d-same": (lambda x, w: F.conv1d(x, w, padding="same"), lambda x, w: TF.conv1d(x, w, padding="same"),
                    (X3, RNG.normal(size=(3, 4, 4)))),
    "conv_transpose2d": (
        lambda x, w, b: F.conv_transpose2d(x, w, b, stride=(2, 3), padding=(1, 0), output_padding=(1, 2), groups=2,
                                           dilation=(1, 2)),
        lambda x, w, b: TF.conv_transpose2d(x, w, b, stride=(2, 3), padding=(1, 0), output_padding=(1, 2), groups=2,
                                            dilation=(1, 2)),
        (X4, RNG.normal(size=(4, 3, 3, 2)), RNG.normal(size=6))),
    "conv_transpose2d-output-padding-from-dilation": (
        lambda x, w: F.conv_transpose2d(x, w, output_padding=1, dilation=2),
        lambda x, w: TF.conv_transpose2d(x, w, output_padding=1, dilation=2), (X4, RNG.normal(size=(4, 2, 2, 2)))),
    "conv_transpose1d": (lambda x, w: F.conv_transpose1d(x, w, stride=2, padding=1, output_padding=1),
                         lambda x, w: TF.conv_transpose1d(x, w, stride=2, padding=1, output_padding=1),
                         (X3, RNG.normal(size=(4, 3, 3)))),
    "pad-constant-crop": (lambda x: F.pad(x, (-1, 2, 0, -3), value=1.5), lambda x: TF.pad(x, (-1, 2, 0, -3), value=1.5),
                          (X4,)),
    "pad-reflect": (lambda x: F.pad(x, (1, 2, 2, 0), mode="reflect"), lambda x: TF.pad(x, (1, 2, 2, 0), mode="reflect"),
                    (X4,)),
    "pad-replicate": (lambda x: F.pad(x, (3, 1), mode="replicate"), lambda x: TF.pad(x, (3, 1), mode="replicate"), (X3,)),
    "pad-circular": (lambda x: F.pad(x, (2, 1, 1, 3), mode="circular"), lambda x: TF.pad(x, (2, 1, 1, 3), mode="circular"),
                     (X4,)),
    "avg-ceil-count-pad": (lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True),
                           lambda x: TF.avg_pool2d(x, 3, 2, 1, ceil_mode=True), (X4,)),
    "avg-ceil-no-count-pad": (lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False),
                              lambda x: TF.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False), (X4,)),
    "avg-divisor": (lambda x: F.avg_pool2d(x, 2, divisor_override=3), lambda x: TF.avg_pool2d(x, 2, divisor_override=3),
                    (X4,)),
    "max-ceil-dilation": (lambda x: F.max_pool2d(x, 2, 2, 1, dilation=2, ceil_mode=True),
                          lambda x: TF.max_pool2d(x, 2, 2, 1, dilation=2, ceil_mode=True), (X4,)),
    "max1d": (lambda x: F.max_pool1d(x, 3, 2, 1, ceil_mode=True), lambda x: TF.max_pool1d(x, 3, 2, 1, ceil_mode=True),
              (X3,)),
    "avg1d": (lambda x: F.avg_pool1d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False),
              lambda x: TF.avg_pool1d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False), (X3,)),
    "adaptive2d": (lambda x: F.adaptive_avg_pool2d(x, (3, 4)), lambda x: TF.adaptive_avg_pool2d(x, (3, 4)), (X4,)),
    "adaptive2d-keep-axis": (lambda x: F.adaptive_avg_pool2d(x, (None, 5)), lambda x: TF.adaptive_avg_pool2d(x, (None, 5)),
                             (X4,)),
    "adaptive1d": (lambda x: F.adaptive_avg_pool1d(x, 4), lambda x: TF.adaptive_avg_pool1d(x, 4), (X3,)),
    "linear": (lambda x: F.interpolate(x, scale_factor=2.5, mode="linear"),
               lambda x: TF.interpolate(x, scale_factor=2.5, mode="linear"), (X3,)),
}
for kw in (dict(scale_factor=2), dict(size=(5, 11)), dict(scale_factor=(1.7, 0.6)), dict(size=(3, 13))):
    key = "-".join(f"{k}={v}" for k, v in kw.items())
    FUNCTIONAL[f"nearest-{key}"] = (lambda x, kw=kw: F.interpolate(x, **kw), lambda x, kw=kw: TF.interpolate(x, **kw), (X4,))
    for corners in (True, False):
        FUNCTIONAL[f"bilinear-{corners}-{key}"] = (
            lambda x, kw=kw, c=corners: F.interpolate(x, mode="bilinear", align_corners=c, **kw),
            lambda x, kw=kw, c=corners: TF.interpolate(x, mode="bilinear", align_corners=c, **kw), (X4,))


@pytest.mark.parametrize("name", FUNCTIONAL)
def test_functional_forms_match_torch(name):
    ours, theirs, arrays = FUNCTIONAL[name]
    against_torch(ours, theirs, *arrays)


MODULES = {
    "conv2d-reflect": (lambda: nn.Conv2d(4, 6, 3, padding=2, padding_mode="reflect", groups=2, rng=RNG),
                       lambda: torch.nn.Conv2d(4, 6, 3, padding=2, padding_mode="reflect", groups=2), X4),
    "conv2d-circular-dilated": (lambda: nn.Conv2d(4, 2, (2, 3), padding=(1, 2), dilation=(2, 1), padding_mode="circular",
                                                  rng=RNG),
                                lambda: torch.nn.Conv2d(4, 2, (2, 3), padding=(1, 2), dilation=(2, 1),
                                                        padding_mode="circular"), X4),
    "conv1d-replicate-same": (lambda: nn.Conv1d(4, 3, 4, padding="same", padding_mode="replicate", bias=False, rng=RNG),
                              lambda: torch.nn.Conv1d(4, 3, 4, padding="same", padding_mode="replicate", bias=False), X3),
    "conv-transpose2d": (lambda: nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2, rng=RNG),
                         lambda: torch.nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2), X4),
    "batchnorm2d": (lambda: nn.BatchNorm2d(4), lambda: torch.nn.BatchNorm2d(4), X4),
    "conv-transpose1d": (lambda: nn.ConvTranspose1d(4, 2, 3, stride=3, dilation=2, rng=RNG),
                         lambda: torch.nn.ConvTranspose1d(4, 2, 3, stride=3, dilation=2), X3),
}


@pytest.mark.parametrize("name", MODULES)
def test_modules_match_torch_with_parameter_gradients_and_state_dicts_both_ways(name):
    make, make_torch, x = MODULES[name]
    ours, theirs = make(), make_torch().double()
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()})  # ours → torch
    y, yt = ours(x), theirs(torch.from_numpy(x))
    np.testing.assert_allclose(y.data, yt.detach().numpy(), rtol=1e-12, atol=1e-12)
    g = RNG.normal(size=y.shape)
    y.backward(g)
    yt.backward(torch.from_numpy(g))
    named = dict(theirs.named_parameters())
    assert sorted(named) == sorted(name for name, _ in ours.named_parameters())
    for pname, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad, named[pname].grad.numpy(), rtol=1e-12, atol=1e-12)
    back = make()
    back.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})  # torch → ours
    np.testing.assert_array_equal(back(x).data, y.data)


def test_initialisation_bounds_are_torchs():
    conv = nn.Conv2d(6, 3, 3, groups=3, rng=RNG)
    assert conv.weight.shape == (3, 2, 3, 3) and np.abs(conv.weight.data).max() <= 1 / np.sqrt(2 * 9)
    deconv = nn.ConvTranspose2d(6, 4, 3, groups=2, rng=RNG)
    assert deconv.weight.shape == (6, 2, 3, 3) and np.abs(deconv.weight.data).max() <= 1 / np.sqrt(2 * 9)


@settings(max_examples=max(5, settings().max_examples // 2), deadline=None)
@given(st.data())
def test_conv2d_matches_torch_on_drawn_geometries(data):
    groups = data.draw(st.sampled_from([1, 2]))
    c_in, c_out = groups * data.draw(st.integers(1, 2)), groups * data.draw(st.integers(1, 2))
    kh, kw = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3))
    dh, dw = data.draw(st.integers(1, 2)), data.draw(st.integers(1, 2))
    sh, sw = data.draw(st.integers(1, 2)), data.draw(st.integers(1, 2))
    ph, pw = data.draw(st.integers(0, 2)), data.draw(st.integers(0, 2))
    h = data.draw(st.integers(max(1, dh * (kh - 1) + 1 - 2 * ph), 6))
    w = data.draw(st.integers(max(1, dw * (kw - 1) + 1 - 2 * pw), 6))
    x, weight = RNG.normal(size=(2, c_in, h, w)), RNG.normal(size=(c_out, c_in // groups, kh, kw))
    kwargs = dict(stride=(sh, sw), padding=(ph, pw), dilation=(dh, dw), groups=groups)
    against_torch(lambda x, w: F.conv2d(x, w, **kwargs), lambda x, w: TF.conv2d(x, w, **kwargs), x, weight)
    op_h, op_w = data.draw(st.integers(0, max(sh, dh) - 1)), data.draw(st.integers(0, max(sw, dw) - 1))
    if (h - 1) * sh - 2 * ph + dh * (kh - 1) + op_h >= 0 and (w - 1) * sw - 2 * pw + dw * (kw - 1) + op_w >= 0:
        tweight = RNG.normal(size=(c_in, c_out // groups, kh, kw))
        tk = dict(kwargs, output_padding=(op_h, op_w))
        against_torch(lambda x, w: F.conv_transpose2d(x, w, **tk), lambda x, w: TF.conv_transpose2d(x, w, **tk), x, tweight)


@pytest.mark.parametrize("fn", [
    lambda x, w: F.conv2d(x, w, stride=2, padding=1, dilation=(1, 2), groups=2),
    lambda x, w: F.conv_transpose2d(x, w.reshape(4, 1, 2, 2), stride=2, output_padding=1, groups=2),
], ids=["conv2d", "conv_transpose2d"])
def test_gradcheck_input_and_weight_and_second_order(fn):
    x = ad.Tensor(RNG.normal(size=(1, 4, 5, 5)), requires_grad=True)
    w = ad.Tensor(RNG.normal(size=(2, 2, 2, 2)), requires_grad=True)
    assert gradcheck(fn, x, w)
    assert ad.testing.gradgradcheck(fn, x, w)


@pytest.mark.parametrize("fn", [
    lambda x: F.pad(x, (1, 2, 2, 1), mode="reflect"),
    lambda x: F.pad(x, (3, 0, 1, 1), mode="circular"),
    lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False),
    lambda x: F.interpolate(x, size=(4, 7), mode="bilinear"),
    lambda x: F.adaptive_avg_pool2d(x, 2),
], ids=["reflect", "circular", "avg-ceil", "bilinear", "adaptive"])
def test_gradcheck_of_the_index_and_window_ops(fn):
    assert gradcheck(fn, ad.Tensor(RNG.normal(size=(1, 2, 3, 4)), requires_grad=True))


def test_float32_stays_float32():
    x = RNG.normal(size=(1, 2, 5, 5)).astype(np.float32)
    model = nn.Sequential(nn.Conv2d(2, 2, 3, padding="same", padding_mode="reflect", dtype=np.float32),
                          nn.MaxPool2d(2, ceil_mode=True), nn.ConvTranspose2d(2, 1, 2, stride=2, dtype=np.float32),
                          nn.Upsample(scale_factor=2, mode="bilinear"), nn.AdaptiveAvgPool2d(3), nn.ZeroPad2d(1))
    assert model(x).dtype == np.float32


def test_modules_repr_and_the_1d_forms():
    assert "padding='same'" in repr(nn.Conv1d(2, 3, 3, padding="same"))
    assert repr(nn.ConvTranspose2d(4, 6, 3, stride=2, groups=2)).startswith("ConvTranspose2d(4, 6, kernel_size=(3, 3)")
    x = RNG.normal(size=(2, 3, 8))
    against_torch(lambda x: nn.MaxPool1d(2)(x), lambda x: torch.nn.MaxPool1d(2)(x), x)
    against_torch(lambda x: nn.ReflectionPad1d((2, 1))(x), lambda x: torch.nn.ReflectionPad1d((2, 1))(x), x)
    against_torch(lambda x: nn.Upsample(size=5)(x), lambda x: torch.nn.Upsample(size=5)(x), x)


BAD = [
    (lambda: nn.Conv2d(4, 6, 3, groups=4), ValueError, "groups"),
    (lambda: nn.Conv2d(2, 2, 3, padding="same", stride=2), ValueError, "stride 1"),
    (lambda: nn.Conv2d(2, 2, 3, padding="full"), ValueError, "'valid' or 'same'"),
    (lambda: nn.Conv2d(2, 2, 3, padding_mode="mirror"), ValueError, "padding_mode"),
    (lambda: nn.ConvTranspose2d(2, 2, 3, stride=2, output_padding=2), ValueError, "output_padding"),
    (lambda: nn.Conv1d(2, 2, 3)(np.zeros((1, 3, 5))), ValueError, r"expected input of shape \(N, 2, L\)"),
    (lambda: F.conv2d(np.zeros((1, 3, 5, 5)), np.zeros((2, 2, 3, 3))), ValueError, "channels"),
    (lambda: F.conv2d(np.zeros((1, 2, 2, 2)), np.zeros((1, 2, 3, 3))), ValueError, "larger than the padded input"),
    (lambda: F.pad(np.zeros((1, 2, 3)), (3, 0), mode="reflect"), ValueError, "smaller than"),
    (lambda: F.pad(np.zeros((1, 2, 3)), (1, 0, 1), mode="constant"), ValueError, "pairs"),
    (lambda: F.pad(np.zeros((3,)), (1, 1), mode="reflect"), ValueError, "batch or channel"),
    (lambda: F.pad(np.zeros((1, 3)), (1, 1), mode="wrap"), ValueError, "mode"),
    (lambda: F.pad(np.zeros((1, 3)), (1, 1), mode="reflect", value=2.0), ValueError, "value"),
    (lambda: F.interpolate(np.zeros((1, 1, 3)), size=4, scale_factor=2), ValueError, "exactly one"),
    (lambda: F.interpolate(np.zeros((1, 1, 3)), size=4, mode="bilinear"), ValueError, r"\(N, C, H, W\)"),
    (lambda: F.interpolate(np.zeros((1, 1, 3, 3)), size=4, mode="bicubic"), ValueError, "mode"),
    (lambda: nn.AvgPool2d(2, padding=2), ValueError, "at most half"),
    (lambda: nn.MaxPool2d(2, return_indices=True), ValueError, "return_indices"),
    (lambda: nn.AdaptiveAvgPool2d(0), ValueError, "positive"),
]


@pytest.mark.parametrize(("make", "error", "words"), BAD)
def test_bad_settings_and_inputs_are_named(make, error, words):
    with pytest.raises(error, match=words):
        make()


def test_a_failed_call_changes_nothing():
    conv = nn.Conv2d(2, 3, 3, padding=1, rng=RNG)
    before = conv.state_dict()
    x = ad.Tensor(RNG.normal(size=(1, 2, 4, 4)), requires_grad=True)
    data = x.data.copy()
    with pytest.raises(ValueError):
        F.conv2d(x, conv.weight, conv.bias, groups=2)
    assert all(np.array_equal(v, conv.state_dict()[k]) for k, v in before.items())
    assert np.array_equal(x.data, data) and x.grad is None and conv.weight.grad is None


def test_a_small_autoencoder_trains():
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Conv1d(1, 4, 3, stride=2, padding=1, rng=rng), nn.Tanh(),
                          nn.ConvTranspose1d(4, 1, 3, stride=2, padding=1, output_padding=1, rng=rng))
    x = np.sin(np.linspace(0, 6, 16))[None, None] * rng.uniform(0.5, 1.5, (8, 1, 1))
    opt = nn.Adam(model.parameters(), lr=0.03)
    losses = []
    for _ in range(60):
        opt.zero_grad()
        loss = F.mse_loss(model(x), x)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.2 * losses[0]


def test_a_compiled_convolutional_model_replays_the_eager_values_and_gradients():
    model = nn.Sequential(nn.Conv2d(2, 4, 3, padding="same", padding_mode="reflect", groups=2, rng=RNG), nn.ELU(),
                          nn.MaxPool2d(2, ceil_mode=True), nn.ConvTranspose2d(4, 2, 3, stride=2, output_padding=1, rng=RNG),
                          nn.Upsample(scale_factor=2, mode="bilinear"), nn.AvgPool2d(3, 2, 1, ceil_mode=True,
                                                                                    count_include_pad=False),
                          nn.AdaptiveAvgPool2d(2), nn.CircularPad2d(1), nn.Flatten(), nn.Linear(32, 3, rng=RNG))
    compiled = ad.compile(model)
    for _ in range(3):
        x = ad.Tensor(RNG.normal(size=(2, 2, 8, 8)), requires_grad=True)
        y = compiled(x)
        g = RNG.normal(size=y.shape)
        y.backward(g)
        got = (y.data, x.grad.copy(), model[0].weight.grad.copy())
        x.grad = None
        model.zero_grad()
        eager = model(x)
        eager.backward(g)
        for a, b in zip(got, (eager.data, x.grad, model[0].weight.grad)):
            np.testing.assert_array_equal(a, b)
        model.zero_grad()
    assert compiled.traces == 1


@settings(max_examples=max(5, settings().max_examples // 2), deadline=None)
@given(st.data())
def test_pooling_matches_torch_on_drawn_geometries(data):
    k = (data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3)))
    s = (data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3)))
    p = (data.draw(st.integers(0, k[0] // 2)), data.draw(st.integers(0, k[1] // 2)))
    h, w = data.draw(st.integers(max(1, k[0] - 2 * p[0]), 7)), data.draw(st.integers(max(1, k[1] - 2 * p[1]), 7))
    ceil, count = data.draw(st.booleans()), data.draw(st.booleans())
    x = RNG.normal(size=(1, 2, h, w))
    against_torch(lambda x: F.avg_pool2d(x, k, s, p, ceil_mode=ceil, count_include_pad=count),
                  lambda x: TF.avg_pool2d(x, k, s, p, ceil_mode=ceil, count_include_pad=count), x)
    against_torch(lambda x: F.max_pool2d(x, k, s, p, ceil_mode=ceil), lambda x: TF.max_pool2d(x, k, s, p, ceil_mode=ceil), x)
    out = (data.draw(st.integers(1, h + 2)), data.draw(st.integers(1, w + 2)))
    against_torch(lambda x: F.adaptive_avg_pool2d(x, out), lambda x: TF.adaptive_avg_pool2d(x, out), x)


@settings(max_examples=max(5, settings().max_examples // 2), deadline=None)
@given(st.integers(1, 6), st.integers(1, 6), st.one_of(st.tuples(st.integers(1, 13), st.integers(1, 13)),
                                                        st.floats(0.3, 3.5).map(lambda f: round(f, 2))),
       st.booleans())
def test_interpolate_matches_torch_on_drawn_sizes(h, w, target, corners):
    x = RNG.normal(size=(1, 1, h, w))
    kw = {"size": target} if isinstance(target, tuple) else {"scale_factor": target}
    if "scale_factor" in kw and min(int(h * target), int(w * target)) < 1:
        return
    against_torch(lambda x: F.interpolate(x, **kw), lambda x: TF.interpolate(x, **kw), x)
    against_torch(lambda x: F.interpolate(x, mode="bilinear", align_corners=corners, **kw),
                  lambda x: TF.interpolate(x, mode="bilinear", align_corners=corners, **kw), x)
