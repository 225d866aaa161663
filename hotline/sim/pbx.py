"""The simulated Asterisk: places scripted calls into a runtime over real FastAGI sockets.

Each :meth:`SimulatedPbx.place_call` opens the caller leg's FastAGI
connection with the header bytes Asterisk 22 sends, answers every command the
way the recordings show, runs ``Dial`` against scripted agents (opening the
agent's confirm leg like Dial's ``U()`` Gosub), and returns a
:class:`~hotline.sim.records.CallRecord`.  Calls run on their own virtual
clocks (:meth:`clock_for`), so ring times and prompts cost no real time, and
any number of calls can run concurrently.

Channel names and ids count up like Asterisk's: ``Local/s@sim-caller-00000000;1``
with uniqueid ``1795305542.0``, the agent ``Local/201@sim-agents-00000001;1``
with ``1795305542.2`` (each Local channel has two halves, so two ids).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Unpack

from hotline.agi.testing import build_header
from hotline.sim.agents import AgentBehaviour
from hotline.sim.call import Call
from hotline.sim.caller import CallerScript
from hotline.sim.caller_leg import CallerLeg
from hotline.sim.channels import Channel
from hotline.sim.env import DEFAULT_EPOCH, SimEnv, SimOptions
from hotline.sim.errors import SimError
from hotline.sim.events import EventSink, newchannel
from hotline.sim.records import CallRecord

__all__ = ["DEFAULT_EPOCH", "SimulatedPbx"]


class SimulatedPbx:
    """A PBX simulator playing Asterisk 22 toward a hotline runtime."""

    def __init__(
        self,
        agi_host: str,
        agi_port: int,
        agents: Mapping[str, AgentBehaviour] | None = None,
        **options: Unpack[SimOptions],
    ) -> None:
        """Set up the PBX; nothing connects until :meth:`place_call`.

        ``agents`` maps agent numbers (``"201"``, or a whole target like
        ``"PJSIP/201"``) to behaviours; ``"*"`` or ``default_agent`` covers
        every other number (else ``no-answer``).  ``prompt_seconds`` is how long
        a prompt plays, per name or for all.  ``hangup_line`` places the
        out-of-band HANGUP line: before the next reply, right after the reply,
        or ``alternate`` (even calls next-reply, odd calls after-reply).
        ``command_timeout`` is the only real-time limit: a runtime silent that
        long on a leg makes :meth:`place_call` raise :class:`SimError`.

        The confirm subroutine's AGI goes to ``confirm_port`` (default: the
        same port) with ``confirm_args`` arguments; ``subroutine="lab"`` plays
        the recording lab's subroutine (docs/asterisk/lab-extensions.conf)
        instead of the shipped one (hotline/contract.py), to replay the
        recordings.
        """
        self.env = SimEnv(agi_host, agi_port, agents, **options)

    # -- what tests and the AMI side read or change ------------------------------

    @property
    def agi_host(self) -> str:
        return self.env.agi_host

    @property
    def agi_port(self) -> int:
        return self.env.agi_port

    @property
    def epoch(self) -> int:
        return self.env.epoch

    @property
    def agents(self) -> dict[str, AgentBehaviour]:
        """Agent behaviours by number; may be replaced between calls."""
        return self.env.agents

    @agents.setter
    def agents(self, agents: dict[str, AgentBehaviour]) -> None:
        self.env.agents = agents

    @property
    def event_sink(self) -> EventSink | None:
        """Where AMI events of every call go; may be replaced between calls."""
        return self.env.event_sink

    @event_sink.setter
    def event_sink(self, sink: EventSink | None) -> None:
        self.env.event_sink = sink

    def clock_for(self, uniqueid: str) -> Callable[[], float]:
        """The virtual clock of the call a channel belongs to (see :meth:`SimEnv.clock_for`)."""
        return self.env.clock_for(uniqueid)

    def find_channel(self, key: str) -> Channel | None:
        return self.env.find_channel(key)

    def live_channels(self) -> list[Channel]:
        return self.env.live_channels()

    # -- calls ----------------------------------------------------------------

    async def place_call(self, script: CallerScript) -> CallRecord:
        """Run one scripted call against the runtime; returns when the runtime hangs up.

        Raises :class:`SimError` when the runtime cannot be reached or stays
        silent for ``command_timeout`` real seconds on a leg.
        """
        call = Call(self.env, script, self.env.next_call_number())
        leg = CallerLeg(call)
        record = call.record
        started = time.perf_counter()
        caller = call.caller
        header = build_header(
            script.path,
            uniqueid=caller.uniqueid,
            callerid=script.callerid,
            calleridname=script.calleridname,
            channel=caller.name,
            context=script.context,
            extension=script.extension,
            priority="2",
            language=script.language,
            request=f"agi://{self.env.agi_host}:{self.env.agi_port}/{script.path}",
            args=script.args,
        )
        await call.emit(newchannel, caller)
        await call.emit(newchannel, call.caller_peer)
        call.note(
            f"call from {script.callerid} ({script.calleridname}) to {script.path} on {caller.name}"
        )
        try:
            try:
                await leg.connect(header, self.env.agi_port)
            except OSError as exc:
                servers = self.env.servers_for(call.index, self.env.agi_port)
                where = ", ".join(f"{host}:{port}" for host, port in servers)
                raise SimError(
                    f"cannot reach the FastAGI runtime at {where} "
                    f"({exc.strerror or exc}); is it running?"
                ) from None
            await leg.serve()
            await self._finish(call, leg)
        finally:
            await leg.close()
            self.env.forget(call.channels)
            record.wall_seconds = time.perf_counter() - started
        return record

    async def _finish(self, call: Call, leg: CallerLeg) -> None:
        """The runtime closed the caller leg: AGISTATUS, fallback, hang everything up."""
        caller, record = call.caller, call.record
        if caller.alive():
            caller.variables["AGISTATUS"] = "SUCCESS"
            if leg.location_changed:
                record.fallback = (caller.context, caller.exten, caller.priority)
                call.note(
                    "runtime closed the connection; the dialplan continues at "
                    f"{caller.context},{caller.exten},{caller.priority}"
                )
            else:
                record.dialplan_continued = True
                call.note(
                    "runtime closed the connection; the dialplan continues at its next "
                    "priority (shipped: the stock message, then Hangup)"
                )
        else:
            caller.variables["AGISTATUS"] = "HANGUP"
            call.note("runtime closed the connection")
        await call.hang_up_channels(*call.channels)
        record.variables = dict(caller.variables)
        record.duration = call.now()
