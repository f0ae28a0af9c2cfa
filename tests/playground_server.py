"""Start `autodiff-playground --serve` as a user does, on 127.0.0.1 and a free port, and stop it with Ctrl-C."""

from __future__ import annotations

import contextlib
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass
class Server:
    url: str
    process: subprocess.Popen

    @property
    def socket_url(self) -> str:
        return self.url.replace("http://", "ws://") + "ws"


@contextlib.contextmanager
def running_server(*extra: str) -> Iterator[Server]:
    """The server as a child process; its first line says where it serves. Stopped by SIGINT, as Ctrl-C does."""
    process = subprocess.Popen(
        [sys.executable, "-m", "nn.playground", "--serve", "--port", "0", "--no-open", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        first = process.stdout.readline()
        match = re.fullmatch(r"serving on (http://127\.0\.0\.1:\d+/)\n", first)
        assert match, f"first line {first!r}; stderr: {process.stderr.read() if process.poll() is not None else ''}"
        yield Server(match.group(1), process)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        process.stdout.close()
        process.stderr.close()
