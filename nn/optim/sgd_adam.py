"""Optimizers with torch.optim's exact update rules: SGD (momentum, dampening, Nesterov, weight decay), Adam (amsgrad) and AdamW.

RMSprop and Adagrad live in `nn.optim.adaptive`; the base class (groups, blocks, state dicts) in `nn.optim.optimizer`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, ClassVar

import numpy as np

from autodiff import aligned
from nn.optim.optimizer import Optimizer, betas_pair, fit

_fit = fit  # the old name, kept for code that imported it

__all__ = ["SGD", "Adam", "AdamW", "Optimizer"]


class SGD(Optimizer):
    """Gradient descent Δw = −η d with d = g + λw; with momentum v ← μv + (1−τ) d and Δw = −η v (Nesterov: −η (d + μv)).

    Exactly `torch.optim.SGD`: the first step sets v = d (no dampening τ on it). Weight decay λ is
    the gradient of the lecture's regulariser (λ/2)‖w‖².
    """

    _state: ClassVar[dict[str, str]] = {"momentum_buffer": "_velocity"}

    def __init__(
        self,
        params: Iterable[Any],
        lr: float,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ) -> None:
        defaults = {"lr": lr, "momentum": momentum, "dampening": dampening, "weight_decay": weight_decay, "nesterov": nesterov}
        self._check(dict(defaults))  # bad defaults fail before the parameters are looked at
        self._fresh: set[int] = set()
        super().__init__(params, defaults)

    _rates = ("lr", "momentum", "dampening", "weight_decay")
    _flags = ("nesterov",)

    def _check(self, group: dict[str, Any]) -> dict[str, Any]:
        group = super()._check(group)
        if group["nesterov"] and (group["momentum"] == 0 or group["dampening"] != 0):
            raise ValueError("SGD: nesterov=True needs a momentum > 0 and zero dampening")
        return group

    def _step_one(self, i: int, p: Any) -> None:
        v = None
        if self._group_of[i]["momentum"]:
            v = self._velocity[i]
            if v is None:
                # zeros: μ·0 + d is torch's first v = d; with dampening `_fresh` skips the (1 − τ)
                v = self._velocity[i] = aligned.zeros_like(p.data)
                self._fresh.add(i)
        self._apply(i, self._update, p.data, p.grad, v)

    def _stepped(self) -> None:
        if self._fresh:
            self._fresh.clear()

    def _update(self, i: int, w: np.ndarray, g: np.ndarray, v: np.ndarray | None, s: np.ndarray) -> None:
        """One block of parameter i: w −= η d with d = g + λw, or v ← μv + (1−τ)d (Nesterov: d + μv)."""
        h = self._group_of[i]
        d = g
        wd = h["weight_decay"]
        if wd:  # g + λw
            np.multiply(w, wd, out=s)
            s += g
            d = s
        if v is not None:
            mu = h["momentum"]
            v *= mu
            damp = h["dampening"]
            if damp and i not in self._fresh:
                t = self._second(i, s)
                np.multiply(d, 1 - damp, out=t)
                v += t
            else:
                v += d
            if h["nesterov"]:
                t = s if d is not s else self._second(i, s)
                np.multiply(v, mu, out=t)
                t += d
                d = t
            else:
                d = v
        np.multiply(d, h["lr"], out=s)
        w -= s

    def _update_source(self, i: int, name: Any) -> Any:
        """`_update` above, line for line, as code for a compiled step (see Optimizer._update_source)."""
        h, w = self._group_of[i], self.params[i].data
        mom, wd, damp, nesterov = (bool(h[k]) for k in ("momentum", "weight_decay", "dampening", "nesterov"))
        v = self._velocity[i] if mom else None
        # A state of another dtype than the parameter's (cast after some steps) is kept, as eagerly:
        # the same ufuncs on the same arrays.
        if mom and (v is None or v.shape != w.shape):
            return None
        H, u = name(h, "group"), f"u{i}_"
        conds = [f"{name(self._group_of, 'groups')}[{i}] is {H}",
                 *(f"bool({H}[{k!r}]) is {flag}" for k, flag in
                   (("momentum", mom), ("weight_decay", wd), ("dampening", damp), ("nesterov", nesterov)))]
        head, body, state = [f"{u}lr = {H}['lr']"], [], {}
        d = f"{u}g"
        if wd:  # g + λw
            head.append(f"{u}wd = {H}['weight_decay']")
            body += [f"np.multiply({u}w, {u}wd, out={u}s)", f"np.add({u}s, {u}g, out={u}s)"]
            d = f"{u}s"
        if mom:
            state["v"] = v
            conds.append(f"{name(self._velocity, 'velocity')}[{i}] is {name(v, 'v')}")
            head.append(f"{u}mu = {H}['momentum']")
            body.append(f"np.multiply({u}v, {u}mu, out={u}v)")
            if damp:  # the first step (no dampening) made the velocity eagerly
                head.append(f"{u}keep = 1 - {H}['dampening']")
                body += [f"np.multiply({d}, {u}keep, out={u}t)", f"np.add({u}v, {u}t, out={u}v)"]
            else:
                body.append(f"np.add({u}v, {d}, out={u}v)")
            if nesterov:
                t = f"{u}s" if d != f"{u}s" else f"{u}t"
                body += [f"np.multiply({u}v, {u}mu, out={t})", f"np.add({t}, {d}, out={t})"]
                d = t
            else:
                d = f"{u}v"
        body += [f"np.multiply({d}, {u}lr, out={u}s)", f"np.subtract({u}w, {u}s, out={u}w)"]
        return conds, head, body, state


class Adam(Optimizer):
    """Adam: m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g², Δw = −η m̂ / (√v̂ + ε) with bias-corrected m̂, v̂.

    Exactly `torch.optim.Adam`: weight decay adds λw to the gradient (L2, not AdamW); `amsgrad`
    divides by √(max of every v so far) instead of √v.
    """

    _state: ClassVar[dict[str, str]] = {"step": "_steps", "exp_avg": "_m", "exp_avg_sq": "_v", "max_exp_avg_sq": "_vmax"}
    #: AdamW: decay the weights themselves, w ← w (1 − ηλ), instead of adding λw to the gradient.
    _decoupled = False

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
    ) -> None:
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay, "amsgrad": amsgrad}
        self._check(dict(defaults))
        super().__init__(params, defaults)

    _rates = ("lr", "eps", "weight_decay")
    _flags = ("amsgrad",)

    def _check(self, group: dict[str, Any]) -> dict[str, Any]:
        group = super()._check(group)
        group["betas"] = betas_pair(group["betas"], type(self).__name__)
        return group

    def _step_one(self, i: int, p: Any) -> None:
        """Each parameter keeps its own step count for the bias correction."""
        m, v = self._m[i], self._v[i]
        if m is None or m.shape != p.data.shape:
            m, v, self._steps[i] = self._zeros("_m", i), self._zeros("_v", i), 0
        self._steps[i] += 1
        vmax = None
        if self._group_of[i]["amsgrad"]:
            vmax = self._zeros("_vmax", i) if self._vmax[i] is None else self._vmax[i]
        self._apply(i, self._update, p.data, p.grad, m, v, vmax)

    def _update(self, i: int, w: np.ndarray, g: np.ndarray, m: np.ndarray, v: np.ndarray, vmax: np.ndarray | None,
                s: np.ndarray) -> None:
        """One block of parameter i at its step k: the moments, then w −= η/(1−β₁ᵏ) · m / (√v/√(1−β₂ᵏ) + ε)."""
        h = self._group_of[i]
        lr, (b1, b2), eps, wd, k = h["lr"], h["betas"], h["eps"], h["weight_decay"], self._steps[i]
        if wd:
            if self._decoupled:  # w ← w (1 − ηλ), before the step
                w *= 1 - lr * wd
            else:  # g + λw
                d = self._second(i, s)
                np.multiply(w, wd, out=d)
                d += g
                g = d
        m *= b1
        np.multiply(g, 1 - b1, out=s)
        m += s
        v *= b2
        np.multiply(g, g, out=s)
        s *= 1 - b2
        v += s
        if vmax is not None:
            np.maximum(vmax, v, out=vmax)
            v = vmax
        np.sqrt(v, out=s)
        s /= math.sqrt(1 - b2**k)
        s += eps
        np.divide(m, s, out=s)
        s *= lr / (1 - b1**k)
        w -= s

    def _update_source(self, i: int, name: Any) -> Any:
        """`_step_one` and `_update` above, line for line, as code for a compiled step (see Optimizer)."""
        h, w = self._group_of[i], self.params[i].data
        m, v, ams, wd = self._m[i], self._v[i], bool(h["amsgrad"]), bool(h["weight_decay"])
        vmax = self._vmax[i] if ams else None
        if m is None or m.shape != w.shape or (ams and vmax is None):
            return None
        H, u, steps = name(h, "group"), f"u{i}_", name(self._steps, "steps")
        conds = [f"{name(self._group_of, 'groups')}[{i}] is {H}", f"bool({H}['amsgrad']) is {ams}",
                 f"bool({H}['weight_decay']) is {wd}", f"{name(self._m, 'ms')}[{i}] is {name(m, 'm')}",
                 f"{name(self._v, 'vs')}[{i}] is {name(v, 'v')}"]
        state = {"m": m, "v": v}
        # The step's scalars, as `_update` computes them on each block: the same floats, once.
        head = [f"{steps}[{i}] += 1", f"{u}k = {steps}[{i}]",
                f"{u}lr, ({u}b1, {u}b2), {u}eps, {u}wd = {H}['lr'], {H}['betas'], {H}['eps'], {H}['weight_decay']",
                f"{u}c1, {u}c2 = 1 - {u}b1, 1 - {u}b2",
                f"{u}root = _sqrt(1 - {u}b2**{u}k)", f"{u}rate = {u}lr / (1 - {u}b1**{u}k)"]
        body, g = [], f"{u}g"
        if wd and self._decoupled:
            head.append(f"{u}decay = 1 - {u}lr * {u}wd")
            body.append(f"np.multiply({u}w, {u}decay, out={u}w)")
        elif wd:
            body += [f"np.multiply({u}w, {u}wd, out={u}t)", f"np.add({u}t, {u}g, out={u}t)"]
            g = f"{u}t"
        body += [f"np.multiply({u}m, {u}b1, out={u}m)", f"np.multiply({g}, {u}c1, out={u}s)", f"np.add({u}m, {u}s, out={u}m)",
                 f"np.multiply({u}v, {u}b2, out={u}v)", f"np.multiply({g}, {g}, out={u}s)",
                 f"np.multiply({u}s, {u}c2, out={u}s)", f"np.add({u}v, {u}s, out={u}v)"]
        vv = f"{u}v"
        if ams:
            state["vmax"] = vmax
            conds.append(f"{name(self._vmax, 'vmaxes')}[{i}] is {name(vmax, 'vmax')}")
            body.append(f"np.maximum({u}vmax, {u}v, out={u}vmax)")
            vv = f"{u}vmax"
        body += [f"np.sqrt({vv}, out={u}s)", f"np.divide({u}s, {u}root, out={u}s)", f"np.add({u}s, {u}eps, out={u}s)",
                 f"np.divide({u}m, {u}s, out={u}s)", f"np.multiply({u}s, {u}rate, out={u}s)",
                 f"np.subtract({u}w, {u}s, out={u}w)"]
        return conds, head, body, state


class AdamW(Adam):
    """AdamW: Adam with decoupled weight decay, w ← w (1 − ηλ) and then Adam's step on g alone.

    Exactly `torch.optim.AdamW`, whose default λ is 0.01.
    """

    _decoupled = True

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
    ) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad)
