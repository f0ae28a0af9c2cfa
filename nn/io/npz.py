"""Reading an `.npz` archive that may be hostile: everything that can be checked without its data is
checked before any of its data is read, and nothing is allocated beyond what the caller expects.

`open_npz(path)` refuses, with a `ValueError` naming the file and the entry: a path that is a
symbolic link or not a regular file; a file that is not a zip archive (or is a single `.npy`);
entries that are symbolic links, folders or anything but `.npy` arrays, that appear twice, that are
encrypted or compressed other than by deflate; entries whose sizes in the zip directory cannot be
true (more compressed bytes than the file holds, a compression ratio deflate cannot reach, more
compressed bytes than deflate would make of what they declare); `.npy` headers that are malformed,
oversized or of an unknown version; object, structured, raw or datetime dtypes; and headers whose
byte count (shape times item size) differs from what the zip entry holds. Only the few hundred
bytes of each header are inflated for this.

Its `headers` ({key: `Header`}, keys as numpy's: the entry's name without `.npy`) say what each
entry declares. The caller compares them with what it needs (`check_state` for a model's
parameters) and only then calls `read(key)`, which inflates exactly the declared bytes, so a file
declaring a terabyte for a (3, 2) weight is refused without inflating it. Arrays come back in
native byte order and C order (a Fortran-ordered entry is read as Fortran and copied). Nothing is
ever unpickled.
"""

from __future__ import annotations

import io
import math
import os
import stat
import struct
import zipfile
import zlib
from collections import Counter
from types import TracebackType
from typing import NamedTuple

import numpy as np

#: deflate cannot inflate more than 1032 bytes from one; a zip directory claiming more is lying.
MAX_RATIO = 1100
#: numpy writes `.npy` headers of about a hundred bytes; it refuses to parse more than 10,000.
MAX_HEADER_BYTES = 10_000
_VERSIONS = {(1, 0): "<H", (2, 0): "<I"}  # 3.0 only adds UTF-8 field names, for structured dtypes
_MAX_PREFIX = 6 + 2 + 4 + MAX_HEADER_BYTES  # magic, version, header length, header
_READ_HEADER = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
_NPY_MAGIC = b"\x93NUMPY"
_CHUNK = 1 << 20  # data is inflated and copied in pieces of this many bytes
#: What a damaged archive can raise while being read.
_ERRORS = (OSError, EOFError, ValueError, zipfile.BadZipFile, zlib.error, RuntimeError, NotImplementedError)


class Header(NamedTuple):
    """What an entry's `.npy` header declares, read without its data."""

    shape: tuple[int, ...]
    dtype: np.dtype
    fortran_order: bool
    offset: int  # bytes in the entry before the data: magic, header length, header

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize


class Archive:
    """An open `.npz` whose zip directory and `.npy` headers have been checked; see the module's doc."""

    def __init__(self, path: str, who: str) -> None:
        self.path, self.where = path, f"{who}: {path!r}"
        self._file = _open_regular_file(path, who)
        try:
            self._zip = _open_zip(self._file, self.where)
            self._infos = _npy_entries(self._zip, os.fstat(self._file.fileno()).st_size, self.where)
            self.headers = {key: self._header(key, info) for key, info in self._infos.items()}
        except BaseException:
            self.close()
            raise

    def _refuse(self, key: str, what: str) -> ValueError:
        return ValueError(f"{self.where} entry {key!r} {what}")

    def _header(self, key: str, info: zipfile.ZipInfo) -> Header:
        try:
            with self._zip.open(info) as f:
                head = f.read(min(info.file_size, _MAX_PREFIX))  # a few hundred bytes inflated, at most 10 KB
        except _ERRORS as e:
            raise self._refuse(key, f"cannot be read ({type(e).__name__}: {e}); the file is truncated or corrupt") from None
        if head[: len(_NPY_MAGIC)] != _NPY_MAGIC:
            raise self._refuse(key, "is not a .npy array (its first bytes are not numpy's magic string)")
        version = tuple(head[len(_NPY_MAGIC) : len(_NPY_MAGIC) + 2])
        if version not in _VERSIONS:
            raise self._refuse(key, f"cannot be read: its .npy format version is {version}; only (1, 0) and (2, 0) are read")
        start = len(_NPY_MAGIC) + 2
        field = struct.calcsize(_VERSIONS[version])
        (length,) = struct.unpack(_VERSIONS[version], head[start : start + field].ljust(field, b"\0"))
        if length > MAX_HEADER_BYTES:
            raise self._refuse(key, f"has a .npy header of {length:,} bytes; numpy writes about a hundred")
        offset = start + field + length
        if offset > len(head):
            raise self._refuse(key, f"cannot be read: its .npy header is cut short after {len(head)} bytes; "
                                    "the file is truncated or corrupt")
        try:
            shape, fortran_order, dtype = _READ_HEADER[version](io.BytesIO(head[start:offset]))
        except (ValueError, TypeError, SyntaxError, RecursionError, MemoryError) as e:
            raise self._refuse(key, f"has a malformed .npy header ({type(e).__name__}: {e})") from None
        if any(n < 0 for n in shape):
            raise self._refuse(key, f"has a malformed .npy header (shape {shape})")
        what = _unreadable_dtype(dtype)
        if what:
            raise self._refuse(key, what)
        header = Header(tuple(shape), dtype, fortran_order, offset)
        held = info.file_size - offset
        if header.nbytes != held:
            declared = f"its header declares shape {header.shape} of {dtype} ({header.nbytes:,} bytes)"
            if header.nbytes > held:
                raise self._refuse(key, f"cannot be read: {declared} but it holds only {held:,} bytes; "
                                        "the file is truncated or corrupt")
            raise self._refuse(key, f"holds {held:,} bytes of data but {declared}; refusing the rest")
        return header

    def read(self, key: str) -> np.ndarray:
        """The array of entry `key`, once its header has been checked: exactly its declared bytes are inflated."""
        header = self.headers[key]
        data = np.empty(header.nbytes, np.uint8)  # the caller has checked nbytes against what it needs
        done = 0
        try:
            with self._zip.open(self._infos[key]) as f:
                f.read(header.offset)
                while done < header.nbytes:
                    chunk = f.read(min(_CHUNK, header.nbytes - done))
                    if not chunk:
                        break
                    data[done : done + len(chunk)] = np.frombuffer(chunk, np.uint8)
                    done += len(chunk)
                rest = f.read(1)  # also makes zipfile check the CRC
        except _ERRORS as e:
            raise self._refuse(key, f"cannot be read ({type(e).__name__}: {e}); the file is truncated or corrupt") from None
        if done != header.nbytes or rest:
            raise self._refuse(key, "cannot be read: it does not hold the bytes its header declares; the file is corrupt")
        array = data.view(header.dtype).reshape(header.shape, order="F" if header.fortran_order else "C")
        if array.dtype.isnative and array.flags.c_contiguous:
            return array
        return np.array(array, dtype=header.dtype.newbyteorder("="), order="C")

    def close(self) -> None:
        if getattr(self, "_zip", None) is not None:
            self._zip.close()
        self._file.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


