"""A throw-away ``redis-server`` (Debian's package) for tests and benchmarks.

Started on a free loopback port with its files in a temporary directory, no
persistence (a restart is an empty Redis, the worst case for catching up),
and stopped, paused (``SIGSTOP``: a Redis that accepts but never answers) or
restarted on the same port by the test.  Readiness is its own
"Ready to accept connections" line, never a sleep.
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
import time
from pathlib import Path

from tests.net import free_port

READY = b"Ready to accept connections"
START_TIMEOUT = 10.0


class RedisServer:
    """One redis-server process; :meth:`start` again after :meth:`stop` reuses the port."""

    def __init__(self, workdir: Path, binary: str | None = None) -> None:
        self.workdir = workdir
        self.binary = binary or shutil.which("redis-server") or "redis-server"
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = workdir / "redis.log"

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        proc = subprocess.Popen(
            [
                self.binary,
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "no",
                "--dir", str(self.workdir),
                "--daemonize", "no",
                "--loglevel", "notice",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        assert proc.stdout is not None
        deadline = time.monotonic() + START_TIMEOUT
        seen = b""
        while READY not in seen:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([proc.stdout], [], [], max(0.0, left))
            chunk = os.read(proc.stdout.fileno(), 65536) if ready else b""
            if not chunk:
                proc.kill()
                proc.wait()
                tail = seen.decode(errors="replace").strip().splitlines()[-3:]
                raise RuntimeError(f"redis-server did not start on port {self.port}: {tail}")
            seen += chunk
        self.log.write_bytes(seen)
        self.proc = proc

    def stop(self) -> None:
        """Shut it down (connections are refused from now on)."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        proc.send_signal(signal.SIGCONT)
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()

    def pause(self) -> None:
        """Freeze it: connections are accepted by the kernel, nothing is answered."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)


def redis_available() -> str | None:
    """None when redis-server can be run, else why not (a one-line skip reason)."""
    if shutil.which("redis-server") is None:
        return "redis-server is not installed (.ci/run installs Debian's redis-server)"
    return None
