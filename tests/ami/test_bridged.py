"""AMI's view of a bridge keeps a Dial past its deadline when the confirm leg ran elsewhere."""

from __future__ import annotations

from hotline.ami.calllog import CallEventLog
from tests.ami.test_events import recorded_events


def test_bridged_only_while_the_agent_talks_in_recording_01() -> None:
    log = CallEventLog(clock=iter(range(10_000)).__next__)
    seen: list[bool] = []
    for event in recorded_events("01_probe_and_hotline100_agent201_pin1234.log"):
        log.feed(dict(event))
        seen.append(log.bridged("1795305542.0"))
    first = seen.index(True)
    last = len(seen) - 1 - seen[::-1].index(True)
    assert not any(seen[:first])  # ringing and confirming: not yet
    assert all(seen[first : last + 1])  # one stretch: the bridged call
    assert not seen[-1]  # BridgeLeave: over
    assert not log.bridged("1795305542.1")  # the Originate's own call dialled nobody
