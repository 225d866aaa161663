"""The shipped manager.conf agrees with what the runtime listens to and sends."""

from __future__ import annotations

import re
from pathlib import Path

from hotline.agents.feed import DEVICE_EVENT_NAMES
from hotline.ami.checks import AMI_WRITE_CLASSES
from hotline.ami.client import DEFAULT_EVENT_CLASSES
from hotline.ami.events import EVENT_NAMES
from hotline.ami.hangups import HANGUP_EVENT_NAMES
from hotline.ami.wire import MessageReader, format_message, header
from tests.ami.recorded import RECORDINGS, server_sessions

MANAGER_CONF = Path(__file__).parents[2] / "docker" / "asterisk" / "etc" / "manager.conf"


def section(name: str) -> list[tuple[str, str]]:
    entries: list[tuple[str, str]] = []
    current = None
    for raw in MANAGER_CONF.read_text(encoding="utf-8").splitlines():
        line = raw.split(";", 1)[0].strip()
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1]
        elif current == name and "=" in line:
            key, _, value = line.partition("=")
            entries.append((key.strip(), value.strip()))
    return entries


def value(name: str, key: str) -> str:
    return next(v for k, v in section(name) if k == key)


def event_filter() -> re.Pattern[str]:
    """The legacy (POSIX ERE) filter, in Python's dialect."""
    return re.compile(value("hotline", "eventfilter").replace("[[:space:]]", r"\s"))


def recorded_events() -> list[list[tuple[str, str]]]:
    events = []
    for path in RECORDINGS.glob("*.log"):
        for chunks in server_sessions(path):
            reader = MessageReader(banner=True)
            for chunk in chunks:
                events += [m for m in reader.feed(chunk) if header(m, "Event")]
    return events


def test_event_filter_lets_through_exactly_the_events_we_use() -> None:
    wanted = {*EVENT_NAMES, *DEVICE_EVENT_NAMES, *HANGUP_EVENT_NAMES, "FullyBooted"}
    pattern = event_filter()
    seen = set()
    for event in recorded_events():
        name = header(event, "Event")
        seen.add(name)
        if header(event, "ActionID") and name != "OriginateResponse":
            continue  # list items (CoreShowChannel...) are replies, never filtered
        passes = pattern.search(format_message(event).decode()) is not None
        assert passes == (name in wanted), name
    assert wanted <= seen  # every wanted event was tried against the filter
    assert {"Newexten", "VarSet"} <= seen


def test_read_classes_cover_the_events_and_the_login_mask() -> None:
    read = set(value("hotline", "read").split(","))
    assert set(DEFAULT_EVENT_CLASSES.split(",")) <= read
    for event in recorded_events():
        if header(event, "Event") in {*EVENT_NAMES, *DEVICE_EVENT_NAMES, *HANGUP_EVENT_NAMES}:
            classes = set(header(event, "Privilege").split(",")) - {"all"}
            assert classes & read, header(event, "Event")


def test_write_classes_are_what_the_runtime_needs() -> None:
    assert value("hotline", "write") == AMI_WRITE_CLASSES


def test_user_is_bound_to_loopback_and_private_networks() -> None:
    entries = section("hotline")
    assert entries[[k for k, _ in entries].index("deny")] == ("deny", "0.0.0.0/0.0.0.0")
    permits = [v for k, v in entries if k == "permit"]
    assert "127.0.0.1/255.255.255.255" in permits
    assert all(p.startswith(("127.", "172.16.", "10.", "192.168.")) for p in permits)
    assert value("general", "webenabled") == "no"
