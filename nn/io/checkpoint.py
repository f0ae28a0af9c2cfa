"""A training checkpoint: model, optimizer (and scheduler) in one `.npz`, written atomically, no pickle.

Layout of the archive: `model/<parameter name>` arrays; `optimizer/state/<i>/<name>` arrays (the
step counts as 0-d int64); `optimizer/param_groups` and `scheduler` as JSON text (a 0-d string
array), and `format`. It is read by `nn.io.npz` (never unpickled, hostile files refused), and
everything is checked before anything changes, so a checkpoint that does not fit leaves model,
optimizer and scheduler as they were. Resuming from it continues bit-identically to never having
stopped.

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
from collections.abc import Mapping
from typing import Any

import numpy as np

from nn.io.npz import Archive, open_npz
from nn.io.state_dict import check_state, save_npz
from nn.modules.module import Module
from nn.optim.optimizer import Optimizer

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
    optimizer of another kind or with other groups, a file that is no checkpoint or that
    `nn.io.npz` refuses) raises `ValueError` and changes nothing. Every array entry's shape and dtype
    are checked from its header before any array is read; only the small JSON texts are read first.
    """
    where = f"load_checkpoint: {os.fspath(path)!r}"
    with open_npz(path, "load_checkpoint") as archive:
        headers = archive.headers
        if "format" not in headers or _text(archive, "format", where) != FORMAT:
            raise ValueError(f"{where} is not a checkpoint written by save_checkpoint (no format {FORMAT!r})")
        foreign = [key for key in headers if key not in _TEXTS and not key.startswith(("model/", "optimizer/state/"))]
        if foreign:
            raise ValueError(f"{where} holds entries a checkpoint does not: {', '.join(map(repr, foreign))}")
        model_keys = {key[len("model/"):]: key for key in headers if key.startswith("model/")}
        try:
            check_state(model._named_state(), {name: headers[key] for name, key in model_keys.items()}, strict=True)
        except ValueError as e:
            raise ValueError(f"{where} does not fit this model; {e}") from None
        groups: Any = None
        if optimizer is not None:
            if "optimizer/param_groups" not in headers:
                raise ValueError(f"{where} holds no optimizer state")
            groups = _read_json(archive, "optimizer/param_groups", where)
            if not isinstance(groups, list) or not all(isinstance(g, dict) and isinstance(g.get("params"), list)
                                                       for g in groups):
                raise ValueError(f"{where} entry 'optimizer/param_groups' is not a list of parameter groups")
            state_keys = _optimizer_keys(headers, where)
            declared = {i: {name: headers[key] for name, key in entry.items()} for i, entry in state_keys.items()}
            try:
                optimizer._check_state_dict({"state": declared, "param_groups": groups})
            except ValueError as e:
                raise ValueError(f"{where} does not fit this optimizer; {e}") from None
        sched_state = None
        if scheduler is not None:
            if "scheduler" not in headers:
                raise ValueError(f"{where} holds no scheduler state")
            sched_state = _read_json(archive, "scheduler", where)
            if not isinstance(sched_state, dict) or set(sched_state) != set(scheduler.state_dict()):
                raise ValueError(f"{where} holds the state of another kind of scheduler")
        # Every header fits: now the data.
        weights = {name: archive.read(key) for name, key in model_keys.items()}
        if optimizer is not None:
            state = {i: {name: archive.read(key) for name, key in entry.items()} for i, entry in state_keys.items()}
    if optimizer is not None:
        try:
            optimizer.load_state_dict({"state": state, "param_groups": groups})  # checks again, on the data
        except ValueError as e:
            raise ValueError(f"{where} does not fit this optimizer; {e}") from None
    model.load_state_dict(weights)
    if sched_state is not None:
        scheduler.load_state_dict(sched_state)


#: The entries that hold JSON text (and `format`), as 0-d string arrays; at most this many characters.
_TEXTS = ("format", "optimizer/param_groups", "scheduler")
_MAX_TEXT = 1_000_000


def _text(archive: Archive, key: str, where: str) -> str:
    """The 0-d string entry `key`, refused from its header if it is anything else or very long."""
    header = archive.headers[key]
    if header.shape != () or header.dtype.kind != "U" or header.dtype.itemsize > 4 * _MAX_TEXT:
        raise ValueError(f"{where} entry {key!r} is {header.dtype} of shape {header.shape}, not one text "
                         f"of at most {_MAX_TEXT:,} characters")
    return str(archive.read(key)[()])


def _read_json(archive: Archive, key: str, where: str) -> Any:
    try:
        return json.loads(_text(archive, key, where))
    except json.JSONDecodeError as e:
        raise ValueError(f"{where} entry {key!r} is not valid JSON ({e})") from None


def _optimizer_keys(headers: Mapping[str, Any], where: str) -> dict[int, dict[str, str]]:
    """{parameter index: {state name: entry key}} from the `optimizer/state/<i>/<name>` entries."""
    keys: dict[int, dict[str, str]] = {}
    for key in headers:
        if key.startswith("optimizer/state/"):
            parts = key.split("/", 3)
            if len(parts) != 4 or not parts[2].isdecimal() or not parts[2].isascii():
                raise ValueError(f"{where} entry {key!r} is not named optimizer/state/<index>/<name>")
            keys.setdefault(int(parts[2]), {})[parts[3]] = key
    return keys
