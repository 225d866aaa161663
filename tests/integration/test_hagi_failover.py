"""Two real runtimes behind ``hagi://`` on a real Asterisk: the one serving a caller dies.

The lab Asterisk runs the shipped configs (tests/integration/pbx.py) with the dialplan's
``agi://hotline:4573`` turned into ``hagi://hotline.internal`` exactly as the compose
"ha" profile's asterisk-ha does, and resolves the SRV records of the shipped dnsmasq
example (docker/ha/dnsmasq-hotline.conf, through test_hagi's ``dns`` fixture: rt-a
first, rt-b next).  Both runtimes are licensed processes of their own
(tests/integration/runtime_proc.py) sharing a real redis-server.

Runtime A takes the call and rings a parallel step: 200 (rings for ever) and 201, whose
leg waits 4 s before dialling (the target's ``delay``).  A is SIGKILLed while 201's leg
waits; then 201 answers, its confirm AGI finds A's port refused and runtime B serves it,
201 presses 1 and is bridged (the bridge is Asterisk's).  When the agent hangs up, Dial
returns to an AGI whose runtime is gone: the AGI ends with the caller up and the
dialplan's next priorities run (the stock message).  The next call goes to B.
"""

# Every wait here has its own bound; that is the point of these helpers.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from hotline.ami.client import AmiClient
from hotline.ami.messages import header_value
from hotline.contract import HAGI_EXAMPLE_DOMAIN, STOCK_MESSAGE, hagi_base, hotline_route
from hotline.licensing.model import InstallationIdentity
from hotline.licensing.vendor import generate_keypair, issue_key
from hotline.prompts.store import install_default_prompts
from tests.integration.conftest import NO_ASTERISK, phone_side
from tests.integration.hagi_dns import DNS_ADDRESS
from tests.integration.harness import (
    LAB_SERVER_KEY,
    AmiEvents,
    bridged_agent,
    hotline_toml,
    lab_environment,
    write_config,
)
from tests.integration.pbx import REPO, AsteriskLab, asterisk_binary
from tests.net import free_port
from tests.redisd import RedisServer, redis_available

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

HAGI = hagi_base(HAGI_EXAMPLE_DOMAIN)
ROUTE = hotline_route("support")


class RuntimeProcess:
    """One licensed runtime in its own process; its JSON log lines from the file it writes."""

    def __init__(self, name: str, log: Path) -> None:
        self.name = name
        self.log = log
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self, config: Path, public_key: Path, env: Mapping[str, str]) -> int:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.integration.runtime_proc",
            str(config),
            str(public_key),
            str(self.log),
            cwd=REPO,
            env={**os.environ, **env},
            stdout=asyncio.subprocess.PIPE,
        )
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(self.proc.stdout.readline(), 30)
        assert line, f"{self.name} did not start:\n{self.text()[-3000:]}"
        port: int = json.loads(line)["port"]
        return port

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8") if self.log.exists() else ""

    def events(self, name: str) -> list[dict[str, Any]]:
        lines = (json.loads(line) for line in self.text().splitlines() if line.strip())
        return [e for e in lines if e.get("event") == name]

    async def event(self, name: str, timeout: float, **fields: Any) -> dict[str, Any]:
        """The first ``name`` line with ``fields`` (polled: the log is another process's)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            for event in self.events(name):
                if all(event.get(k) == v for k, v in fields.items()):
                    return event
            if loop.time() > deadline:
                raise AssertionError(f"{self.name}: no {name} {fields} within {timeout:g} s")
            await asyncio.sleep(0.1)

    async def kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), 20)
            except TimeoutError:
                await self.kill()


async def full_log_line(lab: AsteriskLab, pattern: str, timeout: float) -> re.Match[str]:
    """The first line of Asterisk's ``full`` log matching ``pattern`` (polled)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        text = lab.full_log.read_text(errors="replace") if lab.full_log.exists() else ""
        match = re.search(pattern, text)
        if match:
            return match
        if loop.time() > deadline:
            raise AssertionError(f"no {pattern!r} within {timeout:g} s:\n{text[-3000:]}")
        await asyncio.sleep(0.1)  # polling: Asterisk announces no log line


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[RedisServer]:
    reason = redis_available()
    if reason is not None:
        pytest.skip(reason)
    server = RedisServer(tmp_path / "redis")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def ha_lab(tmp_path: Path, dns: dict[str, int]) -> Iterator[AsteriskLab]:
    """The lab Asterisk with the dialplan of the "ha" profile, resolving through ``dns``."""
    binary = asterisk_binary()
    if binary is None:
        pytest.skip(NO_ASTERISK)
    lab = AsteriskLab(binary, tmp_path / "asterisk", agi_port=free_port(), ami_port=free_port())
    lab.prepare()
    extensions = lab.etc / "extensions.conf"
    text = extensions.read_text(encoding="utf-8")
    # docker/compose.yaml asterisk-ha: s#agi://hotline:4573#hagi://hotline.internal#g
    extensions.write_text(text.replace(f"agi://127.0.0.1:{lab.agi_port}", HAGI), encoding="utf-8")
    install_default_prompts(lab.sounds_dir)
    resolv = tmp_path / "resolv.conf"
    resolv.write_text(f"nameserver {DNS_ADDRESS}\n", encoding="utf-8")
    # Asterisk's resolver reads /etc/resolv.conf: in a mount namespace of its own, it is ours
    mount = f'mount --bind {resolv} /etc/resolv.conf && exec "$@"'
    lab.start(
        env={"HOTLINE_SERVER_KEY": LAB_SERVER_KEY},
        wrapper=["unshare", "-m", "sh", "-c", mount, "sh"],
    )
    try:
        yield lab
    finally:
        lab.stop()


