"""How ``hotline call`` names an outcome from what AMI showed (no sockets needed)."""

from __future__ import annotations

from typing import Any

import pytest

from hotline.calltest import NOT_SERVED, LegReport, classify
from hotline.config import HotlineConfig


def hotline(**changes: Any) -> HotlineConfig:
    data: dict[str, Any] = {
        "name": "support",
        "extension": "100",
        "pin": "4711",
        "targets": [{"number": "201"}, {"number": "202"}],
    }
    data.update(changes)
    return HotlineConfig.model_validate(data)


def leg(status: str | None, *, bridged: bool = False, number: str = "201") -> LegReport:
    return LegReport(
        number=number,
        label=None,
        dial_string=f"PJSIP/{number}",
        dial_status=status,
        hangup_cause=16,
        hangup_cause_txt="Normal Clearing",
        ring_time=3.0,
        talk_time=12.0 if bridged else None,
        bridged=bridged,
    )


FALLBACK = {"fallback": {"context": "hotline-fallback", "extension": "support"}}


@pytest.mark.parametrize(
    ("config", "legs", "ended_by", "outcome", "reason_start"),
    [
        (
            {},
            [leg("BUSY"), leg("ANSWER", bridged=True, number="202")],
            "caller",
            "connected",
            "202 took the call, talked 12.0 s",
        ),
        (
            {},
            [leg("NOANSWER"), leg("BUSY", number="202")],
            "hotline",
            "nobody_available",
            "none of the 2 targets tried took the call",
        ),
        (
            FALLBACK,
            [leg("NOANSWER")],
            "hotline",
            "fallback",
            "none of the 1 targets tried took the call; then the fallback hotline-fallback,support",
        ),
        (
            FALLBACK,
            [leg("NOANSWER"), leg("BUSY", number="202")],
            "caller",
            "fallback",
            "none of the 2 targets tried took the call; it went on to the fallback",
        ),
        (
            {},
            [leg("NOANSWER"), leg("CANCEL", number="202")],
            "caller",
            "abandoned",
            "the caller hung up while 202 was being tried",
        ),
        ({}, [leg(None)], None, "abandoned", "the caller hung up while 201 was being tried"),
        ({}, [], "caller", "abandoned", "the caller hung up before any target was dialled"),
        (
            {},
            [leg("NOANSWER")],
            "caller",
            "abandoned",
            "the caller hung up after 1 of 2 planned targets were tried",
        ),
        ({}, [], "hotline", "pin_failed", "the hotline hung up before dialling anyone"),
        ({"pin": None}, [], "hotline", NOT_SERVED, "the call ended before any target was dialled"),
        ({}, [], None, "pin_failed", "the hotline hung up before dialling anyone"),
    ],
)
def test_classify(
    config: dict[str, Any],
    legs: list[LegReport],
    ended_by: str | None,
    outcome: str,
    reason_start: str,
) -> None:
    got, reason = classify(hotline(**config), legs, ended_by)
    assert got == outcome
    assert reason.startswith(reason_start), reason
    assert "\n" not in reason


def test_a_call_nobody_was_dialled_for_while_closed_is_closed() -> None:
    import datetime as dt

    schedule = {"timezone": "UTC", "open": ["Mon-Fri 08:00-18:00"]}
    friday_night = dt.datetime(2026, 3, 27, 19, 0, tzinfo=dt.UTC)
    friday_noon = dt.datetime(2026, 3, 27, 12, 0, tzinfo=dt.UTC)
    got, reason = classify(hotline(schedule=schedule), [], "hotline", friday_night)
    assert (got, reason) == (
        "closed",
        "the hotline is closed now (outside opening hours): the closed prompt, nobody was dialled",
    )
    # open: the same AMI picture is a PIN problem, as before
    got, _reason = classify(hotline(schedule=schedule), [], "hotline", friday_noon)
    assert got == "pin_failed"


def test_the_report_asks_the_schedule_at_the_calls_arrival_not_at_its_end() -> None:
    """A call that arrived a minute before closing and ended after it was served open
    (the runtime decides once, at arrival); one that arrived after closing was closed."""
    import datetime as dt

    from hotline.calltest import CallWatch, _report

    config = hotline(schedule={"timezone": "UTC", "open": ["Mon-Fri 08:00-18:00"]})
    verdicts = {}
    for arrival in ("17:59", "18:01"):
        hour, minute = map(int, arrival.split(":"))
        watch = CallWatch()  # a call nobody was dialled for, ended by the hotline side
        watch.first_at = dt.datetime(2026, 3, 27, hour, minute, tzinfo=dt.UTC).timestamp()
        watch.ended_at = watch.first_at + 120
        verdicts[arrival] = _report(config, watch).outcome
    assert verdicts == {"17:59": "pin_failed", "18:01": "closed"}


def test_shift_targets_are_named_in_the_report() -> None:
    from hotline.ami.calllog import DialLeg
    from hotline.calltest import leg_reports

    shifts = [
        {
            "name": "night",
            "hours": ["daily 20:00-08:00"],
            "targets": [{"number": "+49170", "label": "On call"}],
        }
    ]
    config = hotline(schedule={"timezone": "UTC", "shifts": shifts})
    dialled = DialLeg("1.1", "1.1", "PJSIP/+49170-00000001", "1.2", "+49170", began_at=0.0)
    (report,) = leg_reports(config, [dialled])
    assert (report.number, report.label, report.dial_string) == (
        "+49170",
        "On call",
        "PJSIP/+49170",
    )
