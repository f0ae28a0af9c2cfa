"""tools/apt-install (the Makefile's Debian packages): it waits while another apt or dpkg holds the lock,
says so once, and gives up after APT_WAIT seconds; any other failure is reported at once. Run against a
stand-in apt-get that is locked for its first calls."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "tools" / "apt-install"
LOCKED = "E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 4242 (apt-get)"


def run(tmp_path: Path, locked_calls: int, wait: int, other_error: str = "") -> subprocess.CompletedProcess:
    bin_ = tmp_path / "bin"
    bin_.mkdir()
    (bin_ / "apt-get").write_text(f"""#!/usr/bin/env bash
n=$(cat {tmp_path}/calls 2>/dev/null || echo 0); echo $((n + 1)) > {tmp_path}/calls
echo "$*" >> {tmp_path}/args
if [ "$n" -lt {locked_calls} ]; then echo "{LOCKED}" >&2; exit 100; fi
if [ -n "{other_error}" ]; then echo "{other_error}" >&2; exit 100; fi
exit 0
""")
    (bin_ / "sudo").write_text('#!/usr/bin/env bash\nexec "$@"\n')  # where the tests do not run as root
    for f in bin_.iterdir():
        f.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_}:{os.environ['PATH']}", "APT_WAIT": str(wait), "APT_POLL": "0"}
    return subprocess.run([str(SCRIPT), "graphviz"], capture_output=True, text=True, env=env, timeout=60)


def test_it_waits_for_the_lock_saying_so_once_then_installs(tmp_path):
    out = run(tmp_path, locked_calls=3, wait=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("waiting for it to finish (at most 60 s)") == 1 and "Installing graphviz" in out.stdout
    assert (tmp_path / "args").read_text().splitlines()[-2:] == ["-q update", "-q install -y graphviz"]


def test_it_gives_up_after_apt_wait_seconds_with_apts_message(tmp_path):
    out = run(tmp_path, locked_calls=10**6, wait=0)
    assert out.returncode == 1
    assert "Could not get lock" in out.stderr and "still taken after 0 s" in out.stderr


def test_another_failure_is_reported_at_once(tmp_path):
    out = run(tmp_path, locked_calls=0, wait=60, other_error="E: Unable to locate package graphviz")
    assert out.returncode == 1 and "Unable to locate package" in out.stderr
    assert (tmp_path / "calls").read_text().strip() == "1"
