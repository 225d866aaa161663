"""The runtime side of the integration tests: licence, config, log watching, test calls.

The runtime runs in the test's event loop, licensed through the test seam: a
key pair made here, a module key issued for this lab's server key with the
vendor tools, and the public key handed to ``serve(..., verifier=...)``.
Nothing about the licence goes through the config but the module key itself,
exactly as a tester's installation gets it (environment).
"""

# Every wait here has its own bound; that is the point of these helpers.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hotline.ami.client import AmiClient
from hotline.ami.messages import header_value
from hotline.licensing.keys import load_public_key_pem
from hotline.licensing.model import InstallationIdentity
from hotline.licensing.vendor import generate_keypair, issue_key
from hotline.licensing.verify import LicenseVerifier
from tests.integration.pbx import AsteriskLab

Event = dict[str, Any]
Predicate = Callable[[Event], bool]

#: the lab's server license key (what a tester's installation is identified by)
LAB_SERVER_KEY = "HOTLINE-INTEGRATION-LAB"


@dataclass(frozen=True)
class LabLicense:
    module_key: str
    verifier: LicenseVerifier


def lab_license() -> LabLicense:
    """A full module key for :data:`LAB_SERVER_KEY`, signed by a key pair made for the test."""
    private_pem, public_pem = generate_keypair()
    key = issue_key(
        private_pem,
        installations=[InstallationIdentity.of(server_key=LAB_SERVER_KEY)],
        kind="full",
        licensee="integration tests",
    )
    return LabLicense(key, LicenseVerifier(load_public_key_pem(public_pem, "test public key")))


class LogWatcher(io.StringIO):
    """A log stream that parses the runtime's JSON lines and wakes up whoever waits for one."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[Event] = []
        self._partial = ""
        self._waiters: list[tuple[Predicate, asyncio.Future[Event]]] = []

    def write(self, text: str) -> int:
        super().write(text)
        self._partial += text
        *lines, self._partial = self._partial.split("\n")
        for line in lines:
            if line.strip():
                self._add(json.loads(line))
        return len(text)

    def _add(self, event: Event) -> None:
        self.events.append(event)
        for predicate, future in list(self._waiters):
            if not future.done() and predicate(event):
                future.set_result(event)

    def named(self, name: str) -> list[Event]:
        return [e for e in self.events if e.get("event") == name]

    async def wait_for(self, predicate: Predicate, timeout: float, what: str) -> Event:
        """The first event (already logged or yet to come) that matches, within ``timeout`` s."""
        for event in self.events:
            if predicate(event):
                return event
        future: asyncio.Future[Event] = asyncio.get_running_loop().create_future()
        entry = (predicate, future)
        self._waiters.append(entry)
        try:
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            seen = [e.get("event") for e in self.events]
            raise AssertionError(f"no {what} within {timeout:g} s; events: {seen}") from None
        finally:
            self._waiters.remove(entry)

    async def event(self, name: str, timeout: float, **fields: Any) -> Event:
        """The first event called ``name`` whose fields include ``fields``."""

        def matches(event: Event) -> bool:
            return event.get("event") == name and all(event.get(k) == v for k, v in fields.items())

        return await self.wait_for(matches, timeout, f"{name} {fields or ''}".strip())


def _toml(value: object) -> str:
    """A TOML literal for the few value types the test configs use."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    raise TypeError(f"no TOML for {value!r}")


def hotline_toml(
    name: str,
    extension: str,
    targets: Sequence[Mapping[str, object]],
    *,
    confirm: Mapping[str, object] | None = None,
    fallback: Mapping[str, object] | None = None,
    **options: object,
) -> str:
    """One ``[[hotlines]]`` table with its targets, confirm and fallback tables."""
    lines = ["[[hotlines]]", f"name = {_toml(name)}", f"extension = {_toml(extension)}"]
    lines += [f"{key} = {_toml(value)}" for key, value in options.items()]
    if confirm:
        lines.append("[hotlines.confirm]")
        lines += [f"{key} = {_toml(value)}" for key, value in confirm.items()]
    if fallback:
        lines.append("[hotlines.fallback]")
        lines += [f"{key} = {_toml(value)}" for key, value in fallback.items()]
    for target in targets:
        lines.append("[[hotlines.targets]]")
        lines += [f"{key} = {_toml(value)}" for key, value in target.items()]
    return "\n".join(lines) + "\n"


def lab_environment(lab: AsteriskLab, module_key: str) -> dict[str, str]:
    """``HOTLINE_…`` overrides that point a config at the lab (as compose.yaml does for docker)."""
    return {
        "HOTLINE_ASTERISK__HOST": "127.0.0.1",
        "HOTLINE_ASTERISK__PORT": str(lab.ami_port),
        "HOTLINE_ASTERISK__USERNAME": lab.account.username,
        "HOTLINE_ASTERISK__SECRET": lab.account.secret,
        "HOTLINE_ASTERISK__SOUNDS_DIR": str(lab.sounds_dir),
        "HOTLINE_AGI__BIND": "127.0.0.1",
        "HOTLINE_AGI__PORT": str(lab.agi_port),
        "HOTLINE_AGI__DRAIN_TIMEOUT": "5",
        "HOTLINE_LICENSE__MODULE_KEY": module_key,
        # no server key here: the runtime reads it from the PBX, as in docker/compose.yaml
    }


def write_config(path: Path, hotlines: str) -> Path:
    """A config file with the given hotlines; the lab's addresses come from the environment."""
    path.write_text('[logging]\nlevel = "DEBUG"\nformat = "json"\n\n' + hotlines, encoding="utf-8")
    return path


class AmiEvents:
    """AMI events as they arrive, for waiting on one (DialBegin, Hangup, …)."""

    def __init__(self, client: AmiClient, names: tuple[str, ...]) -> None:
        self.received: list[Mapping[str, Any]] = []
        self._waiters: list[tuple[Callable[[Mapping[str, Any]], bool], asyncio.Future[Any]]] = []
        client.on_event(names, self._on_event)

    def _on_event(self, message: Mapping[str, Any]) -> None:
        self.received.append(message)
        for predicate, future in list(self._waiters):
            if not future.done() and predicate(message):
                future.set_result(message)

    async def wait_for(
        self, predicate: Callable[[Mapping[str, Any]], bool], timeout: float, what: str
    ) -> Mapping[str, Any]:
        for message in self.received:
            if predicate(message):
                return message
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        entry = (predicate, future)
        self._waiters.append(entry)
        try:
            result: Mapping[str, Any] = await asyncio.wait_for(future, timeout)
            return result
        except TimeoutError:
            seen = [header_value(m, "Event") for m in self.received]
            raise AssertionError(f"no AMI {what} within {timeout:g} s; got {seen}") from None
        finally:
            self._waiters.remove(entry)


def dial_begin(number: str) -> Callable[[Mapping[str, Any]], bool]:
    """AMI DialBegin towards agent ``number``: it is ringing."""

    def matches(message: Mapping[str, Any]) -> bool:
        return header_value(message, "Event") == "DialBegin" and header_value(
            message, "DestChannel"
        ).startswith(f"Local/{number}@sim-agents-")

    return matches


def bridged_agent(number: str) -> Callable[[Mapping[str, Any]], bool]:
    """AMI BridgeEnter of agent ``number``'s channel: Asterisk really connected the call."""

    def matches(message: Mapping[str, Any]) -> bool:
        return header_value(message, "Event") == "BridgeEnter" and header_value(
            message, "Channel"
        ).startswith(f"Local/{number}@sim-agents-")

    return matches
