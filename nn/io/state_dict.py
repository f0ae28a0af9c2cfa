"""Checking a state dict against a model, and writing it as an `.npz` archive (`nn.io.npz` reads one)."""

from __future__ import annotations

import os
import tempfile
import zipfile
from collections.abc import Mapping
from typing import Any

import numpy as np

from autodiff import Tensor
from autodiff.dtypes import not_real
from nn.io.npz import Header
from nn.parameter import Buffer


def _as_array(value: Any) -> np.ndarray | Header | str:
    """The array a state entry holds (or its declared shape and dtype), or a description of why it is not one."""
    if isinstance(value, Tensor):
        return value.data
    if isinstance(value, (np.ndarray, Header)):
        return value
    try:
        array = np.asarray(value)
    except (ValueError, TypeError):
        return f"a {type(value).__name__}, not an array"
    return array


def _integer_buffer(p: Tensor, array: np.ndarray | Header) -> bool:
    """An integer array for a Buffer, as torch keeps some (BatchNorm's `num_batches_tracked` is int64):
    loaded as the buffer's floats. Integers beyond 2⁵³ would not survive that, so only smaller ones
    pass (a file's entry, not yet read, is checked when it is)."""
    if not isinstance(p, Buffer) or array.dtype.kind not in "iu":
        return False
    return isinstance(array, Header) or not array.size or bool(np.abs(array).max() <= 2**53)


def check_state(
    params: Mapping[str, Tensor], state: Mapping[str, Any], strict: bool
) -> tuple[dict[str, np.ndarray], list[str], list[str]]:
    """Validate `state` against `params` and return (arrays to copy, missing keys, unexpected keys).

    Raises one ValueError listing every problem, so nothing is changed on a partial match. The
    values may be `nn.io.npz.Header`s (what a file's entries declare), to check a file before reading
    its data. Byte order does not matter: a big-endian float64 array is float64.
    """
    if not isinstance(state, Mapping):
        raise TypeError(f"load_state_dict: expected a mapping of name to array, got {type(state).__name__}")
    problems = []
    arrays: dict[str, np.ndarray] = {}
    missing = [name for name in params if name not in state]
    unexpected = [str(key) for key in state if key not in params]
    if strict:
        problems += [f"missing key {name!r}" for name in missing]
        problems += [f"unexpected key {key!r}" for key in unexpected]
    for name, p in params.items():
        if name not in state:
            continue
        array = _as_array(state[name])
        if isinstance(array, str):
            problems.append(f"{name!r} is {array}")
        elif array.dtype.kind == "O":
            problems.append(f"{name!r} is an object array; only numeric arrays can be loaded")
        elif not_real(array.dtype) is not None:
            problems.append(f"{name!r} holds {not_real(array.dtype)}, not numbers")
        elif array.shape != p.shape:
            problems.append(f"{name!r} has shape {array.shape}, the model's parameter has shape {p.shape}")
        elif array.dtype.newbyteorder("=") != p.dtype and not _integer_buffer(p, array):
            problems.append(f"{name!r} has dtype {array.dtype}, the model's parameter has dtype {p.dtype}")
        else:
            arrays[name] = array
    if problems:
        listed = "\n".join(f"  - {p}" for p in problems)
        raise ValueError(f"load_state_dict: {len(problems)} problem(s), nothing was loaded:\n{listed}")
    return arrays, missing, unexpected


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def save_npz(state: Mapping[str, np.ndarray], path: str | os.PathLike[str]) -> None:
    """Write `state` to exactly `path` as `.npz`: into a temporary file beside it, then renamed over it."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".npz")
    try:
        with os.fdopen(fd, "wb") as f:
            # Not np.savez(f, **state): it would take keys named "file" or "allow_pickle" as its own
            # arguments. The same archive, written member by member.
            with zipfile.ZipFile(f, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
                for name, array in state.items():
                    with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                        np.lib.format.write_array(member, np.asanyarray(array), allow_pickle=False)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it private; give it a normal file's mode
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
