"""A training checkpoint: model, optimizer (and scheduler) in one `.npz`, written atomically, no pickle.

Layout of the archive: `model/<parameter name>` arrays; `optimizer/state/<i>/<name>` arrays (the
step counts as 0-d int64); `optimizer/param_groups` and `scheduler` as JSON text (a 0-d string
array), and `format`. It is read with `allow_pickle=False`, and everything is checked before
anything changes, so a checkpoint that does not fit leaves model, optimizer and scheduler as they
were. Resuming from it continues bit-identically to never having stopped.

>>> import os, tempfile
>>> import numpy as np
>>> import nn
>>> model = nn.Linear(2, 1, rng=np.random.default_rng(0))
>>> opt = nn.Adam(model.parameters(), lr=0.1)
>>> path = os.path.join(tempfile.mkdtemp(), "run.npz")
>>> nn.save_checkpoint(path, model, opt)
>>> nn.load_checkpoint(path, model, opt)
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

from nn.module import Module
from nn.optimizer import Optimizer
from nn.serialization import check_state, load_npz, save_npz

FORMAT = "autodiff-checkpoint-1"

__all__ = ["load_checkpoint", "save_checkpoint"]


def save_checkpoint(path: str | os.PathLike[str], model: Module, optimizer: Optimizer | None = None,
                    scheduler: Any = None) -> None:
    """Write `model`'s parameters, `optimizer`'s state and `scheduler`'s to `path` in one atomic `.npz`."""
    if not isinstance(model, Module):
        raise TypeError(f"save_checkpoint: model must be an nn.Module, got a {type(model).__name__}")
    if optimizer is not None and not isinstance(optimizer, Optimizer):
        raise TypeError(f"save_checkpoint: optimizer must be an nn optimizer, got a {type(optimizer).__name__}")
    entries: dict[str, np.ndarray] = {"format": np.array(FORMAT)}
    entries.update({f"model/{name}": array for name, array in model.state_dict().items()})
    if optimizer is not None:
        state = optimizer.state_dict()
        for i, entry in state["state"].items():
            for name, value in entry.items():
                entries[f"optimizer/state/{i}/{name}"] = np.asarray(value, dtype=np.int64) if name == "step" else value
        entries["optimizer/param_groups"] = np.array(_json(state["param_groups"], "optimizer"))
    if scheduler is not None:
        entries["scheduler"] = np.array(_json(scheduler.state_dict(), "scheduler"))
    save_npz(entries, path)


def _json(value: Any, what: str) -> str:
    try:
        return json.dumps(value)
    except TypeError as e:
        raise TypeError(f"save_checkpoint: the {what}'s state holds something that is not a number or text ({e}); "
                        "nothing was written") from None


def load_checkpoint(path: str | os.PathLike[str], model: Module, optimizer: Optimizer | None = None,
                    scheduler: Any = None) -> None:
    """Restore what `save_checkpoint` wrote into `model`, `optimizer` and `scheduler`, after checking all of it.

    A missing file raises `FileNotFoundError`; anything that does not fit (another model, an
    optimizer of another kind or with other groups, a file that is no checkpoint) raises
    `ValueError` and changes nothing.
    """
    where = f"load_checkpoint: {os.fspath(path)!r}"
    arrays = load_npz(path)
    if str(arrays.get("format", "")) != FORMAT:
        raise ValueError(f"{where} is not a checkpoint written by save_checkpoint (no format {FORMAT!r})")
    params = model._named_state()  # parameters and buffers
    weights = {k[len("model/"):]: v for k, v in arrays.items() if k.startswith("model/")}
    try:
        check_state(params, weights, strict=True)
    except ValueError as e:
        raise ValueError(f"{where} does not fit this model; {e}") from None
    opt_state = None
    if optimizer is not None:
        if "optimizer/param_groups" not in arrays:
            raise ValueError(f"{where} holds no optimizer state")
        state: dict[int, dict[str, Any]] = {}
        for key, value in arrays.items():
            if key.startswith("optimizer/state/"):
                _, _, i, name = key.split("/", 3)
                state.setdefault(int(i), {})[name] = value
        opt_state = {"state": state, "param_groups": json.loads(str(arrays["optimizer/param_groups"]))}
    sched_state = None
    if scheduler is not None:
        if "scheduler" not in arrays:
            raise ValueError(f"{where} holds no scheduler state")
        sched_state = json.loads(str(arrays["scheduler"]))
        if set(sched_state) != set(scheduler.state_dict()):
            raise ValueError(f"{where} holds the state of another kind of scheduler")
    if opt_state is not None:
        try:
            optimizer.load_state_dict(opt_state)  # checks everything before it changes anything
        except ValueError as e:
            raise ValueError(f"{where} does not fit this optimizer; {e}") from None
    model.load_state_dict(weights)
    if sched_state is not None:
        scheduler.load_state_dict(sched_state)
