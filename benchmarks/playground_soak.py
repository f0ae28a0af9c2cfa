"""`python -m benchmarks.playground_soak`: the playground server under a class for an hour, and its memory.

Rounds of pages come and go, as `tests/test_playground_soak.py` runs them for a few seconds: each
page plays, sends bad messages now and then (not JSON, an unknown type, a bad setting, 300 KB of
text), and leaves, a third of them in the middle of a step. After each round, once the pages'
loops have ended, it prints the resident memory of the server and of each of its worker processes,
their threads, and how much of each worker's memory is the main heap (brk) and how much other
anonymous mappings (malloc's other arena, Python's object arenas, buffers mapped on their own), and
appends the round to a CSV; at the end a markdown table, a row per `--every` minutes with the lowest
and highest memory after its rounds. Exit status 1 if a page met an error or hung, or the memory
was not bounded as `unbounded` says.

    nice -n 19 .venv/bin/python -m benchmarks.playground_soak --minutes 60 --pages 40 --csv soak.csv --markdown soak.md
    .venv/bin/python -m benchmarks.playground_soak --table soak.csv --every 10   # the table again, from the CSV
"""

from __future__ import annotations

import argparse
import csv
import json
import threading
import time
import warnings
from pathlib import Path

from websockets.sync.client import connect

from benchmarks.playground import start, stop
from benchmarks.procfs import _read, children, status, status_one

# What "bounded" means here (docs/playground.md has the hour it comes from). glibc's malloc keeps much of
# what a round's pages used at their peak as free memory in its heap, so memory rises over the first
# rounds, by an amount that grows with the class, and then wanders below a ceiling.
PER_PAGE_KB = 3_000  # the most the server may keep for each page of the class (an hour at 40 pages: 2.3 MB)
WARM_ROUNDS = 32  # rounds it may take to reach that ceiling (the hour's highest came in its 24th round)
NO_NEW_HIGH_KB = 8_000  # how far past the warm-up's highest memory a later round may go


def unbounded(growth: list[int], pages: int) -> str | None:
    """Why the memory after a run's rounds (kB since the first page, one number a round) is not bounded,
    or None: past PER_PAGE_KB for each page, or, in a run longer than its warm-up, a new high after it."""
    if max(growth) >= pages * PER_PAGE_KB:
        return f"grew by {max(growth):,} kB, more than {PER_PAGE_KB:,} kB for each of {pages} pages"
    if len(growth) > WARM_ROUNDS and max(growth[WARM_ROUNDS:]) >= max(growth[:WARM_ROUNDS]) + NO_NEW_HIGH_KB:
        return (f"after its first {WARM_ROUNDS} rounds (high {max(growth[:WARM_ROUNDS]):,} kB) it reached "
                f"{max(growth[WARM_ROUNDS:]):,} kB")
    return None


def workers(pid: int) -> list[int]:
    """The server's worker processes ([] when it serves alone, in `pid`)."""
    return [c for c in children(pid) if b"nn.playground" in _read(f"/proc/{c}/cmdline")]


def memory_map(pid: int) -> dict[str, int]:
    """kB resident of one process by kind, from /proc/PID/smaps: the main heap (brk), other anonymous
    mappings (malloc's arenas of other threads, buffers malloc maps on their own), and files (code)."""
    out = {"heap": 0, "anon": 0, "file": 0}
    kind = "file"
    for line in _read(f"/proc/{pid}/smaps").decode().splitlines():
        first = line.split(maxsplit=6)
        if first and "-" in first[0] and not first[0].endswith(":"):  # a mapping's header line
            name = first[5] if len(first) > 5 else ""
            kind = "heap" if name == "[heap]" else "file" if name.startswith("/") else "anon"
        elif first and first[0] == "Rss:":
            out[kind] += int(first[1])
    return out


def page(url: str, n: int, errors: list[str], seconds: float) -> None:
    """One page: play, say odd things now and then, and leave (some in the middle of a step)."""
    try:
        with connect(url, max_size=2**24) as ws:
            ws.send(json.dumps({"type": "set", "settings": {"hidden": str(4 + n % 5), "speed": "10"}}))
            ws.send(json.dumps({"type": "play"}))
            end, frames = time.monotonic() + seconds, 0
            while time.monotonic() < end or frames == 0:  # a loaded machine: play on until the first frame
                m = json.loads(ws.recv(timeout=30))
                frames += m["type"] == "frame"
                if frames % 7 == 3:
                    ws.send(["not json", '{"type": "nope"}', json.dumps({"type": "set", "settings": {"lr": "-1"}}),
                             "x" * 300_000][frames % 4])
            if n % 3 == 0:
                ws.send(json.dumps({"type": "step"}))  # and close without waiting for it
    except Exception as e:
        errors.append(f"page {n}: {type(e).__name__}: {e}")


def play_round(url: str, pages: int, seconds: float) -> tuple[list[str], bool]:
    """`pages` pages at once for `seconds`, then all gone: the pages' errors, and whether all of them ended."""
    errors: list[str] = []
    threads = [threading.Thread(target=page, args=(url, n, errors, seconds)) for n in range(pages)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=90 + seconds)
    return errors, not any(t.is_alive() for t in threads)


def settle(pid: int, threads: int, seconds: float = 30) -> dict[str, int]:
    """The server's `status` once it runs at most `threads` threads again (its pages' loops end as it notices
    their sockets closed), or after `seconds`."""
    deadline = time.monotonic() + seconds
    while (now := status(pid))["threads"] > threads and time.monotonic() < deadline:
        time.sleep(0.1)
    return now


