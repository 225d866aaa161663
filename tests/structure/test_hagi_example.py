"""The shipped hagi:// example (docker/ha/): the dialplan is the contract's, and the dnsmasq
and BIND snippets publish the SRV records that dialplan asks for, the same in both."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from hotline.contract import (
    CONFIRM_CONTEXT,
    HAGI_EXAMPLE_DOMAIN,
    conf_lines,
    confirm_conf,
    hagi_base,
    hagi_srv_name,
    hotline_steps,
)
from tests.docker.test_asterisk_config import contexts

HA = Path(__file__).resolve().parents[2] / "docker" / "ha"
DIALPLAN = HA / "extensions-ha.conf"
DNSMASQ = HA / "dnsmasq-hotline.conf"
ZONE = HA / "hotline.internal.zone"

#: (name, target, port, priority, weight)
Srv = tuple[str, str, int, int, int]


def dnsmasq_srv(path: Path) -> tuple[set[Srv], dict[str, str]]:
    """srv-host and host-record lines of a dnsmasq config."""
    records, hosts = set(), {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        key, _, value = line.partition("=")
        fields = value.split(",")
        if key == "srv-host":
            name, target, port, priority, weight = fields
            records.add((name, target, int(port), int(priority), int(weight)))
        elif key == "host-record":
            hosts[fields[0]] = fields[1]
    return records, hosts


def _absolute(name: str, origin: str) -> str:
    return (name if name.endswith(".") else f"{name}.{origin}").rstrip(".")


def zone_srv(path: Path) -> tuple[set[Srv], dict[str, str]]:
    """SRV and A records of a BIND zone file written like the shipped one."""
    origin = ""
    records, hosts = set(), {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split(";", 1)[0].strip()
        if line.startswith("$ORIGIN"):
            origin = line.split()[1]
            continue

        srv = re.fullmatch(r"(\S+)\s+(?:\d+\s+)?IN\s+SRV\s+(\d+)\s+(\d+)\s+(\d+)\s+(\S+)", line)
        if srv:
            name, priority, weight, port, target = srv.groups()
            record = (_absolute(name, origin), _absolute(target, origin), int(port), int(priority))
            records.add((*record, int(weight)))
        a_record = re.fullmatch(r"(\S+)\s+(?:\d+\s+)?IN\s+A\s+(\S+)", line)
        if a_record:
            hosts[_absolute(a_record.group(1), origin)] = a_record.group(2)
    return records, hosts


def test_the_ha_dialplan_is_the_contract_with_hagi() -> None:
    shipped = contexts(DIALPLAN)
    base = hagi_base(HAGI_EXAMPLE_DOMAIN)
    assert shipped["hotline-in"] == conf_lines("100", hotline_steps("support", base))
    assert [f"[{CONFIRM_CONTEXT}]", *shipped[CONFIRM_CONTEXT]] == confirm_conf(base)
    assert ":" not in base.removeprefix("hagi://")  # a port would switch the SRV lookup off


def test_dnsmasq_and_bind_publish_the_same_records_the_dialplan_asks_for() -> None:
    dnsmasq, dnsmasq_hosts = dnsmasq_srv(DNSMASQ)
    zone, zone_hosts = zone_srv(ZONE)
    assert dnsmasq == zone
    assert {name for name, *_ in dnsmasq} == {hagi_srv_name(HAGI_EXAMPLE_DOMAIN)}
    # two runtimes, tried one after the other: distinct priorities, distinct targets
    assert len({r[3] for r in dnsmasq}) == len({r[1] for r in dnsmasq}) == 2
    targets = {r[1] for r in dnsmasq}
    assert targets <= set(dnsmasq_hosts)
    assert {t: dnsmasq_hosts[t] for t in targets} == {t: zone_hosts[t] for t in targets}


def test_dnsmasq_accepts_the_snippet(tmp_path: Path) -> None:
    binary = shutil.which("dnsmasq") or next(
        (p for p in ("/usr/sbin/dnsmasq",) if Path(p).exists()), None
    )
    if binary is None:
        pytest.skip("dnsmasq is not installed (.ci/run installs Debian's dnsmasq-base)")
    done = subprocess.run(
        [binary, "--test", f"--conf-file={DNSMASQ}"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "syntax check OK" in done.stderr
