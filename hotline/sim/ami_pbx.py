"""``Originate`` into a hotline becomes a simulated call: the AMI server joined to the PBX.

:func:`simulate_calls` wires an :class:`~hotline.sim.ami_server.AmiServer`
and a :class:`~hotline.sim.pbx.SimulatedPbx` both ways: the PBX's events go
out over AMI (stamped with the call's virtual time), and an ``Originate``
like ``hotline call`` sends places a scripted call.
"""

# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from hotline.contract import HOTLINE_ROUTE_PREFIX
from hotline.logs import get_logger
from hotline.sim.ami_server import AmiServer
from hotline.sim.caller import CallerScript
from hotline.sim.channels import CAUSE_NORMAL, STATE_UP, Channel
from hotline.sim.dialplan import agi_path, find_steps
from hotline.sim.errors import SimError
from hotline.sim.events import hangup
from hotline.sim.originate import OriginateOutcome, OriginateRequest, split_callerid
from hotline.sim.pbx import SimulatedPbx
from hotline.sim.records import CallRecord

log = get_logger()


class PbxOriginator:
    """The Originate handler and event sink that join an AmiServer and a SimulatedPbx.

    An ``Originate`` of a Local channel (``Local/s@sim-caller``) into a
    context/extension whose dialplan runs ``AGI(agi://.../hotline/<name>)``
    becomes :meth:`SimulatedPbx.place_call` with a caller who types
    ``${PIN}#``.  The simulated call runs on its own virtual clock, so the
    lab's ``DTMFDELAY``/``HOLD`` timings do not apply as such: ``HOLD`` is how
    long the caller stays once bridged to an agent.  Two more variables script
    the caller like :class:`~hotline.sim.caller.CallerScript` does:
    ``SIM_HANGUP=<step>[:<n>]`` (hang up during the n-th ``ringing``,
    ``confirm``, ``pin``, ``prompt``...) and ``SIM_HANGUP_AFTER=<seconds>``.

    Anything else (an Application, another channel type, a missing context or
    extension) is answered like the plain simulator: Reason 0 when it cannot
    exist.  A simulated call that fails (runtime unreachable) hangs its
    caller's channels up, as the dialplan would after a failed AGI.
    """

    def __init__(self, ami: AmiServer, pbx: SimulatedPbx, *, timestamps: bool = True) -> None:
        self.ami = ami
        self.pbx = pbx
        #: stamp events with the call's virtual time
        self.timestamps = timestamps
        #: calls placed through Originate, as the simulator recorded them
        self.records: list[CallRecord] = []
        self.errors: list[BaseException] = []
        self._lock = asyncio.Lock()
        self._pending: asyncio.Future[tuple[str, str]] | None = None
        #: linkedid -> the caller's (channel, uniqueid) pair, ;1 first
        self._callers: dict[str, list[tuple[str, str]]] = {}
        self._calls: set[asyncio.Task[None]] = set()
        self._idle: asyncio.Event | None = None

    async def sink(self, event: Mapping[str, str]) -> None:
        """The SimulatedPbx's event sink: note each call's caller channels, emit over AMI."""
        if event.get("Event") == "Newchannel":
            self._note_channel(event)
        await self.ami.emit(self._stamped(event))

    def _stamped(self, event: Mapping[str, str]) -> Mapping[str, str]:
        """Add ``Timestamp:`` on the call's virtual clock (as ``timestampevents = yes`` would).

        Simulated calls take no real time; with their virtual time on each
        event, ring and talk times read from AMI are the simulated ones.
        """
        if not self.timestamps or "Timestamp" in event:
            return event
        linkedid = event.get("Linkedid") or event.get("DestLinkedid") or ""
        try:
            clock = self.pbx.clock_for(linkedid)
        except SimError:
            return event
        stamped: dict[str, str] = {}
        for key, value in event.items():
            stamped[key] = value
            if key == "Privilege":
                stamped["Timestamp"] = f"{self.pbx.epoch + clock():.6f}"
        return stamped

    def _note_channel(self, event: Mapping[str, str]) -> None:
        uniqueid, linkedid = event.get("Uniqueid", ""), event.get("Linkedid", "")
        channel = event.get("Channel", "")
        pending = self._pending
        if uniqueid and uniqueid == linkedid and pending is not None and not pending.done():
            pending.set_result((channel, uniqueid))  # a new call's first channel: ours
            self._callers[uniqueid] = [(channel, uniqueid)]
            return
        pair = self._callers.get(linkedid)
        if pair is not None and len(pair) == 1 and channel == pair[0][0].removesuffix("1") + "2":
            pair.append((channel, uniqueid))

    def script_for(self, request: OriginateRequest) -> CallerScript | None:
        """The caller script an Originate stands for, or None if it is not a hotline call."""
        tech, _, resource = request.channel.partition("/")
        if tech != "Local" or request.application:
            return None
        exten, _, context = resource.partition("@")
        if find_steps(self.ami.state.dialplan, context.split("/")[0], exten) is None:
            return None
        steps = find_steps(self.ami.state.dialplan, request.context, request.exten)
        path = agi_path(steps) if steps is not None else None
        if path is None or not path.startswith(HOTLINE_ROUTE_PREFIX):
            return None
        variables = request.variables
        pin = variables.get("PIN", "")
        hangup_during: tuple[str, int] | None = None
        hangup_after: float | None = None
        if variables.get("SIM_HANGUP"):
            step, _, nth = variables["SIM_HANGUP"].partition(":")
            hangup_during = (step, int(nth) if nth.isdigit() else 1)
            if variables.get("SIM_HANGUP_AFTER"):
                hangup_after = float(variables["SIM_HANGUP_AFTER"])
        elif variables.get("HOLD"):
            hangup_during, hangup_after = ("bridge", 1), float(variables["HOLD"])
        name, number = split_callerid(request.caller_id)
        return CallerScript(
            hotline=path.removeprefix(HOTLINE_ROUTE_PREFIX),
            agi_path=path,
            callerid=number if number != "<unknown>" else "5550001",
            calleridname=name if name != "<unknown>" else "Sim Caller",
            pin_entries=(f"{pin}#",) if pin else (),
            hangup_during=hangup_during,
            hangup_after=hangup_after,
            context=request.context,
            extension=request.exten,
            label="AMI Originate",
        )

    async def __call__(self, request: OriginateRequest) -> OriginateOutcome:
        script = self.script_for(request)
        if script is None:
            return await self.ami.answer_originate(request)
        async with self._lock:  # one call starts at a time: its first Newchannel is its own
            loop = asyncio.get_running_loop()
            pending: asyncio.Future[tuple[str, str]] = loop.create_future()
            self._pending = pending
            task = asyncio.create_task(self._run(script, pending))
            self._calls.add(task)
            task.add_done_callback(self._done)
            waiting: set[asyncio.Future[Any]] = {pending, task}
            await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            self._pending = None
        if not pending.done():
            pending.cancel()
            return OriginateOutcome(reason=0)
        channel, uniqueid = pending.result()
        return OriginateOutcome(reason=4, channel=channel, uniqueid=uniqueid)

    async def _run(self, script: CallerScript, pending: asyncio.Future[tuple[str, str]]) -> None:
        linkedid = ""
        try:
            try:
                record = await self.pbx.place_call(script)
            finally:
                if pending.done() and not pending.cancelled():
                    linkedid = pending.result()[1]
        except Exception as exc:  # noqa: BLE001 - reported like a failed AGI, kept for tests
            self.errors.append(exc)
            log.warning("sim_call_failed", error=str(exc))
            # the dialplan after a failed AGI: the caller's Local pair hangs up (;1 first)
            for channel, uniqueid in self._callers.get(linkedid, []):
                gone = Channel(channel, uniqueid, linkedid, state=STATE_UP)
                await self.ami.emit(hangup(gone, CAUSE_NORMAL))
        else:
            self.records.append(record)
        finally:
            self._callers.pop(linkedid, None)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._calls.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("sim_originate_crashed", error=repr(task.exception()))
        if not self._calls and self._idle is not None:
            self._idle.set()

    async def wait_idle(self, timeout: float = 10.0) -> None:
        """Wait until every call placed through Originate has ended."""
        if not self._calls:
            return
        self._idle = asyncio.Event()
        await asyncio.wait_for(self._idle.wait(), timeout)

    async def close(self) -> None:
        """Cancel calls still running (test teardown)."""
        for task in list(self._calls):
            task.cancel()
        if self._calls:
            await asyncio.wait(list(self._calls))


def simulate_calls(ami: AmiServer, pbx: SimulatedPbx, *, timestamps: bool = True) -> PbxOriginator:
    """Join the simulator's two sides: PBX events go out over AMI, Originate places calls.

    ``timestamps`` stamps each event with its call's virtual time.
    """
    originator = PbxOriginator(ami, pbx, timestamps=timestamps)
    pbx.event_sink = originator.sink
    ami.originate_handler = originator
    return originator
