"""The hostile-file catalogue: files built to make a loader misbehave, each refused before any data is read.

Every file is built here, with zipfile and numpy, from a good file: zip bombs (a small deflated
entry that inflates to far more than its directory or its header declares, or than the target
needs), a header declaring 10**12 elements, duplicate names, symbolic links (the path and an
entry), object, structured, string and datetime dtypes, wrong shapes and dtypes, truncated and
corrupt entries, files that are no zip, extra and missing keys. Each runs against both loaders
that read files, `Module.load` and `nn.load_checkpoint` (where the victim is an optimizer state
entry), and must raise a `ValueError` naming the file and what is wrong, allocate next to nothing,
and leave the model, the optimizer, the scheduler and every file exactly as they were.
"""

from __future__ import annotations

import io
import os
import pickle
import re
import stat
import tracemalloc
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import nn
import nn.io.npz
from tests.pickle_payload import Payload

#: What a refused load may allocate: a few header buffers, nothing like the arrays a file declares.
ALLOWED_PEAK = 2 * 2**20
BOMB_BYTES = 32 * 2**20  # what the zip bombs really inflate to (deflated to about 32 KB)


# ---------------------------------------------------------------------------- the world
class World:
    """A trained model, its optimizer (momentum) and scheduler, and the good files both loaders read."""

    def __init__(self, tmp: Path, loader: str) -> None:
        self.tmp, self.loader = tmp, loader
        self.model = nn.MLP([2, 3, 2], rng=np.random.default_rng(1))
        self.opt = nn.SGD(self.model.parameters(), lr=0.1, momentum=0.9)
        self.sched = nn.lr_scheduler.StepLR(self.opt, step_size=2, gamma=0.5)
        rng = np.random.default_rng(0)
        for _ in range(2):
            self.opt.zero_grad()
            nn.functional.cross_entropy(self.model(rng.normal(size=(4, 2))), [0, 1, 1, 0]).backward()
            self.opt.step()
            self.sched.step()
        self.good = tmp / "good.npz"
        if loader == "load":
            self.model.save(self.good)
            self.victim, self.extra, self.missing = "0.weight", "extra", "0.bias"
        else:
            nn.save_checkpoint(self.good, self.model, self.opt, self.sched)
            self.victim, self.extra, self.missing = "optimizer/state/0/momentum_buffer", "model/extra", "model/0.bias"
        with zipfile.ZipFile(self.good) as z:
            self.entries = {info.filename: z.read(info) for info in z.infolist()}
        self.victim_array = self.model.state_dict()["0.weight"] if loader == "load" else self.opt._velocity[0].copy()
        self.path = tmp / "hostile.npz"
        self.marker = tmp.parent / f"{tmp.name}-UNPICKLED"

    def load(self) -> Any:
        if self.loader == "load":
            return self.model.load(self.path)
        return nn.load_checkpoint(self.path, self.model, self.opt, self.sched)

    def snapshot(self) -> dict[str, Any]:
        params = [(p, p.data, p.data.tobytes(), p.data.dtype, p.data.shape, None if p.grad is None else p.grad.tobytes())
                  for p in self.model.parameters()]
        opt_state = {attr: [(v, None if v is None else v.tobytes()) for v in getattr(self.opt, attr)]
                     for attr in self.opt._state.values()}
        files = {}
        for p in sorted(self.tmp.rglob("*")):
            st = p.lstat()
            files[p.relative_to(self.tmp)] = (os.readlink(p) if stat.S_ISLNK(st.st_mode) else
                                              p.read_bytes() if stat.S_ISREG(st.st_mode) else st.st_mode)
        groups = [{k: v for k, v in g.items() if k != "params"} for g in self.opt.param_groups]
        return {"params": params, "opt": opt_state, "groups": groups, "sched": self.sched.state_dict(), "files": files}

    def assert_unchanged(self, before: dict[str, Any]) -> None:
        after = self.snapshot()
        for (p, data, raw, dtype, shape, grad), (p2, data2, raw2, dtype2, shape2, grad2) in zip(before["params"], after["params"]):
            assert p is p2 and data is data2, "a parameter's array was replaced"
            assert (raw, dtype, shape, grad) == (raw2, dtype2, shape2, grad2), "a parameter is not bit-identical"
        for attr, values in before["opt"].items():
            for (v, raw), (v2, raw2) in zip(values, after["opt"][attr]):
                assert v is v2 and raw == raw2, f"optimizer state {attr} changed"
        assert before["groups"] == after["groups"] and before["sched"] == after["sched"]
        assert before["files"] == after["files"], "a file was changed, created or removed"
        assert not self.marker.exists(), "loading unpickled the file's payload"