def open_npz(path: str | os.PathLike[str], who: str = "load") -> Archive:
    """Open the `.npz` at `path` and check everything but its data; `who` starts every error message."""
    return Archive(os.fspath(path), who)


def load_npz(path: str | os.PathLike[str], who: str = "load") -> dict[str, np.ndarray]:
    """Every array in the `.npz` at `path`, for a caller with no target to check them against.

    Without a target, what bounds the memory is the zip directory's sizes, themselves bounded by
    the file's size and deflate's ratio."""
    with open_npz(path, who) as archive:
        return {key: archive.read(key) for key in archive.headers}


def _open_regular_file(path: str, who: str) -> io.BufferedReader:
    where = f"{who}: {path!r}"
    if os.path.islink(path):
        raise ValueError(f"{where} is a symbolic link; refusing to follow it (load the file it points to by its path)")
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)  # O_NOFOLLOW: no link swapped in since the check above
    except FileNotFoundError:
        raise FileNotFoundError(f"{who}: no such file: {path!r}") from None
    except OSError as e:
        raise ValueError(f"{where} is not a readable .npz archive ({type(e).__name__}: {e.strerror})") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise ValueError(f"{where} is not a readable .npz archive: it is not a regular file (a folder, a device, a pipe)")
    return os.fdopen(fd, "rb")


def _open_zip(file: io.BufferedReader, where: str) -> zipfile.ZipFile:
    if file.read(len(_NPY_MAGIC)) == _NPY_MAGIC:
        raise ValueError(f"{where} holds a single .npy array, not an .npz archive of named arrays")
    file.seek(0)
    try:
        return zipfile.ZipFile(file)
    except (*_ERRORS, struct.error) as e:
        raise ValueError(f"{where} is not a readable .npz archive ({type(e).__name__}: {e})") from None


def _npy_entries(archive: zipfile.ZipFile, disk_size: int, where: str) -> dict[str, zipfile.ZipInfo]:
    """{key: entry} after checking every entry's directory record; refuses the first bad one."""
    infos = archive.infolist()
    counts = Counter(info.filename for info in infos)
    entries = {}
    for info in infos:
        name = info.filename

        def refuse(what: str) -> ValueError:
            return ValueError(f"{where} entry {name!r} {what}")  # noqa: B023 (raised at once)

        if counts[name] > 1:
            raise refuse(f"appears {counts[name]} times; an archive of named arrays holds each name once")
        if stat.S_ISLNK(info.external_attr >> 16):
            raise refuse("is a symbolic link, not an array")
        if info.is_dir() or not name.endswith(".npy"):
            raise refuse("is not a .npy array; an .npz archive of named arrays holds nothing else")
        if info.flag_bits & 0x1:
            raise refuse("is encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise refuse(f"is compressed with zip method {info.compress_type}; only stored and deflated entries are read")
        if info.header_offset + info.compress_size > disk_size:
            raise refuse(f"cannot be read: its {info.compress_size:,} compressed bytes would end past the end of "
                         f"the {disk_size:,}-byte file; the file is truncated")
        if info.compress_type == zipfile.ZIP_STORED and info.compress_size != info.file_size:
            raise refuse(f"is stored uncompressed but its sizes differ ({info.compress_size:,} and {info.file_size:,} "
                         "bytes); the zip directory is corrupt")
        if info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise refuse(f"claims to inflate {info.file_size:,} bytes from {info.compress_size:,}, more than deflate "
                         "can (a zip bomb or a forged zip directory); refused before inflating it")
        if info.compress_size > info.file_size + info.file_size // 8 + 1024:
            raise refuse(f"holds {info.compress_size:,} compressed bytes for the {info.file_size:,} it declares, more "
                         "than deflate makes of them (a zip bomb or a forged zip directory); refused before inflating it")
        entries[name[: -len(".npy")]] = info
    return entries


def _unreadable_dtype(dtype: np.dtype) -> str | None:
    """Why an entry of `dtype` is refused whatever the target, or None."""
    if dtype.hasobject:
        return "is an object array; only numeric arrays can be loaded (and loading never unpickles)"
    if dtype.fields is not None or dtype.subdtype is not None:
        return f"has a structured dtype {dtype}; only plain numeric arrays can be loaded"
    if dtype.kind not in "biufcUS" or dtype.itemsize == 0:
        return f"holds values of dtype {dtype}, not numbers"
    return None
