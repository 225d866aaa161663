"""``hotline demo``: scripted calls through the real runtime against the PBX simulator.

The runtime serves the given configuration on a loopback port; the simulator
plays Asterisk towards it over real sockets (virtual clock: no real ring time
passes) and each call's steps are printed as the PBX saw them and as the
runtime logged them.  No Asterisk and no license are needed: nothing here
serves a real PBX.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from hotline.agents.feed import DeviceStateFeed
from hotline.agents.plan import planned_steps
from hotline.ami.calllog import CallEventLog
from hotline.ami.client import AmiClient
from hotline.ami_wiring import agi_base, check_pbx
from hotline.config import HotlineConfig, Settings
from hotline.contract import CONFIRM_ARGS
from hotline.errors import HotlineError
from hotline.logs import clear_context, configure_logging
from hotline.runtime import Runtime
from hotline.schedule.engine import Schedule
from hotline.schedule.report import when
from hotline.sim.agents import AgentBehaviour, parse_agents, parse_behaviour
from hotline.sim.ami_pbx import simulate_calls
from hotline.sim.ami_server import AmiServer
from hotline.sim.ami_state import AmiSimState
from hotline.sim.caller import CallerScript
from hotline.sim.dialplan import hotline_dialplan
from hotline.sim.pbx import SimulatedPbx
from hotline.sim.records import CallRecord

#: log fields every line of a call carries; the demo shows them once per call
_CONTEXT_FIELDS = {"timestamp", "level", "call_id", "route", "hotline", "caller", "leg_id"}


class DemoError(HotlineError):
    """The demo cannot run with this configuration or these options."""

    exit_code = 2


@dataclass(frozen=True)
class DemoCall:
    """One scripted call: who calls, how the agents behave, what should come of it."""

    title: str
    script: CallerScript
    agents: Mapping[str, AgentBehaviour]
    expect: str  # the runtime's call_summary outcome
    #: when the call arrives, as the hotline's schedule sees it (the wall clock is injected)
    at: dt.datetime | None = None
    #: device states the simulated PBX reports over AMI during this call
    devices: Mapping[str, str] = field(default_factory=dict)
    #: the target number that should take the call (None: anyone)
    expect_to: str | None = None

    def met(self, summary: Mapping[str, Any]) -> bool:
        """Did the call end as scripted?"""
        if summary.get("outcome") != self.expect:
            return False
        return self.expect_to is None or summary.get("connected_to") == self.expect_to


def _right_pin(hotline: HotlineConfig) -> tuple[str, ...]:
    pin = hotline.pin_value
    return (pin,) if pin is not None else ()


def _wrong_pin(pin: str) -> str:
    return "".join(str((int(d) + 1) % 10) for d in pin)


def _open_at(hotline: HotlineConfig, now: dt.datetime) -> tuple[dt.datetime, list[str]]:
    """When ``hotline`` next takes calls (from ``now``) and the targets it then hunts."""
    found = Schedule(hotline).first(now, open=True)
    if found is None:
        raise DemoError(
            f"hotline {hotline.name} is not open at any time in the coming week; "
            f"there is nobody to call (see `hotline schedule {hotline.name} --week`)"
        )
    return found[0], [t.number for t in found[1].targets]


def default_calls(settings: Settings, now: dt.datetime | None = None) -> list[DemoCall]:
    """One call per outcome, built from the configuration's own hotlines and targets.

    Each call arrives while its hotline is open (now, or the next opening), and
    one call arrives while a hotline with opening hours is closed.
    """
    now = now or dt.datetime.now(dt.UTC)
    hotlines = settings.hotlines
    main = next((h for h in hotlines if len(h.targets) >= 2), hotlines[0])
    at, numbers = _open_at(main, now)
    right = _right_pin(main)
    calls: list[DemoCall] = []

    if len(numbers) >= 2:
        agents = {numbers[0]: parse_behaviour("voicemail"), numbers[1]: parse_behaviour("accept")}
        title = "accepted by the second target after a voicemail"
    else:
        agents = {numbers[0]: parse_behaviour("accept")}
        title = "accepted by the first target"
    calls.append(DemoCall(f"{main.name}: {title}", _script(main, right), agents, "connected", at))

    with_pin = next((h for h in hotlines if h.pin_value is not None), None)
    if with_pin is not None and with_pin.pin_value is not None:
        wrong = (_wrong_pin(with_pin.pin_value),) * with_pin.pin_attempts
        calls.append(
            DemoCall(
                f"{with_pin.name}: wrong PIN {with_pin.pin_attempts} times",
                _script(with_pin, wrong),
                {t.number: parse_behaviour("accept") for t in with_pin.targets},
                "pin_failed",
                _open_at(with_pin, now)[0],
            )
        )

    nobody = {n: parse_behaviour("busy" if i % 2 else "no-answer") for i, n in enumerate(numbers)}
    expect = "fallback" if main.fallback is not None else "nobody_available"
    calls.append(
        DemoCall(f"{main.name}: nobody available", _script(main, right), nobody, expect, at)
    )

    ringing = {n: parse_behaviour("no-answer") for n in numbers}
    gives_up = ("ringing", min(2, len(numbers)))
    calls.append(
        DemoCall(
            f"{main.name}: caller gives up while target {gives_up[1]} rings",
            _script(main, right, hangup_during=gives_up),
            ringing,
            "abandoned",
            at,
        )
    )

    for other in hotlines:
        if other is not main and other is not with_pin:
            other_at, other_numbers = _open_at(other, now)
            agents = {n: parse_behaviour("busy") for n in other_numbers[:-1]}
            agents[other_numbers[-1]] = parse_behaviour("accept")
            calls.append(
                DemoCall(
                    f"{other.name} ({other.language}): earlier targets busy, the last accepts",
                    _script(other, _right_pin(other)),
                    agents,
                    "connected",
                    other_at,
                )
            )
            break

    calls += _hunting_calls(hotlines, now)

    for hotline in hotlines:
        closed = Schedule(hotline).first(now, open=False)
        if closed is not None:
            closed_at, decision = closed
            calls.append(
                DemoCall(
                    f"{hotline.name}: arrives {when(closed_at, Schedule(hotline))}, "
                    f"closed ({decision.rule})",
                    _script(hotline, ()),
                    {},
                    "closed",
                    closed_at,
                )
            )
            break
    return calls


def _hunting_calls(hotlines: Sequence[HotlineConfig], now: dt.datetime) -> list[DemoCall]:
    """A round-robin hotline (the example's sales): one call per step in rotation (a step of
    several agents: all ring, the first to press 1 is bridged, a colleague hears "taken"),
    then a call while the first step's agent is busy on their phone: skipped, never rung."""
    rr = next((h for h in hotlines if h.hunt.strategy == "round_robin"), None)
    if rr is None:
        return []
    at, _numbers = _open_at(rr, now)
    steps = planned_steps(rr)
    agents = {t.target.number: parse_behaviour("accept") for s in steps for t in s.targets}
    for step in steps:  # colleagues answer a second later than the step's first agent
        for late in step.targets[1:]:
            agents[late.target.number] = AgentBehaviour("accept", answer_after=3.0)
    calls = []
    for index, step in enumerate(steps, start=1):
        names = "+".join(t.target.number for t in step.targets)
        how = "rung together, the first to press 1 takes it" if len(step.targets) > 1 else ""
        calls.append(
            DemoCall(
                f"{rr.name}: round robin, call {index} of {len(steps)} goes to step {names} "
                f"{how}".rstrip(),
                _script(rr, _right_pin(rr)),
                agents,
                "connected",
                at,
                expect_to=step.targets[0].target.number,
            )
        )
    first = steps[0].targets[0]
    if first.device is not None and len(steps) > 1:
        calls.append(
            DemoCall(
                f"{rr.name}: {first.target.number}'s phone is busy ({first.device} INUSE over "
                "AMI): skipped, never rung",
                _script(rr, _right_pin(rr)),
                agents,
                "connected",
                at,
                devices={first.device: "INUSE"},
                expect_to=steps[1].targets[0].target.number,
            )
        )
    return calls


