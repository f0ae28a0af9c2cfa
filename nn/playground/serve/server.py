"""`autodiff-playground --serve`: run the web application with uvicorn, in one worker process per core.

Binding the socket ourselves lets `--port 0` take a free port and print it before serving: the
first line printed is always `serving on http://HOST:PORT/`. With several workers (a class on one
server) each is a process of its own with its own socket on that port (SO_REUSEPORT), so the
kernel spreads the pages over them and a page's WebSocket, one connection, stays in its worker
for its life; the workers count the open pages together, so the limit is the server's. Ctrl-C
(SIGINT) or SIGTERM reaches the parent, which passes it on; each uvicorn closes its pages' sockets,
which ends their training loops.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import socket
import sys
import threading
import webbrowser
from typing import Any


def _bind(host: str, port: int, reuse_port: bool = False) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)  # listening before the address is printed: a client that reads it connects at once
    except BaseException:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def url(host: str, port: int) -> str:
    """The page's address: `http://127.0.0.1:8000/` (an IPv6 host in brackets)."""
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def workers_default() -> int:
    """One worker per core this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def _few_arenas() -> None:
    """Two malloc arenas per process (glibc): each page trains in a pool thread, and an arena per thread
    holds on to freed memory, so a server's memory would creep up as classes come and go."""
    try:
        ctypes.CDLL("libc.so.6").mallopt(-8, 2)  # M_ARENA_MAX
    except (OSError, AttributeError):  # not glibc: nothing to do
        pass


def trim_heap() -> None:
    """Hand malloc's free memory back to the system (glibc's `malloc_trim`): called when a worker's last
    page has left, since freed chunks below ones still in use otherwise stay in its heap (an hour of
    classes, docs/playground.md: the resident memory followed malloc's free memory, not the program's)."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to do
        pass


def _run(sock: socket.socket, host: str, pages: Any) -> None:
    """One worker: uvicorn serving the application on `sock` until interrupted."""
    import uvicorn  # the playground extra: run.main checks it is there before calling

    from nn.playground.serve.app import MAX_MESSAGE, create_app

    config = uvicorn.Config(
        create_app(host, pages), log_level="warning", ws_max_size=4 * MAX_MESSAGE,  # past it the socket closes; below, a message says why
        lifespan="off", timeout_graceful_shutdown=3,
    )
    try:
        uvicorn.Server(config).run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn shut down cleanly, then passes Ctrl-C on
        pass
    finally:
        sock.close()


def _worker(sock: socket.socket, host: str, pages: Any) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent passes Ctrl-C on as SIGTERM, once
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _run(sock, host, pages)


def serve(host: str = "127.0.0.1", port: int = 8000, open_browser: bool = True, prog: str = "autodiff-playground",
          workers: int = 0) -> int:
    """Serve the playground page on `host:port` with `workers` processes (0: one per core) until interrupted."""
    from nn.playground.serve.app import PageCount

    _few_arenas()
    workers = workers or workers_default()
    many = workers > 1
    try:
        socks = [_bind(host, port, reuse_port=many)]
        for _ in range(workers - 1):
            socks.append(_bind(host, socks[0].getsockname()[1], reuse_port=True))
    except OSError as e:
        for s in locals().get("socks", []):
            s.close()
        print(f"{prog}: error: cannot listen on {host}:{port}: {e.strerror or e}", file=sys.stderr)
        return 1
    address = url(host, socks[0].getsockname()[1])
    print(f"serving on {address}", flush=True)
    print(f"open it in a browser; press Ctrl-C to stop ({workers} worker process{'es' if many else ''})", flush=True)
    if open_browser:
        threading.Timer(0.5, webbrowser.open, args=(address,)).start()
    if not many:
        _run(socks[0], host, PageCount())
        print("stopped", flush=True)
        return 0
    # fork: the workers start at once with what this process has imported (spawn would import it all again)
    context = multiprocessing.get_context("fork")
    pages = PageCount(context.Value("i", 0))
    procs = [context.Process(target=_worker, args=(s, host, pages), daemon=True) for s in socks]
    for p in procs:
        p.start()
    for s in socks:
        s.close()  # the workers hold them now

    def stop(signum: int, frame: Any) -> None:
        for p in procs:
            if p.is_alive():
                os.kill(p.pid, signal.SIGTERM)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        for p in procs:
            p.join()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print("stopped", flush=True)
    return 0