# ---------------------------------------------------------------------------- building hostile files
def npy(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, array, allow_pickle=array.dtype.hasobject)
    return buf.getvalue()


def npy_header(shape: tuple[int, ...], descr: str = "<f8", version: tuple[int, int] = (1, 0), fortran: bool = False) -> bytes:
    buf = io.BytesIO()
    header = {"descr": descr, "fortran_order": fortran, "shape": shape}
    {(1, 0): np.lib.format.write_array_header_1_0, (2, 0): np.lib.format.write_array_header_2_0}[version](buf, header)
    return buf.getvalue()


def write_zip(path: Path, entries: list[tuple[str | zipfile.ZipInfo, bytes]], compression: int = zipfile.ZIP_STORED,
              lie: Callable[[zipfile.ZipFile], None] | None = None) -> None:
    """Write `entries`; `lie` edits the ZipInfos before the central directory is written, so it can lie."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # zipfile warns about duplicate names
        with zipfile.ZipFile(path, "w", compression) as z:
            for name, data in entries:
                z.writestr(name, data)
            if lie is not None:
                lie(z)


def with_victim(w: World, data: bytes | None, *more: tuple[str | zipfile.ZipInfo, bytes]) -> list[tuple[Any, bytes]]:
    """The good entries with the victim's replaced by `data` (dropped if None), then `more`."""
    name = f"{w.victim}.npy"
    entries = [(n, data if n == name else d) for n, d in w.entries.items() if n != name or data is not None]
    return [*entries, *more]


def replace_victim(make: Callable[[World], bytes], compression: int = zipfile.ZIP_STORED) -> Callable[[World], None]:
    return lambda w: write_zip(w.path, with_victim(w, make(w)), compression)


