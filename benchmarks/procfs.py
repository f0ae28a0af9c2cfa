"""What /proc says about a process and the processes under it: the playground benchmarks' meters."""

from __future__ import annotations

from pathlib import Path


def _read(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except (FileNotFoundError, ProcessLookupError):  # it has just ended
        return b""


def children(pid: int) -> list[int]:
    """The processes `pid` started, from /proc (a thread or child that ends meanwhile is skipped)."""
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except FileNotFoundError:
        return []
    return [int(c) for task in tasks for c in _read(f"{task}/children").split()]


def cpu_seconds(pid: int) -> float:
    """CPU time of a process and everything under it (utime + stime; none for one that has ended)."""
    stat = _read(f"/proc/{pid}/stat").decode()
    if not stat:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100 + sum(cpu_seconds(c) for c in children(pid))


def status_one(pid: int) -> dict[str, int]:
    """VmRSS (kB) and Threads of one process, from /proc (zeros for one that has ended; a zombie has no VmRSS)."""
    fields = dict(line.split(":", 1) for line in _read(f"/proc/{pid}/status").decode().splitlines())
    return {"rss": int(fields.get("VmRSS", "0 kB").split()[0]), "threads": int(fields.get("Threads", "0"))}


def status(pid: int) -> dict[str, int]:
    """VmRSS (kB) and Threads of a process and every process under it, from /proc."""
    out = status_one(pid)
    for child in children(pid):
        for key, value in status(child).items():  # a child that has just ended (Graphviz's dot) adds zeros
            out[key] += value
    return out
