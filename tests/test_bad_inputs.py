"""The bad-input catalogue: every kind of bad input across the public API, one table.

Each case runs against a fresh `World` (tensors with gradients, a model that has been through a
backward pass, its optimizer with momentum, a saved weights file, a folder), and asserts three
things: the error type; a message that names what is wrong (the op or layer, the shapes, the
value) and, where there is a choice, what to do instead; and that nothing in the world changed —
no tensor's data or gradient, no parameter, no optimizer state, no file, no new file.

Also here: saving is atomic (a crash mid-save leaves the previous file and no temporary file),
and loading never unpickles.
"""

from __future__ import annotations

import io
import os
import pickle
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import autodiff as ad
import nn
import nn.io.npz
from autodiff import Tensor
from nn.playground import main as playground
from tests.pickle_payload import Payload


# ---------------------------------------------------------------------------- the world
class World:
    """Everything a bad call could damage, built fresh for each case."""

    def __init__(self, tmp: Path) -> None:
        rng = np.random.default_rng(0)
        self.tmp = tmp
        self.x = Tensor(rng.normal(size=(2, 3)), requires_grad=True, name="x")
        self.x.grad = np.full((2, 3), 0.5)
        self.y = Tensor(rng.normal(size=(3,)), requires_grad=True, name="y")
        self.s = Tensor(1.5, requires_grad=True, name="s")
        self.c = Tensor(rng.normal(size=(3, 4)), name="c")  # a constant
        self.model = nn.MLP([2, 3, 2], rng=np.random.default_rng(1))
        self.opt = nn.SGD(self.model.parameters(), lr=0.1, momentum=0.9)
        nn.functional.cross_entropy(self.model(rng.normal(size=(4, 2))), [0, 1, 1, 0]).backward()
        self.opt.step()  # momentum buffers hold something now
        self.file = tmp / "model.npz"
        self.model.save(self.file)
        self.out = tmp / "out"  # the playground's --out: must not be created by a bad call

    def tensors(self) -> list[Tensor]:
        return [self.x, self.y, self.s, self.c, *self.model.parameters()]

    def snapshot(self) -> dict[str, Any]:
        return {
            "tensors": [
                (t, t.data, t.data.copy(), None if t.grad is None else t.grad.copy(), t.requires_grad, t._ctx)
                for t in self.tensors()
            ],
            "modules": [(name, m, dict(vars(m))) for name, m in self.model.named_modules()],
            "optimizer": (dict(vars(self.opt)), [v.copy() for v in self.opt._velocity]),
            "files": {p.relative_to(self.tmp): p.read_bytes() for p in sorted(self.tmp.rglob("*")) if p.is_file()},
            "dirs": sorted(p.relative_to(self.tmp) for p in self.tmp.rglob("*") if p.is_dir()),
            "grad_enabled": ad.is_grad_enabled(),
        }

    def assert_unchanged(self, before: dict[str, Any]) -> None:
        after = self.snapshot()
        for (t, data, values, grad, rg, ctx), (t2, data2, values2, grad2, rg2, ctx2) in zip(before["tensors"], after["tensors"]):
            assert t is t2 and data2 is data, f"{t!r}: its array was replaced"
            np.testing.assert_array_equal(values2, values, err_msg=f"{t!r}: data changed")
            assert (grad is None) == (grad2 is None), f"{t!r}: grad appeared or vanished"
            if grad is not None:
                np.testing.assert_array_equal(grad2, grad, err_msg=f"{t!r}: grad changed")
            assert rg2 == rg and ctx2 is ctx
        for (name, m, attrs), (name2, m2, attrs2) in zip(before["modules"], after["modules"]):
            assert name == name2 and m is m2 and attrs.keys() == attrs2.keys()
            assert all(attrs[k] is attrs2[k] or attrs[k] == attrs2[k] for k in attrs), f"module {name!r} changed"
        hyper, velocity = before["optimizer"]
        hyper2, velocity2 = after["optimizer"]
        assert hyper.keys() == hyper2.keys() and all(hyper[k] is hyper2[k] or hyper[k] == hyper2[k] for k in hyper)
        for v, v2 in zip(velocity, velocity2):
            np.testing.assert_array_equal(v2, v)
        assert after["files"] == before["files"], "a file was changed, created or removed"
        assert after["dirs"] == before["dirs"], "a folder was created or removed"
        assert after["grad_enabled"] == before["grad_enabled"]


@dataclass
class Case:
    id: str
    call: Callable[[World], Any]
    error: type[BaseException]
    says: str  # a regex the message must contain: what is wrong and, where there is a choice, what to do
    prepare: Callable[[World], Any] | None = None  # builds what the call needs (a bad file) before the snapshot
    marks: tuple = ()


def param(case: Case) -> Any:
    return pytest.param(case, id=case.id, marks=case.marks)