def agent_calls(settings: Settings, spec: str) -> list[DemoCall]:
    """``--agents``: one call per hotline (right PIN) against the given agent behaviours,
    each while its hotline is open."""
    agents = parse_agents(spec)
    now = dt.datetime.now(dt.UTC)
    return [
        DemoCall(
            f"{h.name} with --agents {spec}",
            _script(h, _right_pin(h)),
            agents,
            "",
            _open_at(h, now)[0],
        )
        for h in settings.hotlines
    ]


def _script(
    hotline: HotlineConfig,
    pins: Sequence[str],
    *,
    hangup_during: tuple[str, int] | None = None,
) -> CallerScript:
    return CallerScript(
        hotline=hotline.name,
        pin_entries=tuple(pins),
        hangup_during=hangup_during,
        language=hotline.language,
        extension=hotline.extension or "100",
        context=hotline.context,
    )


async def _start_pbx_ami(settings: Settings, out: TextIO) -> tuple[AmiServer, AmiClient]:
    """The simulator's AMI side, the runtime's AMI client on it, and the startup checks."""
    state = AmiSimState(
        dialplan=hotline_dialplan(
            [(h.name, h.context, h.extension or "100") for h in settings.hotlines],
            agi_base=agi_base(settings),
        ),
        moh_classes={h.moh_class: "files" for h in settings.hotlines},
    )
    ami = AmiServer(state, host="127.0.0.1", port=0)
    await ami.start()
    client = AmiClient(
        host="127.0.0.1", port=ami.port, username=state.username, secret=state.secret
    )
    await client.start()
    report = await check_pbx(client, settings)
    print(
        f"simulated PBX: Asterisk {report.version}, Entity ID {report.entity_id}; startup "
        f"checks over AMI: {len(report.errors)} errors, {len(report.warnings)} warnings",
        file=out,
    )
    for line in (*report.errors, *report.warnings):
        print(f"  {line}", file=out)
    return ami, client


