"""Train the lecture's network y(x) = Σ_j w2_j tanh(w1_j x + b1_j) + b2 on a noisy sine, by hand."""

import numpy as np

import autodiff as ad

rng = np.random.default_rng(0)
x = rng.uniform(-3, 3, size=(64, 1))
t = np.sin(x) + 0.1 * rng.normal(size=x.shape)

M = 20  # hidden tanh units
w1 = ad.Tensor(rng.normal(size=(1, M)), requires_grad=True, name="w1")
b1 = ad.Tensor(np.zeros(M), requires_grad=True, name="b1")
w2 = ad.Tensor(rng.normal(size=(M, 1)) / np.sqrt(M), requires_grad=True, name="w2")
b2 = ad.Tensor(np.zeros(1), requires_grad=True, name="b2")
params = [w1, b1, w2, b2]

eta = 0.05
for step in range(2001):
    y = (x @ w1 + b1).tanh() @ w2 + b2
    E = 0.5 * ((y - t) ** 2).mean()  # the lecture's squared error, per point
    for p in params:
        p.grad = None
    E.backward()
    for p in params:
        p.data -= eta * p.grad  # gradient descent: Δw = −η ∂E/∂w
    if step % 250 == 0:
        print(f"step {step:5d}   E = {E.item():.5f}")