# ---------------------------------------------------------------------------- bad files
def _npy_bytes(array: np.ndarray, allow_pickle: bool = False) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, array, allow_pickle=allow_pickle)
    return buf.getvalue()


def _write_zip(path: Path, members: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)


def _good_members(w: World) -> dict[str, bytes]:
    return {f"{k}.npy": _npy_bytes(v) for k, v in w.model.state_dict().items()}


def _marker(w: World) -> Path:
    return w.tmp.parent / f"{w.tmp.name}-UNPICKLED"


def _pickled_member(w: World) -> None:
    members = _good_members(w)
    hostile = np.array([Payload(str(_marker(w))), 1.0], dtype=object)
    members["0.bias.npy"] = _npy_bytes(hostile, allow_pickle=True)
    _write_zip(w.tmp / "bad.npz", members)


def _pickle_file(w: World) -> None:
    (w.tmp / "bad.npz").write_bytes(pickle.dumps({"0.weight": Payload(str(_marker(w)))}))


def _huge_shape(w: World) -> None:
    """A member whose header declares 8 TB of float64 over 64 bytes of data."""
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": "<f8", "fortran_order": False, "shape": (10**12,)})
    members = _good_members(w)
    members["0.weight.npy"] = buf.getvalue() + b"\0" * 64
    _write_zip(w.tmp / "bad.npz", members)


def _bad_file(write: Callable[[World, Path], Any]) -> Callable[[World], None]:
    return lambda w: write(w, w.tmp / "bad.npz")


def _load_bad(w: World) -> Any:
    try:
        return w.model.load(w.tmp / "bad.npz")
    finally:
        assert not _marker(w).exists(), "loading unpickled the file's payload"


# ---------------------------------------------------------------------------- the table
def _pair(w: World) -> tuple[Tensor, Tensor]:
    return w.x, w.y


def _hook_then_backward(w: World) -> None:
    h = w.y * 3
    h.register_hook(lambda g: np.ones(5))
    (h.sum() + (w.x * 2).sum()).backward()


def _anomaly_backward(w: World) -> None:
    with np.errstate(all="ignore"), ad.detect_anomaly():
        (ad.sqrt(w.y * 0.0).sum() + (w.x * 2).sum()).backward()


F = nn.functional
LOGITS = np.zeros((4, 3))

