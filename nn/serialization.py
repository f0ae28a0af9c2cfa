"""Checking a state dict against a model, and writing and reading it as an `.npz` archive."""

from __future__ import annotations

import os
import tempfile
import zipfile
import zlib
from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np

from autodiff import Tensor
from autodiff.dtypes import not_real


class Declared(NamedTuple):
    """What an archive member says it holds, read from its header alone: enough for `check_state`."""

    shape: tuple[int, ...]
    dtype: np.dtype


#: A member that is not a `.npy` array (a stray file in the archive): numpy would read it as bytes.
_NOT_NPY = Declared((), np.dtype("S"))


def _as_array(value: Any) -> np.ndarray | Declared | str:
    """The array a state entry holds (or its declared shape and dtype), or a description of why it is not one."""
    if isinstance(value, Tensor):
        return value.data
    if isinstance(value, (np.ndarray, Declared)):
        return value
    try:
        array = np.asarray(value)
    except (ValueError, TypeError):
        return f"a {type(value).__name__}, not an array"
    return array


def check_state(
    params: Mapping[str, Tensor], state: Mapping[str, Any], strict: bool
) -> tuple[dict[str, np.ndarray], list[str], list[str]]:
    """Validate `state` against `params` and return (arrays to copy, missing keys, unexpected keys).

    Raises one ValueError listing every problem, so nothing is changed on a partial match. The
    values may be `Declared` (shape, dtype) pairs, to check a file before reading its data. Byte
    order does not matter: a big-endian float64 array is float64.
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
        elif array.dtype.newbyteorder("=") != p.dtype:
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


# What reading a damaged or foreign file can raise, besides the ValueErrors NumPy raises itself.
_READ_ERRORS = (OSError, ValueError, EOFError, KeyError, MemoryError, zipfile.BadZipFile, zlib.error)


def _declared(path: str) -> list[tuple[str, Declared, int]] | None:
    """(key, declared shape and dtype, stored bytes) of each member, read from the headers alone
    (nothing is inflated beyond them); None for a file that is no readable archive (np.load then
    says what is wrong). Keys are numpy's: a `.npy` member's name without the suffix."""
    entries = []
    try:
        with zipfile.ZipFile(path) as z:
            for info in z.infolist():
                if not info.filename.endswith(".npy"):
                    entries.append((info.filename, _NOT_NPY, info.file_size))
                    continue
                with z.open(info) as f:
                    version = np.lib.format.read_magic(f)
                    read_header = (
                        np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
                    )
                    shape, _, dtype = read_header(f)
                entries.append((info.filename[:-4], Declared(shape, dtype), info.file_size))
    except (*_READ_ERRORS, TypeError):
        return None
    return entries


def check_archive(params: Mapping[str, Tensor], path: str | os.PathLike[str], strict: bool) -> None:
    """`check_state` on what the archive at `path` declares, before any of its data is read: a file
    whose header declares 25,000,000 floats for a (4, 3) weight is refused without inflating 200 MB.
    Does nothing for a file that is no readable archive (`load_npz` says what is wrong with it)."""
    entries = _declared(os.fspath(path))
    if entries is not None:
        check_state(params, {key: declared for key, declared, _ in entries}, strict)


def _check_declared_sizes(path: str) -> None:
    """Refuse an entry whose header declares more data than the archive holds for it, before
    anything is allocated: a 100-byte file must not make us allocate terabytes."""
    for name, (shape, dtype), stored in _declared(path) or ():
        if not dtype.hasobject and int(np.prod(shape, dtype=object)) * dtype.itemsize > stored:
            raise ValueError(
                f"load: {path!r} entry {name!r} declares shape {shape} of {dtype} but holds only {stored} bytes; "
                "the file is corrupt or truncated"
            )


def load_npz(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Every array in the `.npz` archive at `path`, read with `allow_pickle=False`, in native byte order."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"load: no such file: {path!r}")
    _check_declared_sizes(path)
    try:
        archive = np.load(path, allow_pickle=False)
    except _READ_ERRORS as e:
        raise ValueError(f"load: {path!r} is not a readable .npz archive ({type(e).__name__}: {e})") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ValueError(f"load: {path!r} holds a single .npy array, not an .npz archive of named arrays")
    state = {}
    with archive:
        for key in archive.files:
            try:
                state[key] = _native(archive[key])
            except _READ_ERRORS as e:
                if "allow_pickle" in str(e):
                    raise ValueError(
                        f"load: {path!r} entry {key!r} is an object array; only numeric arrays can be loaded"
                    ) from None
                raise ValueError(
                    f"load: {path!r} entry {key!r} cannot be read ({type(e).__name__}: {e}); the file may be truncated"
                ) from None
    return state


def _native(array: Any) -> Any:
    """`array` in this machine's byte order (a file written elsewhere may hold big-endian floats)."""
    if isinstance(array, np.ndarray) and not array.dtype.isnative:
        return array.astype(array.dtype.newbyteorder("="))
    return array
