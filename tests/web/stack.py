"""The runtime with its web page on loopback, the simulator calling it, and a gate that holds a
simulated call at a chosen moment (in real time) until a test lets it go on."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

from hotline.config import Settings, settings_from_mapping
from hotline.flow.observers import CallEvent
from hotline.sim.hold import Hold

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


class Gate(Hold):
    """Holds the next call while it rings and while it is bridged (hotline/sim/hold.py)."""

    @property
    def ringing(self) -> asyncio.Event:
        return self.reached["ringing"]

    @property
    def connected(self) -> asyncio.Event:
        return self.reached["connected"]

    def release_all(self) -> None:
        self.release()


class EventTimes:
    """A call observer noting when (loop time) each kind of call event happened first."""

    def __init__(self) -> None:
        self.first: dict[str, float] = {}

    def on_call_event(self, event: CallEvent) -> None:
        self.first.setdefault(type(event).__name__, asyncio.get_running_loop().time())

    def left(self, event: str, budget: float = 1.0) -> float:
        """Seconds of ``budget`` not yet used since ``event`` first happened."""
        return max(0.0, budget - (asyncio.get_running_loop().time() - self.first[event]))
