"""The shipped SRV example (docker/ha/dnsmasq-hotline.conf) served by dnsmasq for hagi:// tests.

Asterisk resolves SRV records through the system resolver, which only speaks to port 53,
so dnsmasq listens on a loopback address of its own (:data:`DNS_ADDRESS`) and the tests
run Asterisk in a mount namespace whose /etc/resolv.conf names it (root only).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import struct
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hotline.contract import HAGI_EXAMPLE_DOMAIN
from tests.integration.pbx import asterisk_binary
from tests.net import free_port

REPO = Path(__file__).resolve().parents[2]
HA = REPO / "docker" / "ha"
#: a loopback address nothing else uses; dnsmasq listens on its port 53
DNS_ADDRESS = "127.53.17.1"


def why_not() -> str | None:
    if asterisk_binary() is None:
        return "no Asterisk binary: set ASTERISK_BIN=/path/to/asterisk"
    if shutil.which("dnsmasq") is None and not Path("/usr/sbin/dnsmasq").exists():
        return "dnsmasq is not installed (.ci/run installs Debian's dnsmasq-base)"
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return "needs root and unshare (Asterisk's resolver points at dnsmasq in a mount namespace)"
    return None


def dnsmasq_config(path: Path, ports: dict[str, int]) -> None:
    """The shipped snippet with each target on 127.0.0.1 and its test port."""
    lines = []
    for line in (HA / "dnsmasq-hotline.conf").read_text(encoding="utf-8").splitlines():
        if line.startswith("srv-host="):
            name, target, _port, priority, weight = line.removeprefix("srv-host=").split(",")
            line = f"srv-host={name},{target},{ports[target]},{priority},{weight}"
        elif line.startswith("host-record="):
            line = f"host-record={line.removeprefix('host-record=').split(',')[0]},127.0.0.1"
        lines.append(line)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def srv_query(name: str, timeout: float = 5.0) -> list[tuple[int, int, int]]:
    """(priority, weight, port) of the SRV answers dnsmasq gives for ``name`` (one UDP query)."""
    question = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    query = (
        struct.pack(">HHHHHH", 0x4711, 0x0100, 1, 0, 0, 0) + question + struct.pack(">HH", 33, 1)
    )
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        sock.sendto(query, (DNS_ADDRESS, 53))
        reply = sock.recv(4096)
    count = struct.unpack(">H", reply[6:8])[0]
    at = 12 + len(question) + 4
    answers = []
    for _ in range(count):
        at += 2 if reply[at] & 0xC0 == 0xC0 else reply.index(b"\0", at) + 1 - at
        rtype, _cls, _ttl, length = struct.unpack(">HHIH", reply[at : at + 10])
        if rtype == 33:
            answers.append(struct.unpack(">HHH", reply[at + 10 : at + 16]))
        at += 10 + length
    return sorted(answers)


@contextlib.contextmanager
def dnsmasq(tmp_path: Path) -> Iterator[dict[str, int]]:
    """dnsmasq serving the shipped SRV example (rt-a, rt-b on free loopback ports); skips
    the test where it cannot run."""
    reason = why_not()
    if reason is not None:
        pytest.skip(reason)
    ports = {"rt-a.hotline.internal": free_port(), "rt-b.hotline.internal": free_port()}
    conf = tmp_path / "dnsmasq.conf"
    dnsmasq_config(conf, ports)
    proc = subprocess.Popen(
        [
            shutil.which("dnsmasq") or "/usr/sbin/dnsmasq",
            "--keep-in-foreground",
            f"--conf-file={conf}",
            "--no-resolv",
            "--no-hosts",
            f"--listen-address={DNS_ADDRESS}",
            "--bind-interfaces",
            "--port=53",
            f"--pid-file={tmp_path / 'dnsmasq.pid'}",
        ],
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 10
        while True:  # ready once it answers (no readiness line to wait on)
            try:
                answers = srv_query(f"_agi._tcp.{HAGI_EXAMPLE_DOMAIN}", timeout=0.5)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    output = proc.stderr.read().decode() if proc.stderr else ""
                    raise RuntimeError(f"dnsmasq did not start: {output}") from None
        assert answers == sorted(
            [(10, 100, ports["rt-a.hotline.internal"]), (20, 100, ports["rt-b.hotline.internal"])]
        )
        yield ports
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stderr is not None:
            proc.stderr.close()
