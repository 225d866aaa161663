"""A throwaway PostgreSQL server for the tests: Debian's postgresql, started with initdb/pg_ctl.

``.ci/run`` installs the package; :class:`PostgresServer` makes a cluster in a
temporary directory, listening on a free loopback port with trust auth, and
removes it afterwards.  PostgreSQL refuses to run as root, so as root the
cluster belongs to the ``postgres`` user the package creates (``runuser``).
``stop()``/``start()`` let a test take the database away and bring it back.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.net import free_port


def pg_bindir() -> Path | None:
    """The newest Debian PostgreSQL bin directory (initdb, pg_ctl), else one on PATH."""
    dirs = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda d: int(Path(d).parent.name or 0)
    )
    for bindir in reversed(dirs):
        if (Path(bindir) / "initdb").exists():
            return Path(bindir)
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class PostgresUnavailable(Exception):
    """Why no PostgreSQL server could be started here (the tests skip with this line)."""


class PostgresServer:
    def __init__(self) -> None:
        bindir = pg_bindir()
        if bindir is None:
            raise PostgresUnavailable(
                "no PostgreSQL (initdb) installed: apt-get install postgresql (.ci/run does)"
            )
        self.bindir = bindir
        self.port = free_port()
        self.user = "hotline"
        self._run_as: list[str] = []
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                raise PostgresUnavailable("running as root and no 'postgres' user") from None
            self._run_as = ["runuser", "-u", "postgres", "--"]
        self.root = Path(tempfile.mkdtemp(prefix="hotline-pg-"))
        self.data = self.root / "data"
        if self._run_as:
            shutil.chown(self.root, "postgres")
        self.running = False

    def _pg(self, tool: str, *args: str) -> None:
        cmd = [*self._run_as, str(self.bindir / tool), *args]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            raise PostgresUnavailable(f"{tool} failed: {' / '.join(tail)}")

    def init(self) -> None:
        self._pg(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            self.user,
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c full_page_writes=off -c synchronous_commit=off"
        )
        self._pg(
            "pg_ctl",
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.root / "log"),
            "-w",
            "start",
        )
        self.running = True

    def stop(self) -> None:
        """Stop at once (fast shutdown: connections are cut, as in an outage)."""
        self._pg("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
        self.running = False

    def create_database(self, name: str) -> str:
        """A new empty database; returns its URL."""
        self._pg("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user, name)
        return self.url(name)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def close(self) -> None:
        try:
            if self.running:
                self._pg("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
