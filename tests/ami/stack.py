"""A whole simulated installation for runtime and CLI tests.

The simulated Asterisk's two sides (AMI server, FastAGI PBX simulator), a
configuration pointing at them, and a throwaway vendor key pair whose
verifier is injected into ``serve()`` (never configured).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hotline.ami.backoff import Backoff
from hotline.ami.client import AmiClient
from hotline.ami_wiring import client_from_settings
from hotline.config import Settings, settings_from_mapping
from hotline.licensing.keys import load_public_key_pem
from hotline.licensing.model import InstallationIdentity
from hotline.licensing.vendor import generate_keypair, issue_key
from hotline.licensing.verify import LicenseVerifier
from hotline.runtime import Runtime, serve
from hotline.sim.agents import parse_agents
from hotline.sim.ami_pbx import PbxOriginator
from hotline.sim.ami_server import AmiServer
from hotline.sim.ami_state import AmiSimState
from hotline.sim.dialplan import hotline_dialplan
from hotline.sim.pbx import SimulatedPbx
from tests.net import free_port

#: the simulated PBX's Entity ID (AmiSimState's default)
ENTITY_ID = "02:fc:00:00:00:01"
#: U() arguments the runtime passes to the confirm subroutine
CONFIRM_ARGS = 4


def fast_backoff() -> Backoff:
    return Backoff(initial=0.01, factor=2.0, cap=0.05, jitter=0.5, rng=random.Random(3))


@dataclass
class Vendor:
    """A test vendor: issues module keys, and the verifier that trusts them."""

    private_pem: bytes
    verifier: LicenseVerifier

    @classmethod
    def new(cls) -> Vendor:
        private_pem, public_pem = generate_keypair()
        return cls(private_pem, LicenseVerifier(load_public_key_pem(public_pem, "test key")))

    def key_for(self, *, server_key: str | None = None, entity_id: str | None = None) -> str:
        identity = InstallationIdentity.of(server_key=server_key, hardware_id=entity_id)
        return issue_key(self.private_pem, installations=[identity], kind="full", max_major=9)


def sim_state(agi_port: int, **changes: Any) -> AmiSimState:
    """The simulated PBX with the dialplan the test configuration needs."""
    state = AmiSimState(
        dialplan=hotline_dialplan(
            [("support", "hotline-in", "100")], agi_base=f"agi://127.0.0.1:{agi_port}"
        ),
        auth_failure_delay=0.05,
    )
    for key, value in changes.items():
        setattr(state, key, value)
    return state


def config_data(
    ami: AmiServer,
    agi_port: int,
    *,
    module_key: str | None = None,
    asterisk: Mapping[str, Any] | None = None,
    license: Mapping[str, Any] | None = None,
    **support: Any,
) -> dict[str, Any]:
    """The configuration as TOML would give it: one hotline "support" at 100@hotline-in."""
    hotline: dict[str, Any] = {
        "name": "support",
        "context": "hotline-in",
        "extension": "100",
        "pin": "4711",
        "dial": "Local/{number}@sim-agents",
        "ring_time": 15,
        "targets": [{"number": "201", "label": "Anna"}, {"number": "202"}, {"number": "203"}],
    }
    hotline.update(support)
    data: dict[str, Any] = {
        "asterisk": {
            "host": ami.host,
            "port": ami.port,
            "username": ami.state.username,
            "secret": ami.state.secret,
            "connect_timeout": 2.0,
            "action_timeout": 2.0,
            **(asterisk or {}),
        },
        "agi": {"bind": "127.0.0.1", "port": agi_port, "drain_timeout": 5.0},
        "license": {**({"module_key": module_key} if module_key else {}), **(license or {})},
        "hotlines": [hotline],
    }
    return data


def toml_text(data: Mapping[str, Any]) -> str:
    """Just enough TOML for :func:`config_data`'s shape."""

    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int | float):
            return repr(v)
        return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'

    lines: list[str] = []
    for section in ("asterisk", "agi", "license"):
        lines.append(f"[{section}]")
        lines += [f"{k} = {value(v)}" for k, v in data.get(section, {}).items()]
    for hotline in data["hotlines"]:
        lines.append("[[hotlines]]")
        lines += [f"{k} = {value(v)}" for k, v in hotline.items() if k != "targets"]
        for target in hotline["targets"]:
            lines.append("[[hotlines.targets]]")
            lines += [f"{k} = {value(v)}" for k, v in target.items()]
    return "\n".join(lines) + "\n"


def write_config(path: Path, data: Mapping[str, Any]) -> Path:
    path.write_text(toml_text(data), encoding="utf-8")
    return path


@dataclass
class Serving:
    """``serve()`` running as a task, with its runtime and AMI client."""

    task: asyncio.Task[int]
    stop: asyncio.Event
    runtime: Runtime
    ami: AmiClient

    async def shutdown(self) -> int:
        self.stop.set()
        return await asyncio.wait_for(self.task, 10)


async def start_serving(
    settings: Settings, verifier: LicenseVerifier, ami: AmiClient | None = None
) -> Serving:
    """Start ``serve()`` and return once its FastAGI port is open (or raise why not)."""
    client = (
        ami if ami is not None else client_from_settings(settings.asterisk, backoff=fast_backoff())
    )
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[Runtime] = loop.create_future()
    stop = asyncio.Event()
    task = asyncio.create_task(
        serve(settings, verifier=verifier, stop=stop, started=ready.set_result, ami=client)
    )
    waiting: set[asyncio.Future[Any]] = {ready, task}
    await asyncio.wait(waiting, timeout=10, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        task.result()  # raises why serve() ended
        raise AssertionError("serve() returned before it started serving")
    if not ready.done():
        task.cancel()
        raise AssertionError("serve() did not start within 10 s")
    return Serving(task, stop, ready.result(), client)


@dataclass
class Installation:
    """AMI simulator + serving runtime + FastAGI PBX simulator, wired like a real PBX."""

    ami: AmiServer
    settings: Settings
    serving: Serving
    pbx: SimulatedPbx
    originator: PbxOriginator
    vendor: Vendor
    extra: dict[str, Any] = field(default_factory=dict)

    async def close(self) -> None:
        await self.originator.close()
        if not self.serving.task.done():
            await self.serving.shutdown()
        await self.ami.close()


async def install(
    agents: str = "201=no-answer,202=voicemail,203=accept", **support: Any
) -> Installation:
    """Start everything on free loopback ports; the license is bound to the PBX's Entity ID."""
    from hotline.sim.ami_pbx import simulate_calls

    agi_port = free_port()
    ami = AmiServer(sim_state(agi_port))
    await ami.start()
    vendor = Vendor.new()
    data = config_data(ami, agi_port, module_key=vendor.key_for(entity_id=ENTITY_ID), **support)
    settings = settings_from_mapping(data)
    try:
        serving = await start_serving(settings, vendor.verifier)
    except BaseException:
        await ami.close()
        raise
    pbx = SimulatedPbx("127.0.0.1", agi_port, parse_agents(agents), confirm_args=CONFIRM_ARGS)
    originator = simulate_calls(ami, pbx)
    return Installation(ami, settings, serving, pbx, originator, vendor, {"data": data})