def extra_threads(pid: int) -> int:
    """Threads a server may keep beyond those it had before any page: its pools, 8 per worker process."""
    return 8 * max(1, len(workers(pid)))


def soak(minutes: float, pages: int, round_seconds: float, workers_wanted: int, out: Path | None) -> list[dict]:
    """Rounds of `pages` pages, each playing `round_seconds`, for `minutes`: a row per round (also written to `out`)."""
    server, url, _ = start(workers_wanted)
    rows: list[dict] = []
    try:
        pid = server.pid
        for _ in range(2 * max(1, len(workers(pid)))):  # a first page in each worker loads numpy's and our code
            with connect(url) as ws:
                ws.recv(timeout=30)
        time.sleep(0.5)
        before = status(pid)
        limit = before["threads"] + extra_threads(pid)
        started = time.monotonic()
        writer = None
        with open(out, "w", newline="") if out else open("/dev/null", "w") as f:
            r = 0
            while time.monotonic() - started < minutes * 60:
                r += 1
                errors, ended = play_round(url, pages, round_seconds)
                now = settle(pid, limit)
                row = {"round": r, "minutes": round((time.monotonic() - started) / 60, 2), "pages": pages,
                       "errors": len(errors), "hung": int(not ended), "start_kb": before["rss"], "rss_kb": now["rss"],
                       "threads": now["threads"], "server_kb": status_one(pid)["rss"]}
                for i, w in enumerate(workers(pid) or [pid]):
                    m = memory_map(w)
                    row.update({f"w{i}_rss_kb": status_one(w)["rss"], f"w{i}_heap_kb": m["heap"],
                                f"w{i}_anon_kb": m["anon"]})
                rows.append(row)
                if writer is None:
                    writer = csv.DictWriter(f, fieldnames=list(row))
                    writer.writeheader()
                writer.writerow(row)
                f.flush()
                print(f"round {r:4d} {row['minutes']:6.1f} min: server+workers {now['rss'] / 1024:7.1f} MB "
                      f"({now['rss'] - before['rss']:+,} kB since start), threads {now['threads']} (limit {limit}), "
                      + " ".join(f"w{i} {row[f'w{i}_rss_kb'] / 1024:.1f} MB (heap {row[f'w{i}_heap_kb'] / 1024:.1f}, "
                                 f"anon {row[f'w{i}_anon_kb'] / 1024:.1f})" for i in range(len(workers(pid)) or 1))
                      + (f"; {len(errors)} errors, first: {errors[0]}" if errors else "") + ("; HUNG pages" if not ended else ""),
                      flush=True)
        with connect(url) as ws:  # and it still serves
            assert json.loads(ws.recv(timeout=30))["type"] == "hello"
    finally:
        stop(server)
    return rows


def markdown(rows: list[dict], every: float) -> str:
    """The soak as a table, a row per `every` minutes: the rounds that ended in it, the lowest and highest
    memory after them (one round's pages can leave 20 MB more or less in malloc than the next's), the
    workers' after the last, the most threads, and the pages' errors."""
    start = rows[0]["start_kb"]
    lines = ["| minutes | rounds | server + workers, MB (since start) | workers after the last, MB | threads | page errors |",
             "|---|---:|---|---|---:|---:|"]
    windows: dict[int, list[dict]] = {}
    for row in rows:
        windows.setdefault(int(row["minutes"] // every), []).append(row)
    for w, rs in sorted(windows.items()):
        lo, hi = min(r["rss_kb"] for r in rs), max(r["rss_kb"] for r in rs)
        last = rs[-1]
        ws = " + ".join(f"{last[k] / 1024:.1f}" for k in last if k.startswith("w") and k.endswith("_rss_kb"))
        lines.append(f"| {w * every:g}–{(w + 1) * every:g} | {len(rs)} | {lo / 1024:.0f}–{hi / 1024:.0f} "
                     f"({(lo - start) / 1024:+.0f} to {(hi - start) / 1024:+.0f}) | {ws} | {max(r['threads'] for r in rs)} | "
                     f"{sum(r['errors'] + r['hung'] for r in rs)} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.playground_soak", description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=60.0, help="how long pages come and go (default: %(default)s)")
    ap.add_argument("--pages", type=int, default=40, help="pages at once in each round (default: %(default)s)")
    ap.add_argument("--round-seconds", type=float, default=10.0, help="each page's playing time (default: %(default)s)")
    ap.add_argument("--workers", type=int, default=0, help="server processes (default: one per core)")
    ap.add_argument("--every", type=float, default=5.0, help="minutes between the markdown table's rows (default: %(default)s)")
    ap.add_argument("--csv", type=Path, help="write every round here")
    ap.add_argument("--markdown", type=Path, help="write the table here")
    ap.add_argument("--table", type=Path, metavar="CSV", help="no soak: tabulate the rounds of an earlier run's CSV")
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    if args.table:
        with open(args.table, newline="") as f:
            rows = [{k: float(v) if k == "minutes" else int(v) for k, v in row.items()} for row in csv.DictReader(f)
                    if all(row.values())]  # not a round still being written
    else:
        rows = soak(args.minutes, args.pages, args.round_seconds, args.workers, args.csv)
    table = markdown(rows, args.every)
    print(table)
    if args.markdown:
        args.markdown.write_text(table)
    why = unbounded([r["rss_kb"] - r["start_kb"] for r in rows], rows[0]["pages"])
    if why:
        print(f"memory not bounded: {why}")
    return 1 if why or any(r["errors"] or r["hung"] for r in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())
