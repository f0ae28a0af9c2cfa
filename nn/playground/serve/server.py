"""`autodiff-playground --serve`: run the web application with uvicorn on a socket bound here.

Binding the socket ourselves lets `--port 0` take a free port and print it before serving: the
first line printed is always `serving on http://HOST:PORT/`. Ctrl-C (SIGINT) or SIGTERM stops
uvicorn, which closes every page's socket and so ends its training loop.
"""

from __future__ import annotations

import socket
import sys
import threading
import webbrowser


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
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


def serve(host: str = "127.0.0.1", port: int = 8000, open_browser: bool = True, prog: str = "autodiff-playground") -> int:
    """Serve the playground page on `host:port` until interrupted; returns the exit status."""
    import uvicorn  # the playground extra: run.main checks it is there before calling

    from nn.playground.serve.app import MAX_MESSAGE, create_app

    try:
        sock = _bind(host, port)
    except OSError as e:
        print(f"{prog}: error: cannot listen on {host}:{port}: {e.strerror or e}", file=sys.stderr)
        return 1
    address = url(host, sock.getsockname()[1])
    print(f"serving on {address}", flush=True)
    print("open it in a browser; press Ctrl-C to stop", flush=True)
    config = uvicorn.Config(
        create_app(host), log_level="warning", ws_max_size=4 * MAX_MESSAGE,  # past it the socket closes; below, a message says why
        lifespan="off", timeout_graceful_shutdown=3,
    )
    if open_browser:
        threading.Timer(0.5, webbrowser.open, args=(address,)).start()
    try:
        uvicorn.Server(config).run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn shut down cleanly, then passes Ctrl-C on
        pass
    finally:
        sock.close()
    print("stopped", flush=True)
    return 0