CASES = [
    # --- Tensor construction: anything that is not real numbers is a TypeError that says what is accepted
    Case("tensor-str", lambda w: Tensor("abc"), TypeError, r"from str: pass a number, a nested list"),
    Case("tensor-none", lambda w: Tensor(None), TypeError, r"from NoneType: pass a number"),
    Case("tensor-dict", lambda w: Tensor({"a": 1}), TypeError, r"from dict: pass a number"),
    Case("tensor-set", lambda w: Tensor({1.0, 2.0}), TypeError, r"from set: pass a number"),
    Case("tensor-ragged", lambda w: Tensor([[1.0], [2.0, 3.0]]), TypeError, r"nested lists must be rectangular"),
    Case("tensor-mixed-list", lambda w: Tensor([1.0, "x"]), TypeError, r"not strings"),
    Case("tensor-complex", lambda w: Tensor(1 + 2j), TypeError, r"from complex: pass a number"),
    Case("tensor-complex-array", lambda w: Tensor(np.array([1 + 1j])), TypeError, r"not complex numbers"),
    Case("tensor-object-array", lambda w: Tensor(np.array([object()])), TypeError, r"not Python objects \(dtype object\)"),
    Case("tensor-string-array", lambda w: Tensor(np.array(["a"])), TypeError, r"not strings"),
    Case("tensor-datetime", lambda w: Tensor(np.array(["2020-01-01"], dtype="datetime64[D]")), TypeError, r"datetime64"),
    Case("tensor-int-dtype", lambda w: Tensor([1.0], dtype=np.int32), TypeError, r"dtype must be a floating-point type such as float32"),
    Case("tensor-nonsense-dtype", lambda w: Tensor([1.0], dtype="banana"), TypeError, r"floating-point type such as float32, got 'banana'"),
    # --- binary ops: mismatched shapes name the op and both shapes
    Case("add-shapes", lambda w: w.x + w.y[:2], ValueError, r"add: shapes \(2, 3\) and \(2,\) cannot be broadcast"),
    Case("sub-shapes", lambda w: w.x - w.x.T, ValueError, r"sub: shapes \(2, 3\) and \(3, 2\)"),
    Case("mul-shapes", lambda w: w.y * np.ones(4), ValueError, r"mul: shapes \(3,\) and \(4,\)"),
    Case("div-shapes", lambda w: np.ones(2) / w.y, ValueError, r"div: shapes \(2,\) and \(3,\)"),
    Case("pow-shapes", lambda w: w.y ** w.x.T, ValueError, r"pow: shapes \(3,\) and \(3, 2\)"),
    Case("maximum-shapes", lambda w: ad.maximum(w.x, w.y[:2]), ValueError, r"maximum: shapes \(2, 3\) and \(2,\)"),
    Case("minimum-shapes", lambda w: ad.minimum(w.y, np.ones(2)), ValueError, r"minimum: shapes \(3,\) and \(2,\)"),
    Case("matmul-shapes", lambda w: w.x @ w.x, ValueError, r"matmul: shapes \(2, 3\) and \(2, 3\) are not aligned"),
    Case("matmul-batch", lambda w: ad.matmul(np.ones((2, 3, 4)), Tensor(np.ones((5, 4, 2)), requires_grad=True)), ValueError,
         r"matmul: shapes \(2, 3, 4\) and \(5, 4, 2\) are not aligned"),
    Case("matmul-0d", lambda w: w.x @ w.s, ValueError, r"matmul: shapes \(2, 3\) and \(\) are not aligned"),
    Case("where-shapes", lambda w: ad.where(np.ones(5, bool), w.x, w.y), ValueError, r"where: shapes"),
    Case("where-cond-type", lambda w: ad.where(np.array(["a"]), w.x, w.y), TypeError, r"where: cond must be boolean or numeric"),
    Case("operand-str", lambda w: w.x + "x", TypeError, r"from str"),
    Case("operand-none", lambda w: w.x * None, TypeError, r"from NoneType"),
    # --- shape ops and axes
    Case("concatenate-shapes", lambda w: ad.concatenate([w.x, w.c], axis=0), ValueError,
         r"concatenate: shapes \(2, 3\), \(3, 4\) must match except along axis 0"),
    Case("concatenate-axis", lambda w: ad.concatenate([w.x, w.x], axis=2), ValueError, r"concatenate: axis 2 is out of range"),
    Case("concatenate-empty", lambda w: ad.concatenate([]), ValueError, r"concatenate: needs at least one tensor"),
    Case("concatenate-not-list", lambda w: ad.concatenate(w.x), TypeError, r"expected a list or tuple of tensors"),
    Case("concatenate-0d", lambda w: ad.concatenate([w.s, w.s]), ValueError, r"0-d tensors cannot be joined; use stack"),
    Case("stack-shapes", lambda w: ad.stack([w.y, w.y[:2]]), ValueError, r"stack: shapes \(3,\), \(2,\) must all be equal"),
    Case("stack-axis", lambda w: ad.stack([w.y, w.y], axis=3), ValueError, r"stack: axis 3 is out of range for a tensor with 2"),
    Case("reshape-size", lambda w: w.x.reshape(4), ValueError, r"reshape: cannot reshape a tensor of shape \(2, 3\) into \(4,\)"),
    Case("reshape-float", lambda w: w.x.reshape(2.5, 2), TypeError, r"reshape: sizes must be ints"),
    Case("transpose-repeat", lambda w: w.x.transpose(0, 0), ValueError, r"transpose: axes \(0, 0\) are not a permutation of the 2 axes"),
    Case("transpose-count", lambda w: w.x.transpose(0), ValueError, r"transpose: axes \(0,\) are not a permutation"),
    Case("broadcast_to", lambda w: ad.broadcast_to(w.x, (3, 3)), ValueError, r"broadcast_to: cannot broadcast shape \(2, 3\) to \(3, 3\)"),
    Case("getitem-range", lambda w: w.y[5], IndexError, r"index 5 is out of bounds"),
    Case("getitem-too-many", lambda w: w.x[0, 0, 0], IndexError, r"too many indices"),
    Case("getitem-float", lambda w: w.y[np.array([0.5])], IndexError, r"index arrays must hold integers or bools"),
    Case("getitem-float-tensor", lambda w: w.y[Tensor([1.0, 0.0, 1.0])], TypeError,
         r"getitem: this index Tensor holds floats.*made from bools.*pass a numpy bool or integer array"),
    Case("sum-axis", lambda w: w.x.sum(axis=2), ValueError, r"sum: axis 2 is out of range for a tensor with 2 dimensions"),
    Case("mean-axis-repeat", lambda w: w.x.mean(axis=(0, 0)), ValueError, r"mean: axis \(0, 0\) repeats an axis"),
    Case("max-axis-type", lambda w: w.x.max(axis="0"), TypeError, r"max: axis must be None, an int or a tuple of ints"),
    Case("min-axis-tuple", lambda w: w.x.min(axis=(0, -3)), ValueError, r"min: axis \(0, -3\) is out of range"),
    Case("max-empty", lambda w: Tensor(np.ones((0, 3)), requires_grad=True).max(axis=0), ValueError,
         r"max: cannot reduce an empty axis"),
    Case("logsumexp-axis", lambda w: w.y.logsumexp(axis=1), ValueError, r"logsumexp: axis 1 is out of range"),
    Case("softmax-axis", lambda w: w.x.softmax(axis=3), ValueError, r"softmax: axis 3 is out of range"),
    Case("log_softmax-axis-type", lambda w: w.x.log_softmax(axis=0.5), TypeError, r"log_softmax: axis must be an int"),
    Case("clip-none", lambda w: w.x.clip(), ValueError, r"clip: give lo, hi or both"),
    Case("clip-str", lambda w: w.x.clip("a", 1), TypeError, r"clip: lo must be a number or None, got str 'a'"),
    Case("clip-array", lambda w: ad.clip(w.x, None, np.ones(3)), TypeError, r"clip: hi must be a number or None, got ndarray"),
    Case("clip-nan", lambda w: w.x.clip(float("nan"), 1.0), ValueError, r"clip: lo must not be NaN"),
    Case("cumsum-axis", lambda w: w.x.cumsum(axis=2), ValueError, r"cumsum: axis 2 is out of range for a tensor with 2 dimensions"),
    Case("var-ddof-type", lambda w: w.x.var(ddof="1"), TypeError, r"var: ddof must be a number, got '1'"),
    Case("round-decimals", lambda w: w.x.round(0.5), TypeError, r"round: decimals must be an int, got 0.5"),
    Case("no_grad-argument", lambda w: ad.no_grad(3), TypeError, r"no_grad\(\) takes no arguments, or a function to decorate"),
    Case("item-many", lambda w: w.x.item(), ValueError, r"item: only a one-element tensor has an item, this one has shape \(2, 3\)"),
    Case("len-0d", lambda w: len(w.s), TypeError, r"len\(\) of a 0-d tensor"),
    # --- differentiation misuse
    Case("backward-nonscalar", lambda w: (w.x * 2).backward(), ValueError,
         r"pass a gradient of shape \(2, 3\).*reduce it with \.sum\(\) or \.mean\(\)"),
    Case("backward-grad-shape", lambda w: (w.x * 2).backward(np.ones(3)), ValueError,
         r"grad has shape \(3,\) but the tensor has shape \(2, 3\)"),
    Case("backward-constant", lambda w: (w.c * 2).sum().backward(), RuntimeError,
         r"create the inputs you want gradients for with requires_grad=True"),
    Case("grad-input-constant", lambda w: ad.grad(w.x.sum(), w.c), RuntimeError,
         r"input does not require grad; create it with requires_grad=True"),
    Case("grad-output-constant", lambda w: ad.grad(w.c.sum(), w.x), RuntimeError, r"output does not require grad"),
    Case("grad-not-tensor", lambda w: ad.grad(w.x.sum(), [np.ones(1)]), TypeError, r"grad: inputs must be Tensors, got ndarray"),
    Case("grad-outputs-count", lambda w: ad.grad(w.x.sum(), w.x, [None, None]), ValueError, r"1 outputs but 2 grad_outputs"),
    Case("hook-not-callable", lambda w: (w.x * 1).register_hook(3), TypeError, r"register_hook: fn must be callable"),
    Case("hook-constant", lambda w: w.c.register_hook(print), RuntimeError, r"no gradient flows into a tensor that does not require grad"),
    Case("functional-argnums", lambda w: ad.functional.grad(lambda a: a.sum(), argnums=2)(w.y), ValueError,
         r"argnums 2 is out of range for 1 positional arguments"),
    Case("functional-nonscalar", lambda w: ad.functional.grad(lambda a: a * 2)(w.y), ValueError,
         r"must return a one-element Tensor, got \(3,\)"),
    Case("hvp-shapes", lambda w: ad.functional.hvp(lambda a: (a * a).sum(), w.y, Tensor([1.0])), ValueError,
         r"hvp: v has shape \(1,\) but x has shape \(3,\)"),
    Case("hook-wrong-shape", _hook_then_backward, ValueError, r"hook returned a gradient of shape \(5,\) for a tensor of shape \(3,\)"),
    Case("anomaly-in-backward", _anomaly_backward, FloatingPointError, r"backward of sqrt produced infinity"),
    # --- layers
    Case("linear-features", lambda w: w.model(np.ones((4, 3))), ValueError,
         r"Linear\(in_features=2, out_features=3, bias=True\): input of shape \(4, 3\) has 3 features .* the layer expects 2"),
    Case("linear-features-inner", lambda w: w.model.layers[2](Tensor(np.ones((4, 2)))), ValueError,
         r"Linear\(in_features=3, out_features=2, bias=True\): input of shape \(4, 2\) has 2 features"),
    Case("linear-0d", lambda w: w.model(1.0), ValueError, r"Linear\(in_features=2.*input of shape \(\)"),
    Case("linear-size", lambda w: nn.Linear(2.5, 3), TypeError, r"Linear: in_features must be a positive int, got float 2.5"),
    Case("linear-size-str", lambda w: nn.Linear("3", 2), TypeError, r"Linear: in_features must be a positive int, got str '3'"),
    Case("linear-out-float", lambda w: nn.Linear(3, 2.5), TypeError, r"Linear: out_features must be a positive int, got float 2.5"),
    Case("linear-size-zero", lambda w: nn.Linear(3, 0), ValueError, r"Linear: out_features must be a positive int, got 0"),
    Case("sequential-not-module", lambda w: nn.Sequential(nn.Tanh(), np.tanh), TypeError,
         r"Sequential: argument 1 is a .*, not an nn.Module"),
    Case("mlp-activation", lambda w: nn.MLP([2, 3, 1], activation="softplus"), ValueError, r"unknown activation 'softplus'; choose one of"),
    # --- losses
    Case("mse-shapes", lambda w: F.mse_loss(w.model(np.ones((4, 2))), np.ones(4)), ValueError,
         r"mse_loss: input has shape \(4, 2\) but target has shape \(4,\).*reshape one of them"),
    Case("mse-target-strings", lambda w: F.mse_loss(w.y, np.array(["a", "b", "c"])), TypeError, r"not strings"),
    Case("ce-class-range", lambda w: F.cross_entropy(w.model(np.ones((4, 2))), [0, 1, 2, 1]), ValueError,
         r"cross_entropy: class index 2 is out of range for 2 classes \(0\.\.1\)"),
    Case("ce-negative-class", lambda w: F.cross_entropy(w.model(np.ones((4, 2))), [0, -1, 1, 1]), ValueError,
         r"class index -1 is out of range"),
    Case("ce-float-target", lambda w: F.cross_entropy(Tensor(LOGITS, requires_grad=True), [0.5, 1, 2, 1]), ValueError,
         r"target must hold integer class indices, got non-integer values"),
    Case("ce-bool-target", lambda w: F.cross_entropy(Tensor(LOGITS, requires_grad=True), [True, False, True, True]), TypeError,
         r"target must hold integer class indices, got dtype bool"),
    Case("ce-target-shape", lambda w: F.cross_entropy(Tensor(LOGITS, requires_grad=True), np.zeros((4, 1), int)), ValueError,
         r"target must be class indices of shape \(4,\) for logits of shape \(4, 3\), got shape \(4, 1\)"),
    # (a (4, 3) target is class probabilities since cross_entropy takes soft labels, as PyTorch's)
    Case("ce-one-hot-target", lambda w: F.cross_entropy(Tensor(LOGITS, requires_grad=True), np.eye(4, 2)), ValueError,
         r"shape \(4,\) for logits of shape \(4, 3\), got shape \(4, 2\)"),
    Case("ce-logits-0d", lambda w: F.cross_entropy(Tensor(1.0, requires_grad=True), 0), ValueError,
         r"logits must have shape \(C,\), \(N, C\) or \(N, C, d1, \.\.\.\) with C ≥ 1, got \(\)"),
    Case("ce-nd-target-shape", lambda w: F.cross_entropy(Tensor(np.zeros((4, 3, 2))), [0, 1, 2, 1]), ValueError,
         r"target must be class indices of shape \(4, 2\) for logits of shape \(4, 3, 2\), got shape \(4,\)"),
    Case("ce-ignore-index-other", lambda w: F.cross_entropy(w.model(np.ones((4, 2))), [0, -100, 1, 1], ignore_index=-1),
         ValueError, r"class index -100 is out of range for 2 classes \(0\.\.1\) and is not ignore_index \(-1\)"),
    Case("ce-weight-shape", lambda w: F.cross_entropy(w.model(np.ones((4, 2))), [0, 1, 1, 0], weight=np.ones(3)), ValueError,
         r"weight must have shape \(2,\), one weight per class, for logits of shape \(4, 2\), got shape \(3,\)"),
    Case("ce-weight-requires-grad", lambda w: F.cross_entropy(w.model(np.ones((4, 2))), [0, 1, 1, 0], weight=w.model.layers[2].bias),
         RuntimeError, r"weight requires grad, but class weights are constants here .*pass weight.detach\(\)"),
    Case("ce-label-smoothing", lambda w: F.cross_entropy(w.model(np.ones((4, 2))), [0, 1, 1, 0], label_smoothing=1.5), ValueError,
         r"cross_entropy: label_smoothing must be a number in \[0, 1\], got 1.5"),
    Case("bce-probabilities", lambda w: F.binary_cross_entropy(w.y, np.ones(3)), ValueError,
         r"must be a probability in \[0, 1\] \(for logits use binary_cross_entropy_with_logits\)"),
    Case("bce-logits-shapes", lambda w: F.binary_cross_entropy_with_logits(w.x, np.ones(3)), ValueError,
         r"input has shape \(2, 3\) but target has shape \(3,\)"),
    Case("loss-reduction", lambda w: nn.CrossEntropyLoss(reduction="avg"), ValueError,
         r"CrossEntropyLoss: reduction must be one of 'mean', 'sum', 'none', got 'avg'"),
    # --- optimizers
    Case("sgd-negative-lr", lambda w: nn.SGD(w.model.parameters(), lr=-0.1), ValueError, r"SGD: lr must be a finite number ≥ 0, got -0.1"),
    Case("sgd-nan-lr", lambda w: nn.SGD(w.model.parameters(), lr=float("nan")), ValueError, r"lr must be a finite number ≥ 0, got nan"),
    Case("sgd-lr-type", lambda w: nn.SGD(w.model.parameters(), lr="fast"), TypeError, r"SGD: lr must be a number, got 'fast'"),
    Case("sgd-momentum", lambda w: nn.SGD(w.model.parameters(), lr=0.1, momentum=-0.5), ValueError,
         r"momentum must be a finite number ≥ 0"),
    Case("sgd-nesterov", lambda w: nn.SGD(w.model.parameters(), lr=0.1, nesterov=True), ValueError, r"nesterov=True needs a momentum > 0"),
    Case("sgd-no-params", lambda w: nn.SGD([], lr=0.1), ValueError, r"SGD: got an empty parameter list"),
    Case("sgd-no-params-module", lambda w: nn.SGD(nn.Tanh().parameters(), lr=0.1), ValueError, r"empty parameter list"),
    Case("sgd-one-tensor", lambda w: nn.SGD(w.x, lr=0.1), TypeError,
         r"params must be an iterable of Parameters, such as model.parameters\(\)"),
    Case("sgd-arrays", lambda w: nn.SGD([np.ones(3)], lr=0.1), TypeError, r"params must be Parameters or Tensors, got a ndarray"),
    Case("sgd-non-leaf", lambda w: nn.SGD([w.x * 2], lr=0.1), ValueError, r"can only optimize leaf tensors"),
    Case("adam-beta", lambda w: nn.Adam(w.model.parameters(), betas=(1.0, 0.999)), ValueError, r"Adam: betas\[0\] must be in \[0, 1.0\)"),
    Case("adam-betas-form", lambda w: nn.Adam(w.model.parameters(), betas=0.9), TypeError, r"betas must be a pair"),
    Case("adam-eps", lambda w: nn.Adam(w.model.parameters(), eps=-1), ValueError, r"eps must be a finite number ≥ 0, got -1"),
    Case("adam-inf-lr", lambda w: nn.Adam(w.model.parameters(), lr=float("inf")), ValueError, r"lr must be a finite number ≥ 0, got inf"),
    # --- state dicts and files
    Case("state-not-mapping", lambda w: w.model.load_state_dict([("0.weight", 1)]), TypeError, r"expected a mapping of name to array"),
    Case("state-partial", lambda w: w.model.load_state_dict({"0.weight": np.zeros((3, 2))}), ValueError,
         r"3 problem\(s\), nothing was loaded:\n  - missing key '0.bias'"),
    Case("load-missing", lambda w: w.model.load(w.tmp / "nope.npz"), FileNotFoundError, r"load: no such file"),
    Case("load-directory", lambda w: w.model.load(w.tmp), ValueError, r"is not a readable .npz archive"),
    Case("load-pickle-payload", _load_bad, ValueError, r"'0.bias' is an object array; only numeric arrays can be loaded",
         prepare=_pickled_member),
    Case("load-pickle-file", _load_bad, ValueError, r"is not a readable .npz archive", prepare=_pickle_file),
    Case("load-huge-declared-shape", _load_bad, ValueError, r"0\.weight", prepare=_huge_shape),
    Case("load-truncated", _load_bad, ValueError, r"not a readable .npz archive",
         prepare=_bad_file(lambda w, p: p.write_bytes(w.file.read_bytes()[:200]))),
    Case("load-garbage-member", _load_bad, ValueError, r"entry '0.weight' cannot be read",
         prepare=_bad_file(lambda w, p: _write_zip(p, {**_good_members(w), "0.weight.npy": b"\x93NUMPY garbage"}))),
    Case("load-wrong-keys", _load_bad, ValueError, r"does not fit this model.*missing key '0.weight'.*unexpected key 'weight'",
         prepare=_bad_file(lambda w, p: _write_zip(p, {"weight.npy": _npy_bytes(np.zeros((3, 2)))}))),
    Case("load-foreign-member", _load_bad, ValueError, r"entry 'README.txt' is not a .npy array",
         prepare=_bad_file(lambda w, p: _write_zip(p, {**_good_members(w), "README.txt": b"hello"}))),
    Case("load-path-traversal-name", _load_bad, ValueError, r"unexpected key '\.\./\.\./evil'",
         prepare=_bad_file(lambda w, p: _write_zip(p, {**_good_members(w), "../../evil.npy": _npy_bytes(np.ones(2))}))),
    Case("load-float32-into-float64", _load_bad, ValueError, r"'0.bias' has dtype float32, the model's parameter has dtype float64",
         prepare=_bad_file(lambda w, p: _write_zip(p, {**_good_members(w), "0.bias.npy": _npy_bytes(np.zeros(3, np.float32))}))),
    Case("load-nan-weights-shape", _load_bad, ValueError, r"'2.weight' has shape \(3,\), the model's parameter has shape \(2, 3\)",
         prepare=_bad_file(lambda w, p: _write_zip(p, {**_good_members(w), "2.weight.npy": _npy_bytes(np.full(3, np.nan))}))),
    Case("save-into-missing-folder", lambda w: w.model.save(w.tmp / "no" / "such" / "m.npz"), FileNotFoundError, r"no/such"),
    Case("save-onto-a-folder", lambda w: w.model.save(w.tmp / "adir"), IsADirectoryError, r"adir",
         prepare=lambda w: (w.tmp / "adir").mkdir()),
    # --- data
    Case("batches-lengths", lambda w: list(nn.batches(np.ones((4, 2)), np.ones(3), 2)), ValueError,
         r"batches: X and t need the same number of samples"),
    Case("batches-size", lambda w: list(nn.batches(np.ones((4, 2)), np.ones(4), 0)), ValueError, r"batch_size must be at least 1, got 0"),
    Case("kfold-k", lambda w: list(nn.kfold(3, 5)), ValueError, r"kfold: k must be between 2 and n = 3, got 5"),
    Case("dataset-name", lambda w: nn.datasets.load("moons", 10, 0.1), ValueError, r"unknown data set 'moons'; choose one of spiral"),
    Case("dataset-n", lambda w: nn.datasets.spiral(-1, 0.1), ValueError, r"spiral: n must be at least 2, got -1"),
    # --- playground flags: one line on stderr, exit status 2, no --out folder
    Case("flag-lr-nan", lambda w: playground(["--lr", "nan", "--out", str(w.out)]), SystemExit, r"--lr: 'nan' is outside \(0, ∞\)"),
    Case("flag-noise-inf", lambda w: playground(["--noise", "inf", "--out", str(w.out)]), SystemExit, r"--noise: 'inf' is outside"),
    Case("flag-weight-decay", lambda w: playground(["--weight-decay", "-1", "--out", str(w.out)]), SystemExit,
         r"--weight-decay: '-1' is outside"),
    Case("flag-batch-size", lambda w: playground(["--batch-size", "0", "--out", str(w.out)]), SystemExit, r"--batch-size: '0' is outside"),
    Case("flag-seed", lambda w: playground(["--seed", "-1", "--out", str(w.out)]), SystemExit, r"--seed: '-1' is outside"),
    Case("flag-hidden-negative", lambda w: playground(["--hidden", "8,-3", "--out", str(w.out)]), SystemExit,
         r"every layer size must be at least 1"),
    Case("flag-hidden-huge", lambda w: playground(["--hidden", "1000000000000", "--out", str(w.out)]), SystemExit,
         r"--hidden: '1000000000000': at most 1024 units per layer"),
    Case("flag-hidden-too-many-weights", lambda w: playground(["--hidden", ",".join(["1024"] * 5), "--out", str(w.out)]),
         SystemExit, r"--hidden: '1024,1024,1024,1024,1024': 4,198,400 weights, at most 4,194,304"),
    Case("flag-test-fraction", lambda w: playground(["--test-fraction", "0", "--out", str(w.out)]), SystemExit,
         r"--test-fraction: '0' is outside"),
    Case("flag-dataset", lambda w: playground(["--dataset", "moons", "--out", str(w.out)]), SystemExit, r"invalid choice: 'moons'"),
]