async def test_the_agent_answers_after_the_callers_runtime_died(
    ha_lab: AsteriskLab, dns: dict[str, int], redis: RedisServer, tmp_path: Path
) -> None:
    lab = ha_lab
    private_pem, public_pem = generate_keypair()
    module_key = issue_key(
        private_pem,
        installations=[InstallationIdentity.of(server_key=LAB_SERVER_KEY)],
        kind="full",
        licensee="integration tests",
    )
    public_key = tmp_path / "vendor.pem"
    public_key.write_bytes(public_pem)
    targets: list[dict[str, object]] = [{"number": "200"}, {"number": "201", "delay": 4}]
    toml = hotline_toml(
        "support",
        "100",
        targets,
        confirm={"timeout": 2.0, "replays": 0},
        pin="1234",
        pin_attempts=2,
        pin_timeout=4.0,
        dial="Local/{number}@sim-agents",
        ring_time=10,
    )
    config = write_config(
        tmp_path / "hotline.toml",
        toml
        + '[hotlines.hunt]\n[[hotlines.hunt.steps]]\ntargets = ["200", "201"]\n'
        # A's entries ("200, 201 ringing") outlive it by [state] ttl: the next call
        # comes sooner, and is to reach 201 all the same
        + "[hotlines.hunt.skip]\non_hotline_call = false\n",
    )
    base_env = lab_environment(lab, module_key)
    a = RuntimeProcess("rt-a", tmp_path / "rt-a.jsonl")
    b = RuntimeProcess("rt-b", tmp_path / "rt-b.jsonl")
    ami = AmiClient(
        host="127.0.0.1",
        port=lab.ami_port,
        username=lab.account.username,
        secret=lab.account.secret,
    )
    await ami.start()
    events = AmiEvents(ami, ("DialBegin", "BridgeEnter", "Hangup"))
    try:
        for runtime in (a, b):
            port = dns[f"{runtime.name}.{HAGI_EXAMPLE_DOMAIN}"]
            env = {
                **base_env,
                "HOTLINE_AGI__PORT": str(port),
                "HOTLINE_STATE__REDIS_URL": redis.url,
                "HOTLINE_STATE__RUNTIME_ID": runtime.name,
            }
            assert await runtime.start(config, public_key, env) == port

        async def place_call() -> None:
            await ami.action(
                "Originate",
                {
                    "Channel": "Local/s@sim-caller",
                    "Context": "hotline-in",
                    "Exten": "100",
                    "Priority": "1",
                    "Variable": "PIN=1234",
                    "Async": "true",
                },
            )

        def step_leg(message: Mapping[str, Any]) -> bool:
            return header_value(message, "Event") == "DialBegin" and "@hotline-step-" in (
                header_value(message, "DestChannel")
            )

        await place_call()
        await events.wait_for(step_leg, 30, "DialBegin of the step's legs")
        started = await a.event("call_started", 5)
        await a.kill()  # SIGKILL while 201's leg waits its 4 s
        assert a.proc is not None
        assert a.proc.returncode == -9
        dialled_201 = [
            e
            for e in events.received
            if header_value(e, "Event") == "DialBegin"
            and header_value(e, "DestChannel").startswith("Local/201@sim-agents-")
        ]
        assert dialled_201 == [], "201 was dialled before A died: too late to test this"

        # 201 answers: its confirm AGI fails over to B, which accepts; Asterisk bridges
        bridged = await events.wait_for(bridged_agent("201"), 30, "bridge with 201")
        verdict = await b.event("confirm_result", 10, target="201")
        assert verdict["result"] == "ACCEPTED"
        assert verdict["call_id"] == started["call_id"]
        await ami.action("Hangup", {"Channel": phone_side(header_value(bridged, "Channel"))})
        # Dial returned to an AGI without a runtime: it ends, the dialplan goes on
        await full_log_line(
            lab, rf"AGI Script {re.escape(HAGI)}/{ROUTE} completed, returning 0", 20
        )
        await full_log_line(
            lab, rf"Executing \[100@hotline-in:3\] Playback\(\"[^\"]+\", \"{STOCK_MESSAGE}\"\)", 20
        )
        assert a.events("call_summary") == []  # A died before it could summarise the call

        # the next call: A's port refuses, B serves it
        await place_call()
        second = await b.event("call_started", 30)
        assert second["call_id"] != started["call_id"]
        bridges = len([e for e in events.received if bridged_agent("201")(e)])

        def second_bridge(message: Mapping[str, Any]) -> bool:
            later = [e for e in events.received if bridged_agent("201")(e)]
            return bridged_agent("201")(message) and len(later) > bridges

        bridged = await events.wait_for(second_bridge, 30, "second bridge with 201")
        await ami.action("Hangup", {"Channel": phone_side(header_value(bridged, "Channel"))})
        summary = await b.event("call_summary", 30, call_id=second["call_id"])
        assert summary["outcome"] == "connected"
        a_port = dns[f"rt-a.{HAGI_EXAMPLE_DOMAIN}"]
        failed = rf"AGI request failed for host '{HAGI_EXAMPLE_DOMAIN}' \(rt-a\S+:{a_port}\)"
        assert len(re.findall(failed, lab.full_log.read_text(errors="replace"))) >= 3
    finally:
        await a.kill()
        await b.stop()
        await ami.close()
