"""docker/compose.yaml's "ha" profile: two runtimes sharing Redis behind hagi:// (checked
statically, like the rest of the compose file: no Docker engine runs here; its services run
natively in tests/docker/test_compose_ha_native.py, its PBX side in
tests/integration/test_hagi_failover.py)."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path

import yaml

from hotline.config import load_settings
from hotline.contract import CONFIRM_CONTEXT, HAGI_EXAMPLE_DOMAIN, confirm_conf, hagi_base
from tests.docker.test_asterisk_config import contexts
from tests.docker.test_compose import (
    DOCKER,
    ETC,
    REPO,
    SAMPLE_ENV,
    compose,
    compose_config,
    service_env,
)
from tests.structure.test_hagi_example import DNSMASQ, dnsmasq_srv

HA = {"redis", "dns", "asterisk-ha", "hotline-a", "hotline-b"}
RUNTIMES = ("hotline-a", "hotline-b")


def test_the_profile_holds_redis_dns_a_pbx_and_two_runtimes() -> None:
    services = compose()["services"]
    assert {name for name, s in services.items() if s.get("profiles") == ["ha"]} == HA
    assert all("profiles" not in s for name, s in services.items() if name not in HA)


def test_both_runtimes_share_redis_and_serve_the_ha_pbx() -> None:
    ids = []
    for name in RUNTIMES:
        settings = load_settings(
            REPO / "config" / "hotline.toml", environ=service_env(name, SAMPLE_ENV)
        )
        assert settings.state.where() == "redis://redis:6379"
        assert settings.asterisk.host == "asterisk-ha"
        ids.append(settings.state.runtime_id)
    assert ids == ["rt-a", "rt-b"]


def test_the_srv_targets_are_the_runtimes_addresses_in_priority_order() -> None:
    services = compose()["services"]
    records, hosts = dnsmasq_srv(DNSMASQ)
    ordered = [target for *_, target in sorted((r[3], r[1]) for r in records)]
    addresses = [services[name]["networks"]["ha"]["ipv4_address"] for name in RUNTIMES]
    assert [hosts[target] for target in ordered] == addresses
    ports = {r[2] for r in records}
    assert ports == {int(service_env(name, SAMPLE_ENV)["HOTLINE_AGI__PORT"]) for name in RUNTIMES}
    dns_address = services["dns"]["networks"]["ha"]["ipv4_address"]
    assert services["asterisk-ha"]["dns"] == [dns_address]
    subnet = ipaddress.ip_network(compose()["networks"]["ha"]["ipam"]["config"][0]["subnet"])
    assert all(ipaddress.ip_address(a) in subnet for a in [*addresses, dns_address])
    dockerfile = (DOCKER / "ha" / "Dockerfile").read_text(encoding="utf-8")
    assert f"COPY {DNSMASQ.name} " in dockerfile


def test_the_ha_pbx_runs_the_shipped_dialplan_with_hagi(tmp_path: Path) -> None:
    """asterisk-ha's entrypoint rewrite turns the shipped dialplan into the contract with hagi."""
    entrypoint = " ".join(compose()["services"]["asterisk-ha"]["entrypoint"])
    old, new = re.findall(r"s#([^#]+)#([^#]+)#g", entrypoint)[0]
    assert new == hagi_base(HAGI_EXAMPLE_DOMAIN)
    rewritten = tmp_path / "extensions.conf"
    rewritten.write_text((ETC / "extensions.conf").read_text(encoding="utf-8").replace(old, new))
    shipped = contexts(rewritten)
    assert [f"[{CONFIRM_CONTEXT}]", *shipped[CONFIRM_CONTEXT]] == confirm_conf(new)
    agi = re.findall(r"AGI\(([a-z]+://[^/]+)/", "\n".join(shipped["hotline-in"]))
    assert agi
    assert set(agi) == {new}


def test_compose_gives_the_runtimes_the_environment_these_tests_read(tmp_path: Path) -> None:
    """What Docker Compose itself resolves (anchors, merge keys, ${...}) for hotline-a and
    hotline-b is what ``service_env`` reads, so the native run of the profile
    (test_compose_ha_native.py) gives the runtimes what their containers would get."""
    result = compose_config(tmp_path, "--profile", "ha")
    assert result.returncode == 0, result.stderr
    services = yaml.safe_load(result.stdout)["services"]
    for name in RUNTIMES:
        resolved = {k: str(v) for k, v in services[name]["environment"].items()}
        assert resolved == service_env(name, SAMPLE_ENV), name