@pytest.mark.parametrize("case", [param(c) for c in CASES])
def test_bad_input(case, tmp_path, capsys):
    world = World(tmp_path)
    if case.prepare is not None:
        case.prepare(world)
    before = world.snapshot()
    capsys.readouterr()
    with pytest.raises(case.error) as info:
        case.call(world)
    if case.error is SystemExit:
        assert info.value.code == 2
        captured = capsys.readouterr()
        message = captured.err
        assert captured.out == "" and len(message.strip().splitlines()) == 1, message
        assert "(see --help)" in message
    else:
        message = str(info.value)
    assert re.search(case.says, message, re.S), f"message {message!r} does not match {case.says!r}"
    world.assert_unchanged(before)


def test_the_catalogue_is_big_and_names_are_unique():
    assert len(CASES) >= 50
    assert len({c.id for c in CASES}) == len(CASES)



def test_the_playground_out_of_memory_is_one_line_and_writes_nothing(tmp_path, capsys, monkeypatch):
    import nn.playground.run as run

    def exhausted(config):
        raise MemoryError

    monkeypatch.setattr(run, "train", exhausted)
    out = tmp_path / "out"
    assert playground(["--hidden", "8,8", "--epochs", "1", "--out", str(out), "--quiet"]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and len(captured.err.strip().splitlines()) == 1, captured.err
    assert "out of memory for spiral, 2-8-8-2 tanh; try a smaller --hidden or --batch-size; nothing was written" in captured.err
    assert not out.exists()

# ---------------------------------------------------------------------------- atomic saves
def _two_models():
    return nn.MLP([2, 3, 1], rng=np.random.default_rng(0)), nn.MLP([2, 3, 1], rng=np.random.default_rng(1))


@pytest.mark.parametrize("where", ["write_array", "os.replace", "fsync", "interrupt"])
def test_a_crash_mid_save_keeps_the_previous_file_and_leaves_no_temporary(tmp_path, monkeypatch, where):
    old, new = _two_models()
    path = tmp_path / "weights.npz"
    old.save(path)
    previous = path.read_bytes()

    written = []

    def crash(*args, **kwargs):
        if where == "write_array":  # the first arrays go into the archive, then the disk fills up
            if len(written) < 2:
                written.append(args[0])
                return real_write_array(*args, **kwargs)
            raise OSError(28, "No space left on device")
        if where == "interrupt":
            raise KeyboardInterrupt
        raise OSError(5, "Input/output error")

    real_write_array = np.lib.format.write_array  # what np.savez (or a hand-written archive) calls per array
    fmt = np.lib.format
    target = {"write_array": (fmt, "write_array"), "os.replace": (os, "replace"), "fsync": (os, "fsync"),
              "interrupt": (fmt, "write_array")}[where]
    monkeypatch.setattr(*target, crash)
    with pytest.raises(KeyboardInterrupt if where == "interrupt" else OSError):
        new.save(path)
    monkeypatch.undo()
    assert sorted(os.listdir(tmp_path)) == ["weights.npz"]  # no temporary file left behind
    assert path.read_bytes() == previous
    restored = _two_models()[1]
    restored.load(path)
    for p, q in zip(restored.parameters(), old.parameters()):
        np.testing.assert_array_equal(p.data, q.data)


def test_save_writes_a_temporary_file_beside_the_target_and_renames_it(tmp_path, monkeypatch):
    model = _two_models()[0]
    path = tmp_path / "weights.npz"
    renames = []
    real_replace = os.replace

    def spy(src, dst):
        renames.append((Path(src), Path(dst), sorted(os.listdir(tmp_path))))
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    model.save(path)
    [(src, dst, listing)] = renames
    assert dst == path and src.parent == tmp_path and src != path
    assert listing == [src.name]  # the target did not exist until the rename
    assert sorted(os.listdir(tmp_path)) == ["weights.npz"]


# ---------------------------------------------------------------------------- never unpickle
def test_loading_never_unpickles_even_when_numpy_is_asked_to(tmp_path):
    """The hostile file is valid for np.load(allow_pickle=True): only our refusal keeps the payload inert."""
    marker = tmp_path / "UNPICKLED"
    path = tmp_path / "hostile.npz"
    state = nn.MLP([2, 3, 1], rng=np.random.default_rng(0)).state_dict()
    members = {f"{k}.npy": _npy_bytes(v) for k, v in state.items()}
    members["0.bias.npy"] = _npy_bytes(np.array([Payload(str(marker)), 0.0], dtype=object), allow_pickle=True)
    _write_zip(path, members)
    with pytest.raises(ValueError, match="object array"):
        nn.io.npz.load_npz(path)
    assert not marker.exists()
    with np.load(path, allow_pickle=True) as f:  # the control: the payload is live
        f["0.bias"]
    assert marker.read_text() == "unpickled!"


# ---------------------------------------------------------------------------- parameter names numpy would misread
@pytest.mark.parametrize(
    "name",
    [
        "file",  # np.savez(f, **state) would take it as its own argument
        "allow_pickle",  # np.savez(f, **state) would take it as its flag and not save it
        "weight",
    ],
)
def test_any_parameter_name_survives_save_and_load(tmp_path, name):
    class Holder(nn.Module):
        def __init__(self, value):
            setattr(self, name, nn.Parameter(np.full(2, value)))

    Holder(1.0).save(tmp_path / "m.npz")
    restored = Holder(0.0)
    restored.load(tmp_path / "m.npz")
    np.testing.assert_array_equal(getattr(restored, name).data, [1.0, 1.0])
