"""`python -m benchmarks.sequences`: an LSTM and an attention block, ours and PyTorch's against hand-written NumPy.

S1: one LSTM layer over a sequence (batch 32, length 50, input 32, hidden 64), forward and
backward of E = Σ out ⊙ G for a fixed random G, every parameter's and the input's gradient.
S2: one self-attention block (`MultiheadAttention`: batch 32, length 50, embed 64, 4 heads, no
weights returned), forward and backward the same way. S3: S1 with a GRU layer.

The NumPy reference is the hand-written forward and backprop (through time for S1); ours is
`nn.LSTM` / `nn.MultiheadAttention` as a user calls them; PyTorch's the same modules, eager. All
float64, one BLAS thread (threadpoolctl, and torch.set_num_threads(1)), the same data and weights;
gradients are checked to agree before anything is timed. Timing is interleaved: one step of each
in turn, the order rotating every round; the ratio is the median of the per-round ratios to NumPy.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import time
from collections.abc import Callable

import numpy as np

import autodiff as ad
import nn

SIZES = {"S1": dict(T=50, N=32, I=32, H=64), "S2": dict(T=50, N=32, E=64, heads=4), "S3": dict(T=50, N=32, I=32, H=64)}
TINY = {"S1": dict(T=4, N=3, I=2, H=5), "S2": dict(T=4, N=3, E=8, heads=2), "S3": dict(T=4, N=3, I=2, H=5)}


# ---------------------------------------------------------------------- hand-written NumPy
def _sigmoid(a: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-a))


def numpy_lstm(x, G, w_ih, w_hh, b_ih, b_hh) -> Callable[[], dict]:
    """Forward and backprop through time of one LSTM layer, as a student would write it."""
    T, N, _ = x.shape
    H = w_hh.shape[1]

    def step() -> dict:
        pre = x @ w_ih.T + (b_ih + b_hh)
        h, c = np.zeros((N, H)), np.zeros((N, H))
        hs, cs, gates = [h], [c], []
        for t in range(T):
            a = pre[t] + h @ w_hh.T
            i, f, o = _sigmoid(a[:, :H]), _sigmoid(a[:, H:2 * H]), _sigmoid(a[:, 3 * H:])
            g = np.tanh(a[:, 2 * H:3 * H])
            c = f * c + i * g
            h = o * np.tanh(c)
            hs.append(h)
            cs.append(c)
            gates.append((i, f, g, o))
        dpre = np.empty((T, N, 4 * H))
        dh, dc = np.zeros((N, H)), np.zeros((N, H))
        for t in range(T - 1, -1, -1):
            i, f, g, o = gates[t]
            dh = dh + G[t]
            tc = np.tanh(cs[t + 1])
            dc = dc + dh * o * (1 - tc * tc)
            dpre[t, :, :H] = dc * g * i * (1 - i)
            dpre[t, :, H:2 * H] = dc * cs[t] * f * (1 - f)
            dpre[t, :, 2 * H:3 * H] = dc * i * (1 - g * g)
            dpre[t, :, 3 * H:] = dh * tc * o * (1 - o)
            dc = dc * f
            dh = dpre[t] @ w_hh
        flat = dpre.reshape(T * N, 4 * H)
        db = flat.sum(axis=0)
        return {"x": (flat @ w_ih).reshape(x.shape), "weight_ih_l0": flat.T @ x.reshape(T * N, -1),
                "weight_hh_l0": flat.T @ np.stack(hs[:T]).reshape(T * N, H), "bias_ih_l0": db, "bias_hh_l0": db}

    return step


def numpy_gru(x, G, w_ih, w_hh, b_ih, b_hh) -> Callable[[], dict]:
    """Forward and backprop through time of one GRU layer (torch's equations, gates r, z, n)."""
    T, N, _ = x.shape
    H = w_hh.shape[1]

    def step() -> dict:
        xg = x @ w_ih.T + b_ih
        h = np.zeros((N, H))
        hs, saved = [h], []
        for t in range(T):
            hg = h @ w_hh.T + b_hh
            r = _sigmoid(xg[t, :, :H] + hg[:, :H])
            z = _sigmoid(xg[t, :, H:2 * H] + hg[:, H:2 * H])
            n = np.tanh(xg[t, :, 2 * H:] + r * hg[:, 2 * H:])
            h = (1 - z) * n + z * h
            hs.append(h)
            saved.append((r, z, n, hg[:, 2 * H:]))
        dxg, dhg = np.empty((T, N, 3 * H)), np.empty((T, N, 3 * H))
        dh = np.zeros((N, H))
        for t in range(T - 1, -1, -1):
            r, z, n, hgn = saved[t]
            dh = dh + G[t]
            da_n = dh * (1 - z) * (1 - n * n)
            dxg[t, :, :H] = dhg[t, :, :H] = da_n * hgn * r * (1 - r)
            dxg[t, :, H:2 * H] = dhg[t, :, H:2 * H] = dh * (hs[t] - n) * z * (1 - z)
            dxg[t, :, 2 * H:] = da_n
            dhg[t, :, 2 * H:] = da_n * r
            dh = dh * z + dhg[t] @ w_hh
        fx, fh = dxg.reshape(T * N, 3 * H), dhg.reshape(T * N, 3 * H)
        return {"x": (fx @ w_ih).reshape(x.shape), "weight_ih_l0": fx.T @ x.reshape(T * N, -1),
                "weight_hh_l0": fh.T @ np.stack(hs[:T]).reshape(T * N, H), "bias_ih_l0": fx.sum(axis=0),
                "bias_hh_l0": fh.sum(axis=0)}

    return step


def numpy_attention(x, G, w_in, b_in, w_out, b_out, heads) -> Callable[[], dict]:
    """Forward and backward of self-attention with `heads` heads, (L, N, E) layout."""
    L, N, E = x.shape
    d = E // heads
    scale = 1 / np.sqrt(d)

    def split(t):  # (L, N, E) → (N, h, L, d)
        return t.reshape(L, N, heads, d).transpose(1, 2, 0, 3)

    def join(t):  # (N, h, L, d) → (L, N, E)
        return t.transpose(2, 0, 1, 3).reshape(L, N, E)

    def step() -> dict:
        qkv = x @ w_in.T + b_in
        q, k, v = split(qkv[..., :E]), split(qkv[..., E:2 * E]), split(qkv[..., 2 * E:])
        s = q @ k.transpose(0, 1, 3, 2) * scale
        p = np.exp(s - s.max(axis=-1, keepdims=True))
        p /= p.sum(axis=-1, keepdims=True)
        o = join(p @ v)
        # E = Σ G ⊙ (o W_outᵀ + b_out)
        do = G @ w_out
        dp_o = split(do)
        dp = dp_o @ v.transpose(0, 1, 3, 2)
        dv = p.transpose(0, 1, 3, 2) @ dp_o
        ds = p * (dp - (dp * p).sum(axis=-1, keepdims=True)) * scale
        dq, dk = ds @ k, ds.transpose(0, 1, 3, 2) @ q
        dqkv = np.concatenate([join(dq), join(dk), join(dv)], axis=-1)
        flat = dqkv.reshape(L * N, 3 * E)
        return {"x": dqkv @ w_in, "in_proj_weight": flat.T @ x.reshape(L * N, E), "in_proj_bias": flat.sum(axis=0),
                "out_proj.weight": G.reshape(L * N, E).T @ o.reshape(L * N, E), "out_proj.bias": G.sum(axis=(0, 1))}

    return step


# ---------------------------------------------------------------------- ours and torch's
def module_step(module, x, G, call) -> Callable[[], dict]:
    params = dict(module.named_parameters())

    def step() -> dict:
        for p in params.values():
            p.grad = None
        xt = ad.Tensor(x, requires_grad=True)
        (call(module, xt) * G).sum().backward()
        return {"x": xt.grad, **{k: p.grad for k, p in params.items()}}

    return step


def torch_step(module, x, G, call) -> Callable[[], dict]:
    import torch

    Gt = torch.tensor(G)
    params = dict(module.named_parameters())

    def step() -> dict:
        for p in params.values():
            p.grad = None
        xt = torch.tensor(x, requires_grad=True)
        (call(module, xt) * Gt).sum().backward()
        return {"x": xt.grad.numpy(), **{k: p.grad.numpy() for k, p in params.items()}}

    return step


def build(key: str, sizes: dict, with_torch: bool) -> dict[str, Callable[[], dict]]:
    rng = np.random.default_rng(0)
    if key in ("S1", "S3"):
        T, N, n_in, H = sizes["T"], sizes["N"], sizes["I"], sizes["H"]
        kind = "LSTM" if key == "S1" else "GRU"
        ours = getattr(nn, kind)(n_in, H, rng=rng)
        x, G = rng.normal(size=(T, N, n_in)), rng.normal(size=(T, N, H))
        w = ours.state_dict()
        by_hand = numpy_lstm if key == "S1" else numpy_gru
        impls = {"numpy": by_hand(x, G, *(w[k] for k in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"))),
                 "ours": module_step(ours, x, G, lambda m, x: m(x)[0])}
        if with_torch:
            import torch

            theirs = getattr(torch.nn, kind)(n_in, H, dtype=torch.float64)
            theirs.load_state_dict({k: torch.tensor(v) for k, v in w.items()})
            impls["torch"] = torch_step(theirs, x, G, lambda m, x: m(x)[0])
        return impls
    T, N, E, heads = sizes["T"], sizes["N"], sizes["E"], sizes["heads"]
    ours = nn.MultiheadAttention(E, heads, rng=rng)
    w = ours.state_dict()
    w["in_proj_bias"] = rng.normal(size=3 * E) * 0.1  # non-zero biases, so their gradients are checked
    w["out_proj.bias"] = rng.normal(size=E) * 0.1
    ours.load_state_dict(w)
    x, G = rng.normal(size=(T, N, E)), rng.normal(size=(T, N, E))

    def self_attention(m, x):
        return m(x, x, x, need_weights=False)[0]

    impls = {"numpy": numpy_attention(x, G, w["in_proj_weight"], w["in_proj_bias"], w["out_proj.weight"],
                                      w["out_proj.bias"], heads),
             "ours": module_step(ours, x, G, self_attention)}
    if with_torch:
        import torch

        theirs = torch.nn.MultiheadAttention(E, heads, dtype=torch.float64)
        theirs.load_state_dict({k: torch.tensor(v) for k, v in w.items()})
        impls["torch"] = torch_step(theirs, x, G, self_attention)
    return impls


def agree(impls: dict[str, Callable[[], dict]]) -> list[str]:
    """The names of the implementations whose gradients differ from NumPy's."""
    ref = impls["numpy"]()
    bad = []
    for name, step in impls.items():
        got = step()
        if any(not np.allclose(got[k], ref[k], rtol=1e-7, atol=1e-10) for k in ref):
            bad.append(name)
    return bad


def interleaved(impls: dict[str, Callable[[], dict]], budget: float, min_rounds: int = 30) -> dict[str, tuple]:
    """{name: (median per-round ratio to numpy, best-to-best ratio)} over rounds in rotating order."""
    names = list(impls)
    for _ in range(3):  # warm-up
        for n in names:
            impls[n]()
    times: dict[str, list[float]] = {n: [] for n in names}
    start, r = time.perf_counter(), 0
    while r < min_rounds or time.perf_counter() - start < budget:
        order = names[r % len(names):] + names[:r % len(names)]
        for n in order:
            t0 = time.perf_counter()
            impls[n]()
            times[n].append(time.perf_counter() - t0)
        r += 1
        if r >= 400:
            break
    ref = times["numpy"]
    return {n: (statistics.median(a / b for a, b in zip(times[n], ref)), min(times[n]) / min(ref), len(ref)) for n in names}


@contextlib.contextmanager
def one_thread():
    with contextlib.ExitStack() as stack:
        try:
            from threadpoolctl import threadpool_limits

            stack.enter_context(threadpool_limits(1))
        except ImportError:  # benchmarks/__init__ has set the environment variables already
            pass
        try:
            import torch

            before = torch.get_num_threads()
            torch.set_num_threads(1)
            stack.callback(torch.set_num_threads, before)
        except ImportError:
            pass
        yield


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.sequences", description=__doc__.split("\n")[0])
    parser.add_argument("--budget", type=float, default=4.0, help="seconds of timing per workload (default 4)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, a few rounds: a smoke run")
    parser.add_argument("--no-torch", action="store_true", help="leave PyTorch out")
    args = parser.parse_args(argv)
    try:
        import torch  # noqa: F401

        with_torch = not args.no_torch
    except ImportError:
        with_torch = False
    sizes = TINY if args.quick else SIZES
    titles = {"S1": "LSTM layer: batch {N}, length {T}, input {I}, hidden {H} (forward + backward)".format(**sizes["S1"]),
              "S2": "self-attention: batch {N}, length {T}, embed {E}, {heads} heads (forward + backward)".format(
                  **sizes["S2"]),
              "S3": "GRU layer: batch {N}, length {T}, input {I}, hidden {H} (forward + backward)".format(**sizes["S3"])}
    failed = False
    with one_thread():
        print("| | workload | ours / NumPy | PyTorch / NumPy | rounds |")
        print("|---|---|---|---|---|")
        for key in ("S1", "S2", "S3"):
            impls = build(key, sizes[key], with_torch)
            bad = agree(impls)
            if bad:
                print(f"| {key} | {titles[key]} | MISMATCH: {', '.join(bad)} | | |")
                failed = True
                continue
            res = interleaved(impls, 0.2 if args.quick else args.budget, 3 if args.quick else 30)

            ours, torch_ = (f"{res[n][0]:.2f}× [{res[n][1]:.2f}×]" if n in res else "—" for n in ("ours", "torch"))
            print(f"| {key} | {titles[key]} | {ours} | {torch_} | {res['numpy'][2]} |")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