async def run_calls(
    settings: Settings, calls: Sequence[DemoCall], out: TextIO
) -> list[tuple[DemoCall, CallRecord, dict[str, Any]]]:
    """Serve ``settings`` on loopback and place ``calls`` one after another; print each.

    The simulator plays both of Asterisk's sides: FastAGI towards the runtime
    and AMI (startup checks, dial events that enrich each target's log line).
    """
    logs = io.StringIO()
    configure_logging(level="INFO", fmt="json", stream=logs)
    results = []
    ami, client = await _start_pbx_ami(settings, out)
    pbx: SimulatedPbx | None = None
    events = CallEventLog(clock=lambda: 0.0)
    events.attach(client)
    wall = {"now": dt.datetime.now(dt.UTC)}
    runtime = Runtime(
        # a dry run: no records in the real journal, no metrics port taken
        settings.model_copy(
            update={
                "journal": settings.journal.model_copy(update={"enabled": False}),
                "metrics": settings.metrics.model_copy(update={"enabled": False}),
                "http": settings.http.model_copy(update={"page": False}),
            }
        ),
        host="127.0.0.1",
        port=0,
        clock_factory=lambda call_id: _pbx(pbx).clock_for(call_id),
        events=events,
        now=lambda: wall["now"],
    )
    devices = DemoDevices(ami, client, runtime)
    try:
        async with runtime:
            pbx = SimulatedPbx("127.0.0.1", runtime.port, confirm_args=len(CONFIRM_ARGS))
            simulate_calls(ami, pbx)
            await devices.start()
            for number, call in enumerate(calls, start=1):
                await devices.report(call.devices)
                pbx.agents = dict(call.agents)
                wall["now"] = call.at or dt.datetime.now(dt.UTC)
                record = await pbx.place_call(call.script)
                events_of_call = _call_events(logs.getvalue(), record.uniqueid)
                summary = next((e for e in events_of_call if e["event"] == "call_summary"), {})
                _print_call(out, number, call, record, events_of_call, summary)
                results.append((call, record, summary))
    finally:
        await devices.close()
        await client.close()
        await ami.close()
        clear_context()
    return results


