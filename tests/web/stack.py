"""The runtime with its web page on loopback, the simulator calling it, and a gate that holds a
simulated call at a chosen moment (in real time) until a test lets it go on."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

from hotline.config import Settings, settings_from_mapping
from hotline.flow.observers import CallEvent
from hotline.sim.events import Event

BASE: dict[str, Any] = {
    "asterisk": {"sounds_dir": "/var/lib/hotline/sounds", "enabled": False},
    "http": {"page": True, "port": 0},
    "hotlines": [
        {
            "name": "support",
            "dial": "Local/{number}@sim-agents",
            "ring_time": 15,
            "targets": [{"number": "201", "label": "Anna"}, {"number": "202"}],
        },
        {
            "name": "vertrieb",
            "language": "de",
            "dial": "PJSIP/{number}",
            "targets": [{"number": "301", "label": "Jörg"}],
        },
    ],
}


def web_settings(**sections: Any) -> Settings:
    """The base config with whole sections replaced or added (``http={...}``)."""
    data = copy.deepcopy(BASE)
    for name, value in sections.items():
        if isinstance(value, dict) and isinstance(data.get(name), dict):
            data[name] = {**data[name], **value}
        else:
            data[name] = value
    return settings_from_mapping(data)


class Gate:
    """The simulator's AMI event sink: holds the call while it rings and while it is bridged.

    The simulated call runs on a virtual clock and would pass both moments in
    microseconds; held here, the runtime sits in that state for real until the
    test calls :meth:`release`.
    """

    def __init__(self) -> None:
        self.ringing = asyncio.Event()
        self.connected = asyncio.Event()
        self._go_on = {"ringing": asyncio.Event(), "connected": asyncio.Event()}

    def release(self, moment: str) -> None:
        self._go_on[moment].set()

    def release_all(self) -> None:
        for event in self._go_on.values():
            event.set()

    async def sink(self, event: Event) -> None:
        name = event.get("Event")
        if name == "DialState" and event.get("DialStatus") == "RINGING":
            self.ringing.set()
            await self._go_on["ringing"].wait()
        elif name == "BridgeEnter" and event.get("BridgeNumChannels") == "2":
            self.connected.set()
            await self._go_on["connected"].wait()


class EventTimes:
    """A call observer noting when (loop time) each kind of call event happened first."""

    def __init__(self) -> None:
        self.first: dict[str, float] = {}

    def on_call_event(self, event: CallEvent) -> None:
        self.first.setdefault(type(event).__name__, asyncio.get_running_loop().time())
