"""The exact AGI exchange of one benchmarked call, for the servers without hotline logic.

:func:`capture_exchange` runs one call through the real runtime (in this
process, against the simulator) and keeps every command line it sent, with
the call's ids replaced by placeholders.  The bare responder and the
panoramisk application replay those lines, filled in from each connection's
AGI header, so all three servers send byte-for-byte the same commands and
the simulator answers them the same way.
"""

from __future__ import annotations

import functools
import io
import json
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from benchmarks.errors import BenchmarkError
from benchmarks.scenario import (
    AGENTS,
    CALLER_ROUTE,
    CONFIG,
    HOTLINE,
    PIN,
    PROMPT_SECONDS,
    TALK_SECONDS,
)
from hotline.agi.wire import format_command
from hotline.contract import CONFIRM_ROUTE

CALL_ID = "<<call_id>>"
CALLER = "<<caller>>"
_CAPTURE_CALLER = "5550001"


@dataclass(frozen=True)
class Exchange:
    """Command lines per route: the caller leg, and the confirm leg per target number."""

    caller: tuple[str, ...]
    confirm: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def commands_per_call(self) -> int:
        return len(self.caller) + sum(len(lines) for lines in self.confirm.values())

    @property
    def connections_per_call(self) -> int:
        return 1 + len(self.confirm)

    def _leg(self, header: Mapping[str, str]) -> tuple[tuple[str, ...], str, str]:
        """The template lines of the connection this AGI header opened, with its call id and
        caller number (no lines for a route the exchange does not know)."""
        route = header.get("agi_network_script", "")
        if route == CALLER_ROUTE:
            return self.caller, header.get("agi_uniqueid", ""), header.get("agi_callerid", "")
        if route == CONFIRM_ROUTE:
            lines = self.confirm.get(header.get("agi_arg_3", ""), ())
            return lines, header.get("agi_arg_1", ""), header.get("agi_arg_4", "")
        return (), "", ""

    def commands_for(self, header: Mapping[str, str]) -> list[str]:
        """The command lines (without newline) for the connection this AGI header opened."""
        lines, call_id, caller = self._leg(header)
        return [line.replace(CALL_ID, call_id).replace(CALLER, caller) for line in lines]

    def words_for(self, header: Mapping[str, str]) -> list[tuple[str, ...]]:
        """:meth:`commands_for` as each command's words (what ``AgiSession.command`` takes),
        split once per exchange, not per connection."""
        lines, call_id, caller = self._leg(header)
        return [
            tuple(word.replace(CALL_ID, call_id).replace(CALLER, caller) for word in command)
            for command in _split(lines)
        ]

    def to_json(self) -> str:
        return json.dumps({"caller": list(self.caller), "confirm": dict(self.confirm)}, indent=1)

    @classmethod
    def load(cls, path: Path) -> Exchange:
        try:
            data = json.loads(path.read_text())
            return cls(
                caller=tuple(data["caller"]),
                confirm={k: tuple(v) for k, v in data["confirm"].items()},
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise BenchmarkError(f"exchange file {path}: unreadable ({exc})") from None


@functools.lru_cache(maxsize=16)
def _split(lines: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
    """Command lines as the words they were formatted from (the runtime's quoting undone):
    each must format back to its line, byte for byte, or the servers would not compare."""
    split = tuple(tuple(shlex.split(line)) for line in lines)
    for line, words in zip(lines, split, strict=True):
        if format_command(*words) != f"{line}\n".encode():
            raise BenchmarkError(f"exchange line {line!r} does not split back into its words")
    return split


def _template(lines: list[str], call_id: str, caller: str) -> tuple[str, ...]:
    return tuple(line.replace(call_id, CALL_ID).replace(caller, CALLER) for line in lines)


async def capture_exchange() -> Exchange:
    """Run one reference call through the real runtime (in this process) and keep its exchange."""
    from hotline.config import settings_from_mapping
    from hotline.logs import configure_logging
    from hotline.runtime import Runtime
    from hotline.sim.agents import parse_agents
    from hotline.sim.caller import CallerScript
    from hotline.sim.pbx import SimulatedPbx

    configure_logging(level="CRITICAL", fmt="json", stream=io.StringIO())
    agents = {
        number: replace(behaviour, talk_seconds=TALK_SECONDS)
        for number, behaviour in parse_agents(AGENTS).items()
    }
    async with Runtime(settings_from_mapping(CONFIG), host="127.0.0.1", port=0) as runtime:
        pbx = SimulatedPbx("127.0.0.1", runtime.port, agents, prompt_seconds=PROMPT_SECONDS)
        script = CallerScript(HOTLINE, callerid=_CAPTURE_CALLER, pin_entries=[f"{PIN}#"] * 8)
        record = await pbx.place_call(script)
    if record.outcome != "connected":
        raise BenchmarkError(f"the reference call ended {record.outcome!r}, not connected")
    call_id = record.uniqueid
    return Exchange(
        caller=_template(record.commands, call_id, _CAPTURE_CALLER),
        confirm={
            leg.agent: _template(leg.commands, call_id, _CAPTURE_CALLER)
            for leg in record.agent_legs
            if leg.commands
        },
    )
