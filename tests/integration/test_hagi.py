"""hagi:// on a real Asterisk: the shipped SRV records and dialplan (docker/ha/), failover, and
what the dialplan does when the runtime serving a call dies.

Asterisk resolves SRV records through the system resolver (res_agi.c
``ast_srv_lookup``, main/dns.c ``res_nsearch``), which reads /etc/resolv.conf
and only speaks to port 53.  So the test runs dnsmasq with the shipped
snippet (targets and ports rewritten to loopback test servers) on a loopback
address's port 53, and Asterisk in a private mount namespace where
/etc/resolv.conf names that address (``unshare -m`` + a bind mount: root only,
nothing changes for the rest of the machine).  Runtime A's port refuses;
"runtime" B accepts, answers one command and dies (the socket closed hard).
"""

# Every wait here has its own bound; that is the point of these helpers.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import re
import shutil
import socket
import struct
import subprocess
import time
from pathlib import Path

import pytest

from hotline.contract import HAGI_EXAMPLE_DOMAIN, STOCK_MESSAGE, hotline_route
from tests.integration.hagi_dns import DNS_ADDRESS, HA
from tests.integration.pbx import asterisk_binary


def asterisk_root(root: Path) -> Path:
    """A minimal Asterisk: the shipped HA dialplan, res_agi and what it needs, verbose 3."""
    etc = root / "etc"
    etc.mkdir(parents=True)
    dirs = {key: root / key for key in ("lib", "spool", "run", "log", "cache", "agi-bin")}
    for path in dirs.values():
        path.mkdir()
    (etc / "asterisk.conf").write_text(
        "[directories]\n"
        f"astetcdir => {etc}\nastvarlibdir => {dirs['lib']}\nastdbdir => {dirs['lib']}\n"
        f"astkeydir => {dirs['lib']}\nastagidir => {dirs['agi-bin']}\n"
        f"astspooldir => {dirs['spool']}\nastrundir => {dirs['run']}\n"
        f"astlogdir => {dirs['log']}\nastcachedir => {dirs['cache']}\n"
        "[options]\nverbose = 3\n",
        encoding="utf-8",
    )
    (etc / "modules.conf").write_text(
        "[modules]\nautoload = no\n"
        + "".join(
            f"load = {m}\n"
            for m in (
                "pbx_config.so",
                "res_speech.so",
                "res_agi.so",
                "app_playback.so",
                "res_clioriginate.so",
            )
        ),
        encoding="utf-8",
    )
    # a log file, not the console: Asterisk's stdout to a file is block-buffered
    (etc / "logger.conf").write_text("[logfiles]\nfull => notice,warning,error,verbose\n")
    shutil.copy(HA / "extensions-ha.conf", etc / "extensions.conf")
    (root / "resolv.conf").write_text(f"nameserver {DNS_ADDRESS}\n", encoding="utf-8")
    return etc / "asterisk.conf"


BOOT_TIMEOUT = 30.0

pytestmark = pytest.mark.integration


class Asterisk:
    """Asterisk in its own mount namespace, /etc/resolv.conf pointing at the test's dnsmasq."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.config = asterisk_root(root)
        self.console = root / "console.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = asterisk_binary()
        assert binary is not None
        script = (
            f"mount --bind {self.root / 'resolv.conf'} /etc/resolv.conf && "
            f"exec {binary} -f -n -C {self.config}"
        )
        with self.console.open("wb") as out:
            self.proc = subprocess.Popen(
                ["unshare", "-m", "sh", "-c", script],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        done = self.cli("core waitfullybooted", timeout=BOOT_TIMEOUT, retry=True)
        assert "fully booted" in done.lower(), self.text()

    def cli(self, command: str, timeout: float = 10.0, retry: bool = False) -> str:
        binary = asterisk_binary()
        assert binary is not None
        deadline = time.monotonic() + timeout
        while True:
            result = subprocess.run(
                [binary, "-C", str(self.config), "-rx", command],
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
            if result.returncode == 0 or not retry or time.monotonic() > deadline:
                return result.stdout
            time.sleep(0.1)  # the control socket appears when Asterisk is up: no event

    def text(self) -> str:
        path = self.root / "log" / "full"
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""

    async def wait_for(self, pattern: str, timeout: float) -> re.Match[str]:
        """The first console line matching ``pattern`` (polled: Asterisk announces nothing)."""
        deadline = time.monotonic() + timeout
        while True:
            match = re.search(pattern, self.text())
            if match:
                return match
            if time.monotonic() > deadline:
                raise AssertionError(f"no {pattern!r} within {timeout:g} s:\n{self.text()[-3000:]}")
            await asyncio.sleep(0.1)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.cli("core stop now")
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


async def test_a_refused_runtime_fails_over_and_a_dying_one_leaves_the_call_to_the_dialplan(
    dns: dict[str, int], tmp_path: Path
) -> None:
    headers: asyncio.Queue[dict[str, str]] = asyncio.Queue()

    async def runtime_b(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        header = {}
        while line := (await reader.readline()).decode().strip():
            key, _, value = line.partition(": ")
            header[key] = value
        writer.write(b"ANSWER\n")
        await writer.drain()
        header["reply"] = (await reader.readline()).decode().strip()
        # die: the socket closed hard, as the kernel does for a killed process
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.close()
        await headers.put(header)

    server = await asyncio.start_server(runtime_b, "127.0.0.1", dns["rt-b.hotline.internal"])
    asterisk = Asterisk(tmp_path / "asterisk")
    try:
        await asyncio.to_thread(asterisk.start)
        await asyncio.to_thread(
            asterisk.cli, "channel originate Local/100@hotline-in application Wait 10"
        )
        header = await asyncio.wait_for(headers.get(), 20)
        # A's port refused: Asterisk went on to the next SRV record at once
        a_port = dns["rt-a.hotline.internal"]
        failed = rf"AGI request failed for host '{HAGI_EXAMPLE_DOMAIN}' \(rt-a\S+:{a_port}\)"
        await asterisk.wait_for(failed, 10)
        route = hotline_route("support")
        assert header["agi_network_script"] == route
        # the runtime sees the URL as written in the dialplan, not the server it reached
        assert header["agi_request"] == f"hagi://{HAGI_EXAMPLE_DOMAIN}/{route}"
        assert header["agi_network"] == "yes"
        assert header["reply"].startswith("200 result=0")
        # B died mid-call: AGI returned with the caller up, the dialplan went on (its fallback)
        completed = await asterisk.wait_for(r"AGI Script \S+ completed, returning (\d+)", 10)
        assert completed.group(1) == "0"  # AGISTATUS=SUCCESS: the same as a normal close
        await asterisk.wait_for(
            rf"Executing \[100@hotline-in:2\] Playback\(\"[^\"]+\", \"{STOCK_MESSAGE}\"\)", 10
        )
    finally:
        await asyncio.to_thread(asterisk.stop)
        server.close()
        await server.wait_closed()
