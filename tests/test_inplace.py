"""A graph recorded before its leaves were changed in place refuses backward, as PyTorch's version counter does."""

from __future__ import annotations

import numpy as np
import pytest

import autodiff as ad
import nn
from autodiff.tensor import mark_modified

STALE = r"modified by an inplace operation.*compute the forward pass again"


def _model_and_loss(make_opt=lambda ps: nn.SGD(ps, lr=0.1, momentum=0.9)):
    model = nn.Sequential(nn.Linear(2, 3, rng=np.random.default_rng(0)), nn.Tanh(), nn.Linear(3, 1, rng=np.random.default_rng(1)))
    opt = make_opt(model.parameters())
    x, t = np.random.default_rng(2).normal(size=(4, 2)), np.random.default_rng(3).normal(size=(4, 1))
    return model, opt, lambda: nn.functional.mse_loss(model(x), t)


@pytest.mark.parametrize("make_opt", [lambda ps: nn.SGD(ps, lr=0.1, momentum=0.9), lambda ps: nn.Adam(ps, lr=0.1)],
                         ids=["SGD", "Adam"])
def test_backward_again_after_a_step_refuses_and_changes_no_gradient(make_opt):
    model, opt, loss_fn = _model_and_loss(make_opt)
    loss = loss_fn()
    loss.backward()
    opt.step()
    grads = [p.grad.copy() for p in model.parameters()]
    with pytest.raises(RuntimeError, match=STALE):
        loss.backward()  # would mix the old activations with the new weights
    for p, g in zip(model.parameters(), grads):
        np.testing.assert_array_equal(p.grad, g)
    with pytest.raises(RuntimeError, match=STALE):
        ad.grad(loss, list(model.parameters()))


def test_the_ordinary_loop_and_a_fresh_forward_after_a_step_are_fine():
    model, opt, loss_fn = _model_and_loss()
    for _ in range(3):
        opt.zero_grad()
        loss = loss_fn()
        loss.backward()
        loss_fn().backward()  # accumulating two backward passes before the step is fine too
        opt.step()
    loss = loss_fn()
    loss.backward()
    loss.backward()  # backward twice on a graph recorded after the last step: no write in between
    assert all(np.isfinite(p.grad).all() for p in model.parameters())


def test_a_node_recorded_before_a_step_that_does_not_use_the_moved_leaf_is_no_error():
    x = ad.Tensor([1.0, 2.0], requires_grad=True)
    w = nn.Parameter([0.5, -1.0])
    h = x.tanh()  # recorded before the step, from x alone
    w.grad = np.ones(2)
    nn.SGD([w], lr=0.1).step()
    (h * w).sum().backward()  # w is used only by a node recorded after the step
    np.testing.assert_allclose(x.grad, (1 - np.tanh([1.0, 2.0]) ** 2) * w.data)


@pytest.mark.parametrize(
    "write",
    [
        lambda m: m.load_state_dict(m.state_dict()),
        lambda m: nn.init.zeros_(m[0].bias),
        lambda m: mark_modified([m[2].weight]),  # what a user writing into .data calls
    ],
    ids=["load_state_dict", "init", "mark_modified"],
)
def test_other_in_place_writers_mark_what_they_wrote(write):
    model, _, loss_fn = _model_and_loss()
    loss = loss_fn()
    write(model)
    with pytest.raises(RuntimeError, match=STALE):
        loss.backward()
    assert all(p.grad is None for p in model.parameters())