def bomb(shape: Callable[[World], tuple[int, ...]], claim: Callable[[World, zipfile.ZipInfo], dict[str, int]] | None = None):
    """A deflated victim whose header declares `shape` followed by BOMB_BYTES zeros; `claim` edits its directory sizes."""

    def write(w: World) -> None:
        name = f"{w.victim}.npy"
        with zipfile.ZipFile(w.path, "w", zipfile.ZIP_DEFLATED) as z:
            for n, d in w.entries.items():
                if n != name:
                    z.writestr(n, d)
            with z.open(name, "w") as f:
                f.write(npy_header(shape(w)))
                block = bytes(2**20)
                for _ in range(BOMB_BYTES // len(block)):
                    f.write(block)
            info = z.getinfo(name)
            assert info.file_size > BOMB_BYTES and info.compress_size < BOMB_BYTES // 500  # a real bomb
            for field, value in (claim(w, info) if claim else {}).items():
                setattr(info, field, value)

    return write


def claim_sizes(**fields: Callable[[World, zipfile.ZipInfo], int]):
    return lambda w, info: {k: f(w, info) for k, f in fields.items()}


def edit_victim(compression: int = zipfile.ZIP_STORED, **fields: Callable[[zipfile.ZipInfo], int]) -> Callable[[World], None]:
    """The good file with the victim's directory record edited (sizes, CRC, flags)."""

    def lie(z: zipfile.ZipFile, name: str) -> None:
        info = z.getinfo(name)
        for field, value in fields.items():
            setattr(info, field, value(info))

    return lambda w: write_zip(w.path, list(w.entries.items()), compression, lie=lambda z: lie(z, f"{w.victim}.npy"))


def symlink_entry(w: World) -> None:
    info = zipfile.ZipInfo(f"{w.victim}.npy")
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    write_zip(w.path, with_victim(w, None, (info, w.entries[f"{w.victim}.npy"])))  # its data is a good array


def bzip2_victim(w: World) -> None:
    info = zipfile.ZipInfo(f"{w.victim}.npy")
    info.compress_type = zipfile.ZIP_BZIP2  # a good zip method, but not one numpy writes
    write_zip(w.path, with_victim(w, None, (info, w.entries[f"{w.victim}.npy"])))


def symlink_path(w: World) -> None:
    os.symlink(w.good, w.path)  # to a good file: only the link is wrong


def object_array(w: World) -> bytes:
    array = np.empty(w.victim_array.shape, dtype=object)
    array[...] = Payload(str(w.marker))
    return npy(array)


def truncate(w: World) -> None:
    data = w.good.read_bytes()
    w.path.write_bytes(data[: len(data) // 2])


def header_bytes(shape: tuple[int, ...], length: int | None = None, version: bytes = b"\x01\x00") -> bytes:
    """A hand-made .npy header: `length` can lie about its own size, `version` be any two bytes."""
    text = f"{{'descr': '<f8', 'fortran_order': False, 'shape': {shape}, }}".ljust(117) + "\n"
    return b"\x93NUMPY" + version + (length if length is not None else len(text)).to_bytes(2, "little") + text.encode()


# ---------------------------------------------------------------------------- the catalogue
@dataclass
class Hostile:
    id: str
    write: Callable[[World], None]
    says: str | dict[str, str]  # a regex (per loader if a dict); {victim} {extra} {missing} are filled in
    loaders: tuple[str, ...] = ("load", "checkpoint")


V = "{victim}"
CASES = [
    # zip bombs and lying sizes
    Hostile("bomb-inflates-past-its-directory", bomb(lambda w: w.victim_array.shape,
                                                     claim_sizes(file_size=lambda w, i: 128 + w.victim_array.nbytes)),
            rf"entry '{V}.npy' holds [\d,]+ compressed bytes for the 176 it declares.*zip bomb.*before inflating"),
    Hostile("bomb-inflates-past-both-sizes", bomb(lambda w: w.victim_array.shape,
                                                  claim_sizes(file_size=lambda w, i: 128 + w.victim_array.nbytes,
                                                              compress_size=lambda w, i: 100)),
            rf"entry '{V}' cannot be read \(BadZipFile: Bad CRC-32"),
    Hostile("bomb-data-past-its-header", bomb(lambda w: w.victim_array.shape),
            rf"entry '{V}' holds 33,554,432 bytes of data but its header declares shape \(3, 2\) of float64 \(48 bytes\)"),
    Hostile("bomb-honest-but-too-big-for-the-target", bomb(lambda w: (BOMB_BYTES // 8,)),
            {"load": r"'0.weight' has shape \(4194304,\), the model's parameter has shape \(3, 2\)",
             "checkpoint": r"parameter 0: 'momentum_buffer' is float64 \(4194304,\), the parameter is float64 \(3, 2\)"}),
    Hostile("directory-claims-a-terabyte", edit_victim(zipfile.ZIP_DEFLATED, file_size=lambda i: 10**12),
            rf"entry '{V}.npy' claims to inflate 1,000,000,000,000 bytes from \d+.*zip bomb"),
    Hostile("stored-entry-sizes-differ", edit_victim(file_size=lambda i: 10**9),
            rf"entry '{V}.npy' is stored uncompressed but its sizes differ"),
    Hostile("header-declares-10**12-elements", replace_victim(lambda w: npy_header((10**12,)) + bytes(64)),
            rf"entry '{V}' cannot be read: its header declares shape \(1000000000000,\) of float64 "
            r"\(8,000,000,000,000 bytes\) but it holds only 64 bytes"),
    Hostile("header-declares-10**12-elements-deflated",
            replace_victim(lambda w: npy_header((10**6, 10**6)) + bytes(64), zipfile.ZIP_DEFLATED),
            rf"entry '{V}' cannot be read: its header declares shape \(1000000, 1000000\)"),
    # the zip's structure
    Hostile("duplicate-entry", lambda w: write_zip(w.path, with_victim(w, w.entries[f"{w.victim}.npy"],
                                                                       (f"{w.victim}.npy", npy(np.full((3, 2), 7.0))))),
            rf"entry '{V}.npy' appears 2 times"),
    Hostile("symlink-entry", symlink_entry, rf"entry '{V}.npy' is a symbolic link"),
    Hostile("symlink-path", symlink_path, r"is a symbolic link; refusing to follow it"),
    Hostile("folder-as-path", lambda w: w.path.mkdir(), r"is not a readable .npz archive: it is not a regular file"),
    Hostile("folder-entry", lambda w: write_zip(w.path, with_victim(w, w.entries[f"{w.victim}.npy"], ("sub/", b""))),
            r"entry 'sub/' is not a .npy array"),
    Hostile("entry-that-is-not-npy", lambda w: write_zip(w.path, with_victim(w, w.entries[f"{w.victim}.npy"], ("README.txt", b"hi"))),
            r"entry 'README.txt' is not a .npy array"),
    Hostile("encrypted-entry", edit_victim(flag_bits=lambda i: i.flag_bits | 0x1), rf"entry '{V}.npy' is encrypted"),
    Hostile("bzip2-entry", bzip2_victim,
            rf"entry '{V}.npy' is compressed with zip method 12; only stored and deflated"),
    Hostile("bad-crc", edit_victim(CRC=lambda i: i.CRC ^ 1), rf"entry '{V}' cannot be read \(BadZipFile: Bad CRC-32"),
    # files that are no archive
    Hostile("truncated-file", truncate, r"is not a readable .npz archive \(BadZipFile"),
    Hostile("empty-file", lambda w: w.path.write_bytes(b""), r"is not a readable .npz archive \(BadZipFile"),
    Hostile("text-file", lambda w: w.path.write_text("not an archive\n" * 20), r"is not a readable .npz archive \(BadZipFile"),
    Hostile("pickle-file", lambda w: w.path.write_bytes(pickle.dumps({"0.weight": Payload(str(w.marker))})),
            r"is not a readable .npz archive"),
    Hostile("single-npy-file", lambda w: w.path.write_bytes(npy(np.zeros(3))), r"holds a single .npy array, not an .npz archive"),
    # .npy headers
    Hostile("truncated-entry", replace_victim(lambda w: w.entries[f"{w.victim}.npy"][:-10]),
            rf"entry '{V}' cannot be read: its header declares shape \(3, 2\) of float64 \(48 bytes\) but it holds only 38"),
    Hostile("truncated-header", replace_victim(lambda w: w.entries[f"{w.victim}.npy"][:60]),
            rf"entry '{V}' cannot be read: its .npy header is cut short"),
    Hostile("no-npy-magic", replace_victim(lambda w: b"PK\x03\x04" + bytes(200)), rf"entry '{V}' is not a .npy array"),
    Hostile("npy-version-3", replace_victim(lambda w: header_bytes((3, 2), version=b"\x03\x00") + bytes(48)),
            rf"entry '{V}' cannot be read: its .npy format version is \(3, 0\)"),
    Hostile("npy-header-too-long", replace_victim(lambda w: header_bytes((3, 2), length=60_000) + bytes(60_000)),
            rf"entry '{V}' has a .npy header of 60,000 bytes"),
    Hostile("npy-header-not-a-dict", replace_victim(lambda w: b"\x93NUMPY\x01\x00\x10\x00" + b"[1, 2, 3]".ljust(15) + b"\n"),
            rf"entry '{V}' has a malformed .npy header"),
    Hostile("negative-shape", replace_victim(lambda w: npy_header((-3, 2)) + bytes(48)), rf"entry '{V}' has a malformed .npy header"),
    # dtypes
    Hostile("object-array", replace_victim(object_array), rf"entry '{V}' is an object array; only numeric arrays can be loaded"),
    Hostile("structured-dtype", replace_victim(lambda w: npy(np.zeros((3, 2), dtype=[("a", "<f8")]))),
            rf"entry '{V}' has a structured dtype"),
    Hostile("subarray-dtype", replace_victim(lambda w: npy_header((3,), descr=[("a", "<f8", (2,))]) + bytes(48)),
            rf"entry '{V}' has a structured dtype"),
    Hostile("raw-bytes-dtype", replace_victim(lambda w: npy(np.zeros((3, 2), dtype="V8"))), rf"entry '{V}' holds values of dtype"),
    Hostile("datetime-dtype", replace_victim(lambda w: npy(np.zeros((3, 2), dtype="M8[s]"))), rf"entry '{V}' holds values of dtype"),
    Hostile("string-dtype", replace_victim(lambda w: npy(np.full((3, 2), "1.5"))),
            {"load": r"'0.weight' holds strings, not numbers",
             "checkpoint": r"parameter 0: 'momentum_buffer' is <U3 \(3, 2\), the parameter is float64 \(3, 2\)"}),
    Hostile("complex-dtype", replace_victim(lambda w: npy(w.victim_array.astype(complex))),
            {"load": r"'0.weight' holds complex numbers, not numbers",
             "checkpoint": r"parameter 0: 'momentum_buffer' is complex128 \(3, 2\), the parameter is float64"}),
    Hostile("wrong-dtype", replace_victim(lambda w: npy(w.victim_array.astype(np.float32))),
            {"load": r"'0.weight' has dtype float32, the model's parameter has dtype float64",
             "checkpoint": r"parameter 0: 'momentum_buffer' is float32 \(3, 2\), the parameter is float64 \(3, 2\)"}),
    # shapes and keys
    Hostile("wrong-shape", replace_victim(lambda w: npy(np.zeros(5))),
            {"load": r"'0.weight' has shape \(5,\), the model's parameter has shape \(3, 2\)",
             "checkpoint": r"parameter 0: 'momentum_buffer' is float64 \(5,\), the parameter is float64 \(3, 2\)"}),
    Hostile("fortran-order-transposed", replace_victim(lambda w: npy(np.asfortranarray(w.victim_array.T))),
            {"load": r"'0.weight' has shape \(2, 3\), the model's parameter has shape \(3, 2\)",
             "checkpoint": r"parameter 0: 'momentum_buffer' is float64 \(2, 3\), the parameter is float64 \(3, 2\)"}),
    Hostile("extra-key", lambda w: write_zip(w.path, with_victim(w, w.entries[f"{w.victim}.npy"],
                                                                 (f"{w.extra}.npy", npy(np.ones(2))))),
            r"does not fit this model; .*unexpected key 'extra'"),
    Hostile("missing-key", lambda w: write_zip(w.path, [(n, d) for n, d in w.entries.items() if n != f"{w.missing}.npy"]),
            r"does not fit this model; .*missing key '0.bias'"),
    Hostile("path-traversal-name", lambda w: write_zip(w.path, with_victim(w, w.entries[f"{w.victim}.npy"],
                                                                           ("../../evil.npy", npy(np.ones(2))))),
            {"load": r"unexpected key '\.\./\.\./evil'", "checkpoint": r"holds entries a checkpoint does not: '\.\./\.\./evil'"}),
    # checkpoints only: the texts and the names
    Hostile("checkpoint-format-not-text", lambda w: write_zip(w.path, [(n, npy(np.zeros(4)) if n == "format.npy" else d)
                                                                       for n, d in w.entries.items()]),
            r"entry 'format' is float64 of shape \(4,\), not one text", loaders=("checkpoint",)),
    Hostile("checkpoint-json-not-json",
            lambda w: write_zip(w.path, [(n, npy(np.array("{not json")) if n == "optimizer/param_groups.npy" else d)
                                         for n, d in w.entries.items()]),
            r"entry 'optimizer/param_groups' is not valid JSON", loaders=("checkpoint",)),
    Hostile("checkpoint-groups-not-groups",
            lambda w: write_zip(w.path, [(n, npy(np.array("[1, 2]")) if n == "optimizer/param_groups.npy" else d)
                                         for n, d in w.entries.items()]),
            r"entry 'optimizer/param_groups' is not a list of parameter groups", loaders=("checkpoint",)),
    Hostile("checkpoint-text-too-long",
            lambda w: write_zip(w.path, [(n, npy_header((), descr="<U2000000") + bytes(8_000_000) if n == "scheduler.npy" else d)
                                         for n, d in w.entries.items()], zipfile.ZIP_DEFLATED),
            r"entry 'scheduler' is <U2000000 of shape \(\), not one text of at most 1,000,000 characters", loaders=("checkpoint",)),
    Hostile("checkpoint-bad-state-name",
            lambda w: write_zip(w.path, with_victim(w, w.entries[f"{w.victim}.npy"], ("optimizer/state/x/momentum_buffer.npy",
                                                                                      npy(np.ones(2))))),
            r"entry 'optimizer/state/x/momentum_buffer' is not named optimizer/state/<index>/<name>", loaders=("checkpoint",)),
    Hostile("checkpoint-state-of-a-missing-parameter",
            lambda w: write_zip(w.path, with_victim(w, w.entries[f"{w.victim}.npy"], ("optimizer/state/9/momentum_buffer.npy",
                                                                                      npy(np.ones(10**6))))),
            r"does not fit this optimizer; .*state for parameter 9, which this optimizer does not have", loaders=("checkpoint",)),
    Hostile("checkpoint-another-optimizers-state",
            lambda w: write_zip(w.path, with_victim(w, w.entries[f"{w.victim}.npy"], ("optimizer/state/0/exp_avg.npy",
                                                                                      npy(w.victim_array)))),
            r"does not fit this optimizer; .*parameter 0: unknown state 'exp_avg'", loaders=("checkpoint",)),
]

LOADERS = ("load", "checkpoint")
PARAMS = [pytest.param(case, loader, id=f"{case.id}-{loader}") for case in CASES for loader in LOADERS if loader in case.loaders]


@pytest.mark.parametrize(("case", "loader"), PARAMS)
def test_a_hostile_file_is_refused_and_changes_nothing(case, loader, tmp_path):
    w = World(tmp_path, loader)
    case.write(w)
    before = w.snapshot()
    says = case.says[loader] if isinstance(case.says, dict) else case.says
    says = says.format(victim=re.escape(w.victim), extra=re.escape(w.extra), missing=re.escape(w.missing))
    tracemalloc.start()
    try:
        with pytest.raises(ValueError) as info:
            w.load()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    message = str(info.value)
    assert message.startswith("load: " if loader == "load" else "load_checkpoint: ")
    assert repr(str(w.path)) in message, f"the message does not name the file: {message!r}"
    assert re.search(says, message, re.S), f"message {message!r} does not match {says!r}"
    assert peak < ALLOWED_PEAK, f"{peak / 2**20:.1f} MiB allocated while refusing the file"
    w.assert_unchanged(before)


def test_the_catalogue_is_big_and_names_are_unique():
    assert len(CASES) >= 40
    assert len({c.id for c in CASES}) == len(CASES)


def test_a_checkpoints_step_must_be_one_integer(tmp_path):
    """Adam's step count, declared as three floats, is refused from its header and nothing changes."""
    model = nn.Linear(2, 1, rng=np.random.default_rng(0))
    opt = nn.Adam(model.parameters(), lr=0.1)
    model(np.ones((1, 2))).sum().backward()
    opt.step()
    path = tmp_path / "run.npz"
    nn.save_checkpoint(path, model, opt)
    with zipfile.ZipFile(path) as z:
        entries = {info.filename: z.read(info) for info in z.infolist()}
    entries["optimizer/state/0/step.npy"] = npy(np.ones(3))
    write_zip(path, list(entries.items()))
    before = [p.data.copy() for p in model.parameters()], opt.state_dict()
    with pytest.raises(ValueError, match=r"(?s)does not fit this optimizer; .*parameter 0: 'step' is float64 \(3,\), not one integer"):
        nn.load_checkpoint(path, model, opt)
    for p, b in zip(model.parameters(), before[0]):
        assert p.data.tobytes() == b.tobytes()
    after = opt.state_dict()
    assert after["param_groups"] == before[1]["param_groups"]
    for i, entry in before[1]["state"].items():
        for name, value in entry.items():
            np.testing.assert_array_equal(after["state"][i][name], value)


# ---------------------------------------------------------------------------- good files still load
def test_fortran_order_big_endian_and_deflated_entries_load_the_right_numbers(tmp_path):
    """What numpy may legitimately write: Fortran order, big-endian, np.savez_compressed."""
    source = nn.MLP([2, 3, 2], rng=np.random.default_rng(0))
    state = source.state_dict()
    path = tmp_path / "odd.npz"
    odd = {k: np.asfortranarray(v).astype(">f8", order="F") for k, v in state.items()}
    assert not odd["0.weight"].flags.c_contiguous
    np.savez_compressed(path, **odd)
    target = nn.MLP([2, 3, 2], rng=np.random.default_rng(1))
    arrays = [p.data for p in target.parameters()]
    target.load(path)
    for (name, p), array in zip(target.named_parameters(), arrays):
        assert p.data is array and p.data.flags.c_contiguous and p.data.dtype.isnative
        np.testing.assert_array_equal(p.data, state[name])
    loaded = nn.io.npz.load_npz(path)
    assert all(a.flags.c_contiguous and a.dtype.isnative for a in loaded.values())


def test_a_legitimately_very_compressible_file_is_not_taken_for_a_bomb(tmp_path):
    """A zero weight deflates about 1,000:1, just under deflate's limit; it must still load."""
    model = nn.Linear(1000, 1000)
    model.weight.data[...] = 0.0
    path = tmp_path / "zeros.npz"
    np.savez_compressed(path, **model.state_dict())
    with zipfile.ZipFile(path) as z:
        info = z.getinfo("weight.npy")
        assert info.file_size / info.compress_size > 1000
    other = nn.Linear(1000, 1000)
    other.load(path)
    assert not other.weight.data.any()


def test_with_strict_false_unexpected_entries_are_checked_but_not_read(tmp_path, monkeypatch):
    source = nn.MLP([2, 3, 2], rng=np.random.default_rng(0))
    path = tmp_path / "more.npz"
    np.savez(path, **source.state_dict(), extra=np.ones(1000))
    read = []
    real_read = nn.io.npz.Archive.read
    monkeypatch.setattr(nn.io.npz.Archive, "read", lambda self, key: read.append(key) or real_read(self, key))
    target = nn.MLP([2, 3, 2], rng=np.random.default_rng(1))
    assert target.load(path, strict=False) == nn.IncompatibleKeys([], ["extra"])
    assert read == list(source.state_dict())
    np.testing.assert_array_equal(target.layers[0].weight.data, source.layers[0].weight.data)
