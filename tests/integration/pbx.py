"""A real Asterisk in a temporary directory, running the configs shipped in docker/asterisk/etc.

The shipped files are copied unchanged except for what only makes sense inside
the compose network, and every change is listed in :data:`REWRITES`:

* ``agi://hotline:4573`` (the compose service) becomes ``agi://127.0.0.1:<port>``;
* AMI binds to 127.0.0.1 on a free port instead of 0.0.0.0:5038;
* the SIP transports bind to 127.0.0.1 on a free port instead of 0.0.0.0:5060,
  and their external-address include is a file in the temporary directory,
  written by the container's own ``sip-external.sh`` with
  ``SIP_EXTERNAL_ADDRESS`` = :data:`EXTERNAL_ADDRESS`;
* ``asterisk.conf`` is the test's own: directories Asterisk writes to are inside
  the temporary directory, no ``runuser`` (the test's user runs Asterisk).

What Asterisk only reads comes from the installation the binary belongs to:
its data directory (XML documentation, which a default build cannot start
without; ``sounds/`` with ``beep`` and ``ss-noservice``; ``moh/`` for the
``default`` class) is the one compiled into the binary, e.g.
``/var/lib/asterisk`` for ``./configure`` with its defaults.  Set
``ASTERISK_DATADIR`` where that directory is elsewhere (a binary run from its
build tree), and ``ASTERISK_MODDIR`` for its modules likewise.

Modules the local Asterisk lacks (a build without chan_pjsip, say) are simply
not loaded: the shipped ``modules.conf`` uses ``autoload``.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tests.net import free_port

REPO = Path(__file__).resolve().parents[2]
SHIPPED_ETC = REPO / "docker" / "asterisk" / "etc"

#: how the shipped dialplan reaches the runtime inside the compose network
COMPOSE_AGI = "agi://hotline:4573"

#: the include that docker/asterisk/sip-external.sh writes in the container
CONTAINER_EXTERNAL_CONF = "/run/asterisk/pjsip_external.conf"
SIP_EXTERNAL_SCRIPT = REPO / "docker" / "asterisk" / "sip-external.sh"
#: the SIP_EXTERNAL_ADDRESS the tests give (a documentation address, RFC 5737)
EXTERNAL_ADDRESS = "192.0.2.10"

#: every change made to the shipped configs, for the record (and the report)
REWRITES = (
    f"extensions.conf: {COMPOSE_AGI} -> agi://127.0.0.1:<free port>",
    "manager.conf: bindaddr -> 127.0.0.1, port -> <free port>",
    "pjsip.conf: bind = 0.0.0.0:5060 -> 127.0.0.1:<free port>",
    f"pjsip.conf: {CONTAINER_EXTERNAL_CONF} -> <tmp>/run/pjsip_external.conf",
    "asterisk.conf: replaced by one whose writable directories are in the temporary directory",
)

BOOT_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0


def asterisk_binary() -> str | None:
    """``$ASTERISK_BIN``, else ``asterisk`` on PATH, else None."""
    configured = os.environ.get("ASTERISK_BIN")
    if configured:
        return configured if os.access(configured, os.X_OK) else None
    return shutil.which("asterisk")


class AsteriskFailed(RuntimeError):
    """Asterisk did not start or stop as expected; the message carries its console output."""


@dataclass(frozen=True)
class AmiAccount:
    username: str
    secret: str


def manager_account(manager_conf: str) -> AmiAccount:
    """The first AMI user in a manager.conf text (the runtime's)."""
    current = None
    for raw in manager_conf.splitlines():
        line = raw.split(";", 1)[0].strip()
        if line.startswith("[") and "]" in line:
            current = line[1 : line.index("]")]
        elif current not in (None, "general") and "=" in line:
            key, _, value = line.partition("=")
            if key.strip().lower() == "secret":
                assert current is not None
                return AmiAccount(current, value.strip())
    raise AsteriskFailed("manager.conf has no user with a secret")


def _set_general_option(text: str, key: str, value: str) -> str:
    """Replace ``key = ...`` in manager.conf's [general] section (it must be there)."""
    pattern = re.compile(rf"^(\s*{key}\s*=\s*)\S+", re.MULTILINE)
    general_end = text.find("\n[", text.find("[general]") + 1)
    head, tail = text[:general_end], text[general_end:]
    new_head, count = pattern.subn(rf"\g<1>{value}", head, count=1)
    if count != 1:
        raise AsteriskFailed(f"manager.conf [general] has no '{key} =' line to rewrite")
    return new_head + tail


@dataclass
class AsteriskLab:
    """One Asterisk process with the shipped configs, AMI and FastAGI on loopback."""

    binary: str
    root: Path
    agi_port: int
    ami_port: int
    sip_port: int = field(default_factory=free_port)
    account: AmiAccount = field(init=False)
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def etc(self) -> Path:
        return self.root / "etc"

    @property
    def config_file(self) -> Path:
        return self.etc / "asterisk.conf"

    @property
    def console_log(self) -> Path:
        return self.root / "console.log"

    @property
    def full_log(self) -> Path:
        return self.root / "log" / "full"

    @property
    def external_conf(self) -> Path:
        return self.root / "run" / "pjsip_external.conf"

    @property
    def sounds_dir(self) -> Path:
        """Where the runtime's prompts go (hotline's asterisk.sounds_dir)."""
        return self.root / "hotline-sounds"

    def prepare(self) -> None:
        """Copy the shipped configs and apply :data:`REWRITES`."""
        self.etc.mkdir(parents=True)
        for src in sorted(SHIPPED_ETC.iterdir()):
            if src.is_file() and src.name != "asterisk.conf":
                text = src.read_text(encoding="utf-8")
                text = text.replace(COMPOSE_AGI, f"agi://127.0.0.1:{self.agi_port}")
                if src.name == "pjsip.conf":
                    text = text.replace("bind = 0.0.0.0:5060", f"bind = 127.0.0.1:{self.sip_port}")
                    text = text.replace(CONTAINER_EXTERNAL_CONF, str(self.external_conf))
                if src.name == "manager.conf":
                    text = _set_general_option(text, "bindaddr", "127.0.0.1")
                    text = _set_general_option(text, "port", str(self.ami_port))
                    self.account = manager_account(text)
                (self.etc / src.name).write_text(text, encoding="utf-8")
        dirs = {
            "astetcdir": self.etc,
            "astvarlibdir": self.root / "lib",
            "astdbdir": self.root / "lib",
            "astkeydir": self.root / "lib",
            "astagidir": self.root / "agi-bin",
            "astspooldir": self.root / "spool",
            "astrundir": self.root / "run",
            "astlogdir": self.root / "log",
            "astcachedir": self.root / "cache",
        }
        lines = ["[directories]"]
        for key, path in dirs.items():
            path.mkdir(parents=True, exist_ok=True)
            lines.append(f"{key} => {path}")
        # read-only directories: the installation's own unless told otherwise
        for key, variable in (("astdatadir", "ASTERISK_DATADIR"), ("astmoddir", "ASTERISK_MODDIR")):
            configured = os.environ.get(variable)
            if configured:
                lines.append(f"{key} => {configured}")
        lines += ["", "[options]", "verbose = 3", ""]
        self.config_file.write_text("\n".join(lines), encoding="utf-8")
        subprocess.run(
            ["sh", str(SIP_EXTERNAL_SCRIPT), str(self.external_conf)],
            env={"PATH": os.environ.get("PATH", ""), "SIP_EXTERNAL_ADDRESS": EXTERNAL_ADDRESS},
            check=True,
            timeout=10,
        )
        self.sounds_dir.mkdir()

    def _cli(self, command: str, timeout: float = 10.0) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.binary, "-C", str(self.config_file), "-rx", command],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def cli(self, command: str) -> str:
        """Run one CLI command on the running Asterisk; its output."""
        result = self._cli(command)
        if result.returncode != 0:
            raise AsteriskFailed(f"asterisk -rx {command!r} failed: {result.stderr.strip()}")
        return result.stdout

    def console_tail(self, lines: int = 40) -> str:
        try:
            text = self.console_log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no console output)"
        return "\n".join(text.splitlines()[-lines:])

    def start(self, env: dict[str, str] | None = None, wrapper: Sequence[str] = ()) -> None:
        """Start Asterisk and return once it is fully booted (or raise with its output).

        ``env`` adds to Asterisk's environment, as compose.yaml's ``environment:`` does;
        ``wrapper`` is a command that execs the rest (e.g. into a mount namespace).
        """
        with self.console_log.open("wb") as console:
            self.process = subprocess.Popen(
                [*wrapper, self.binary, "-f", "-n", "-C", str(self.config_file)],
                env={**os.environ, **(env or {})},
                stdin=subprocess.DEVNULL,
                stdout=console,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + BOOT_TIMEOUT
        while True:
            if self.process.poll() is not None:
                raise AsteriskFailed(
                    f"Asterisk exited with {self.process.returncode} during start-up:\n"
                    + self.console_tail()
                    + self._datadir_hint()
                )
            # "core waitfullybooted" blocks until start-up is complete; it fails
            # at once while the control socket does not exist yet.
            result = self._cli("core waitfullybooted", timeout=BOOT_TIMEOUT)
            if result.returncode == 0 and "fully booted" in result.stdout.lower():
                return
            if time.monotonic() > deadline:
                self.stop()
                raise AsteriskFailed(
                    f"Asterisk not fully booted within {BOOT_TIMEOUT:g} s:\n" + self.console_tail()
                )
            time.sleep(0.1)  # polling a process start-up: there is no event to wait on

    def _datadir_hint(self) -> str:
        """What to set when Asterisk found no XML documentation in its data directory."""
        if "no existing documentation" not in self.console_tail():
            return ""
        return (
            "\nthis Asterisk reads its XML documentation from its data directory: "
            "set ASTERISK_DATADIR to the installation's (the directory holding "
            "documentation/ and sounds/, e.g. /var/lib/asterisk)"
        )

    def stop(self) -> None:
        """Stop Asterisk: politely, then by force."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(subprocess.TimeoutExpired, OSError):
            self._cli("core stop now", timeout=5.0)
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT)