class DemoDevices:
    """The board's device states from the simulated PBX, as ``hotline run`` gets them."""

    def __init__(self, ami: AmiServer, client: AmiClient, runtime: Runtime) -> None:
        self.ami = ami
        self.feed = DeviceStateFeed(runtime.board, client)
        self._changed = asyncio.Event()
        client.on_event("DeviceStateChange", lambda _m: self._changed.set())
        self._set: set[str] = set()

    async def start(self) -> None:
        self.feed.attach()
        await asyncio.wait_for(self.feed.listed.wait(), 10)

    async def report(self, states: Mapping[str, str]) -> None:
        """Make the PBX report ``states`` (and the devices of the last call free again)."""
        wanted = {**dict.fromkeys(self._set - set(states), "NOT_INUSE"), **states}
        for device, state in wanted.items():
            self._changed.clear()
            await self.ami.set_device_state(device, state)
            await asyncio.wait_for(self._changed.wait(), 10)
        self._set = set(states)

    async def close(self) -> None:
        await self.feed.close()


def _pbx(pbx: SimulatedPbx | None) -> SimulatedPbx:
    if pbx is None:  # a call cannot arrive before the simulator exists
        raise DemoError("internal: a call arrived before the simulator started")
    return pbx


def _call_events(text: str, call_id: str) -> list[dict[str, Any]]:
    events = [json.loads(line) for line in text.splitlines() if line.strip()]
    return [e for e in events if e.get("call_id") == call_id and not e["event"].startswith("agi_")]


def _fields(event: Mapping[str, Any]) -> str:
    parts = []
    for key, value in event.items():
        if key in _CONTEXT_FIELDS or key == "event" or value is None:
            continue
        parts.append(f"{key}={json.dumps(value, ensure_ascii=False)}")
    return " ".join(parts)


def _print_call(
    out: TextIO,
    number: int,
    call: DemoCall,
    record: CallRecord,
    events: Sequence[Mapping[str, Any]],
    summary: Mapping[str, Any],
) -> None:
    agents = " ".join(f"{n}={b.kind}" for n, b in call.agents.items())
    print(f"\n== {number}. {call.title}", file=out)
    print(f"   call id {record.uniqueid}, agents: {agents}", file=out)
    if call.devices:
        states = " ".join(f"{d}={s}" for d, s in call.devices.items())
        print(f"   device states over AMI: {states}", file=out)
    print("   PBX (virtual seconds since the call arrived):", file=out)
    for at, text in record.timeline:
        print(f"   {at:8.1f}s  {text}", file=out)
    print("   runtime log:", file=out)
    for event in events:
        if event["event"] != "call_summary":
            print(f"     {event['event']:<18} {_fields(event)}", file=out)
    outcome = summary.get("outcome", "(no summary logged)")
    verdict = ""
    if call.expect:
        wanted = call.expect + (f" to {call.expect_to}" if call.expect_to else "")
        verdict = "  [as expected]" if call.met(summary) else f"  [EXPECTED {wanted}]"
    print(f"   outcome: {outcome}{verdict}  {_fields(summary)}", file=out)


async def run_demo(settings: Settings, out: TextIO, *, agents: str | None = None) -> int:
    """Play the demo calls; exit 0 when each scripted call reached its expected outcome."""
    calls = agent_calls(settings, agents) if agents else default_calls(settings)
    print(
        f"hotline demo: {len(calls)} scripted calls against the built-in PBX simulator "
        "(no Asterisk, no license needed: nothing here serves a real PBX)",
        file=out,
    )
    results = await run_calls(settings, calls, out)
    failed = [c.title for c, _r, s in results if c.expect and not c.met(s)]
    print(file=out)
    if failed:
        print(f"demo: {len(failed)} call(s) did not reach the expected outcome:", file=out)
        for title in failed:
            print(f"  - {title}", file=out)
        return 1
    print(f"demo: all {len(results)} calls done.", file=out)
    return 0
