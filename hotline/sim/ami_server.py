"""AMI side of the PBX simulator: an asyncio server that answers like Asterisk 22.

Everything it writes follows the recordings in tests/ami/recordings
byte for byte: the banner, header order, ``\\r\\n`` line ends, ``Value: `` with
its trailing space, ``Output:`` lines without ``--END COMMAND--``, the ~1 s
delay before ``Authentication failed`` and the close after it, ``Permission
denied`` before login, and an async ``Originate``'s reply coming before its
events.  Behaviour that was not recorded (``ModuleCheck``, ``ShowDialPlan``,
``moh show classes``) follows Asterisk's source.

What it is for: tests and ``hotline demo`` run the AMI client, the startup
checks and the event log against it over real sockets.  The FastAGI side of
the simulator turns calls into AMI events with :meth:`AmiServer.emit` and the
builders of hotline/sim/events.py, and can take over ``Originate`` with
:attr:`AmiServer.originate_handler`; :func:`hotline.sim.ami_pbx.simulate_calls`
wires a :class:`~hotline.sim.pbx.SimulatedPbx` both ways, so that an
``Originate`` into a hotline extension (what ``hotline call`` sends) becomes a
simulated call whose events come back over AMI.

Its parts: what the PBX is (hotline/sim/ami_state.py), its dialplan
(hotline/sim/dialplan.py), its CLI texts (hotline/sim/ami_cli.py), Originate
requests (hotline/sim/originate.py), channels (hotline/sim/channels.py) and
events (hotline/sim/events.py).
"""

# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar

from hotline.ami.wire import Headers, MessageReader, format_message, header
from hotline.logs import get_logger
from hotline.sim.ami_cli import cli_output, dialplan_listing
from hotline.sim.ami_state import AmiSimState, module_base
from hotline.sim.channels import STATE_DOWN, STATE_RING, STATE_UP, Channel
from hotline.sim.dialplan import exten_matches
from hotline.sim.events import (
    device_state_change,
    device_state_list,
    dial_begin,
    dial_end,
    fully_booted,
    newchannel,
    originate_response,
    successful_auth,
)
from hotline.sim.originate import (
    TRUE_WORDS,
    OriginateHandler,
    OriginateOutcome,
    OriginateRequest,
    parse_originate,
    split_callerid,
)

log = get_logger()

EventLike = Sequence[tuple[str, str]] | Mapping[str, str]


@dataclass(eq=False)
class _Session:
    id: int
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    authenticated: bool = False
    #: event classes this session gets; None = all
    event_mask: set[str] | None = None
    frozen: bool = False
    write_lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class AmiServer:
    """A simulated Asterisk Manager Interface on 127.0.0.1 (port 0 by default).

    ``received`` records every action as ``(session id, headers)``;
    :meth:`count` counts them.  :meth:`kill` drops the listener and every
    session (an outage); :meth:`restart` comes back on the same port.
    """

    def __init__(
        self,
        state: AmiSimState | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        split_writes: bool = False,
        originate_handler: OriginateHandler | None = None,
    ) -> None:
        self.state = state if state is not None else AmiSimState()
        self.host = host
        self.port = port
        #: write each message in two pieces, to exercise the client's buffering
        self.split_writes = split_writes
        #: lets the FastAGI-side simulator turn an Originate into a simulated call
        self.originate_handler = originate_handler
        #: actions answered with silence (names, lower case): for timeout tests
        self.ignore_actions: set[str] = set()
        self.received: list[tuple[int, Headers]] = []
        self.logins = 0
        self.failed_logins = 0
        self.channels: dict[str, Channel] = {}
        self._server: asyncio.Server | None = None
        self._sessions: dict[int, _Session] = {}
        self._tasks: set[asyncio.Task[None]] = set()  # one per session
        self._helpers: set[asyncio.Task[None]] = set()  # async Originates in progress
        self._session_ids = itertools.count(1)
        self._uniqueid_counter = itertools.count()
        self._local_counter = itertools.count()
        self._epoch = int(time.time())
        self._started_at = time.time()
        self._changed: asyncio.Condition | None = None

    # -- lifecycle -----------------------------------------------------------

    async def start(self) -> None:
        """Listen; the first start picks a free port, restarts reuse it."""
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        log.debug("ami_sim_listening", host=self.host, port=self.port)

    async def kill(self) -> None:
        """An outage: stop listening and cut every session without a goodbye."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for session in list(self._sessions.values()):
            session.writer.transport.abort()  # their reads end; the session tasks finish
        for task in self._helpers:
            task.cancel()
        tasks = [*self._tasks, *self._helpers]
        if tasks:
            await asyncio.wait(tasks)
        self._sessions.clear()

    async def restart(self) -> None:
        """Come back on the same port after :meth:`kill`."""
        await self.start()

    async def close(self) -> None:
        await self.kill()

    async def __aenter__(self) -> AmiServer:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    # -- observation -----------------------------------------------------------

    def _condition(self) -> asyncio.Condition:
        if self._changed is None:
            self._changed = asyncio.Condition()
        return self._changed

    async def _notify(self) -> None:
        condition = self._condition()
        async with condition:
            condition.notify_all()

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        """Wait until ``predicate()`` holds (checked after every login and action)."""
        condition = self._condition()
        async with condition:
            await asyncio.wait_for(condition.wait_for(predicate), timeout)

    def count(self, action: str, **match: str) -> int:
        """How many ``action`` actions were received whose headers match ``match``."""
        total = 0
        for _sid, headers in self.received:
            if header(headers, "Action").lower() != action.lower():
                continue
            if all(header(headers, k) == v for k, v in match.items()):
                total += 1
        return total

    def freeze(self) -> None:
        """Every current session stops answering (a hung Asterisk); new ones still work."""
        for session in self._sessions.values():
            session.frozen = True

    @property
    def session_count(self) -> int:
        return len(self._sessions)

    # -- ids and channels ------------------------------------------------------

    def new_uniqueid(self) -> str:
        return f"{self._epoch}.{next(self._uniqueid_counter)}"

    def new_local_pair(
        self, exten: str, context: str, *, linkedid: str | None = None
    ) -> tuple[Channel, Channel]:
        """The two halves of ``Local/exten@context`` (;1 Down, ;2 Ring), registered."""
        base = f"Local/{exten}@{context}-{next(self._local_counter):08x}"
        uid1, uid2 = self.new_uniqueid(), self.new_uniqueid()
        link = linkedid or uid1
        one = Channel(f"{base};1", uid1, link, state=STATE_DOWN, context=context, exten=exten)
        two = Channel(f"{base};2", uid2, link, state=STATE_RING, context=context, exten=exten)
        self.channels[one.name] = one
        self.channels[two.name] = two
        return one, two

    def remove_channel(self, channel: Channel) -> None:
        """The channel is gone: Getvar on it now answers ``No such channel``."""
        self.channels.pop(channel.name, None)

    # -- events ------------------------------------------------------------------

    async def emit(self, event: EventLike) -> int:
        """Send an event to every logged-in session whose event mask allows it.

        ``event`` is ordered headers (``Event`` first) or a dict in wire order.
        Returns how many sessions got it.
        """
        headers: Headers = list(event.items()) if isinstance(event, Mapping) else list(event)
        classes = {c.strip() for c in header(headers, "Privilege").split(",")} - {"all", ""}
        sent = 0
        for session in list(self._sessions.values()):
            if not session.authenticated or session.frozen:
                continue
            if session.event_mask is not None and classes and not session.event_mask & classes:
                continue
            if await self._write(session, headers):
                sent += 1
        return sent

    async def emit_all(self, events: Iterable[EventLike]) -> None:
        for event in events:
            await self.emit(event)

    # -- connection handling -----------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        session = _Session(next(self._session_ids), reader, writer)
        self._sessions[session.id] = session
        try:
            writer.write(f"Asterisk Call Manager/{self.state.ami_version}\r\n".encode())
            parser = MessageReader()
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                for message in parser.feed(data):
                    if not await self._handle(session, message):
                        return
        except (ConnectionError, OSError):
            pass
        finally:
            self._sessions.pop(session.id, None)
            self._tasks.discard(task)
            writer.close()  # flushes a last reply (Goodbye, Authentication failed) first

    async def _write(self, session: _Session, headers: Headers) -> bool:
        data = format_message(headers)
        transport = session.writer.transport
        if transport.is_closing():
            return False
        try:
            async with session.write_lock:
                if self.split_writes and len(data) > 2:
                    middle = len(data) // 2
                    session.writer.write(data[:middle])
                    await session.writer.drain()
                    await asyncio.sleep(0)
                    session.writer.write(data[middle:])
                else:
                    session.writer.write(data)
                await session.writer.drain()
        except (ConnectionError, OSError):
            return False
        return True

    async def _reply(
        self,
        session: _Session,
        request: Headers,
        response: str,
        extra: Sequence[tuple[str, str]] = (),
    ) -> None:
        headers: Headers = [("Response", response)]
        action_id = header(request, "ActionID")
        if action_id:
            headers.append(("ActionID", action_id))
        await self._write(session, headers + list(extra))

    async def _handle(self, session: _Session, request: Headers) -> bool:
        """Answer one action; False ends the session."""
        self.received.append((session.id, request))
        await self._notify()
        if session.frozen:
            return True
        name = header(request, "Action")
        key = name.lower()
        if key in self.ignore_actions:
            return True
        if not name:
            await self._reply(session, request, "Error", [("Message", "Missing action in request")])
            return True
        if not session.authenticated and key not in ("login", "logoff", "challenge"):
            await self._reply(session, request, "Error", [("Message", "Permission denied")])
            return True
        handler = self._handlers.get(key)
        if handler is None:
            message = (
                f"Invalid/unknown command: {name}. "
                "Use Action: ListCommands to show available commands."
            )
            await self._reply(session, request, "Error", [("Message", message)])
            return True
        return await handler(self, session, request)

    # -- actions ------------------------------------------------------------------

    async def _login(self, session: _Session, request: Headers) -> bool:
        if session.authenticated:
            await self._reply(session, request, "Success", [("Message", "Already authenticated")])
            return True
        if (
            header(request, "Username") != self.state.username
            or header(request, "Secret") != self.state.secret
        ):
            self.failed_logins += 1
            await asyncio.sleep(self.state.auth_failure_delay)
            await self._reply(session, request, "Error", [("Message", "Authentication failed")])
            await self._notify()
            return False
        session.authenticated = True
        session.event_mask = _event_mask(header(request, "Events", "on"))
        self.logins += 1
        await self._reply(session, request, "Success", [("Message", "Authentication accepted")])
        if session.event_mask is None or "system" in session.event_mask:
            booted = fully_booted(int(time.time() - self._started_at))
            await self._write(session, list(booted.items()))
        if session.event_mask is None or "security" in session.event_mask:
            local = session.writer.get_extra_info("sockname") or ("127.0.0.1", self.port)
            remote = session.writer.get_extra_info("peername") or ("127.0.0.1", 0)
            event = successful_auth(self.state.username, f"0x{id(session):x}", local, remote)
            await self._write(session, list(event.items()))
        await self._notify()
        return True

    async def _logoff(self, session: _Session, request: Headers) -> bool:
        await self._reply(session, request, "Goodbye", [("Message", "Thanks for all the fish.")])
        return False

    async def _ping(self, session: _Session, request: Headers) -> bool:
        await self._reply(
            session, request, "Success", [("Ping", "Pong"), ("Timestamp", f"{time.time():.6f}")]
        )
        return True

    async def _events(self, session: _Session, request: Headers) -> bool:
        session.event_mask = _event_mask(header(request, "EventMask", "on"))
        state = "Off" if session.event_mask == set() else "On"
        await self._reply(session, request, "Success", [("Events", state)])
        return True

    async def _core_settings(self, session: _Session, request: Headers) -> bool:
        s = self.state
        await self._reply(
            session,
            request,
            "Success",
            [
                ("AMIversion", s.ami_version),
                ("AsteriskVersion", s.asterisk_version),
                ("SystemName", s.system_name),
                ("CoreMaxCalls", "0"),
                ("CoreMaxLoadAvg", "0.000000"),
                ("CoreRunUser", ""),
                ("CoreRunGroup", ""),
                ("CoreMaxFilehandles", "0"),
                ("CoreRealTimeEnabled", "No"),
                ("CoreCDRenabled", "No"),
                ("CoreHTTPenabled", "No"),
                ("SoundsSearchCustomDir", "No"),
            ],
        )
        return True

    async def _core_status(self, session: _Session, request: Headers) -> bool:
        started = datetime.fromtimestamp(self._started_at)
        date, clock = started.strftime("%Y-%m-%d"), started.strftime("%H:%M:%S")
        live = len(self.channels)
        await self._reply(
            session,
            request,
            "Success",
            [
                ("CoreStartupDate", date),
                ("CoreStartupTime", clock),
                ("CoreReloadDate", date),
                ("CoreReloadTime", clock),
                ("CoreCurrentCalls", str(live)),
                ("CoreProcessedCalls", "0"),
            ],
        )
        return True

    async def _getvar(self, session: _Session, request: Headers) -> bool:
        variable = header(request, "Variable")
        channel_name = header(request, "Channel")
        if not variable:
            await self._reply(session, request, "Error", [("Message", "No variable specified")])
            return True
        if channel_name:
            channel = self.channels.get(channel_name)
            if channel is None:
                await self._reply(session, request, "Error", [("Message", "No such channel")])
                return True
            builtin = {"UNIQUEID": channel.uniqueid, "CHANNEL": channel.name}
            value = channel.variables.get(variable, builtin.get(variable, ""))
        else:
            value = self.state.globals.get(variable, "")
        await self._reply(session, request, "Success", [("Variable", variable), ("Value", value)])
        return True

    async def _module_check(self, session: _Session, request: Headers) -> bool:
        wanted = module_base(header(request, "Module"))
        loaded = {module_base(m) for m in self.state.modules}
        if not wanted or wanted not in loaded:
            await self._reply(session, request, "Error", [("Message", "Module not loaded")])
        else:
            await self._reply(session, request, "Success", [("Version", "")])
        return True

    async def _show_dialplan(self, session: _Session, request: Headers) -> bool:
        listing = dialplan_listing(
            self.state.dialplan,
            header(request, "Context"),
            header(request, "Extension"),
            header(request, "ActionID"),
        )
        if isinstance(listing, str):
            await self._reply(session, request, "Error", [("Message", listing)])
            return True
        await self._reply(
            session,
            request,
            "Success",
            [("EventList", "start"), ("Message", "DialPlan list will follow")],
        )
        for item in listing:
            await self._write(session, item)
        return True

    async def _device_state_list(self, session: _Session, request: Headers) -> bool:
        if "res_manager_devicestate" not in {module_base(m) for m in self.state.modules}:
            message = (
                "Invalid/unknown command: DeviceStateList. "
                "Use Action: ListCommands to show available commands."
            )
            await self._reply(session, request, "Error", [("Message", message)])
            return True
        await self._reply(
            session,
            request,
            "Success",
            [("EventList", "start"), ("Message", "Device State Changes will follow")],
        )
        for item in device_state_list(self.state.device_states, header(request, "ActionID")):
            await self._write(session, list(item.items()))
        return True

    async def set_device_state(self, device: str, state: str) -> None:
        """``devstate change``: the device's state, and a DeviceStateChange to every session."""
        self.state.device_states[device] = state
        await self.emit(device_state_change(device, state))

    async def _command(self, session: _Session, request: Headers) -> bool:
        command = header(request, "Command")
        if not command:
            await self._reply(session, request, "Error", [("Message", "No command provided")])
            return True
        output = cli_output(self.state, self._started_at, command)
        if output is None:
            best = " ".join(command.split()[:2])
            output = [
                f"No such command '{command}' (type 'core show help {best}' for other "
                "possible commands)"
            ]
            response = "Error"
        else:
            response = "Success"
        extra: Headers = [("Message", "Command output follows")]
        extra += [("Output", line) for line in output]
        await self._reply(session, request, response, extra)
        return True

    async def _originate(self, session: _Session, request: Headers) -> bool:
        channel = header(request, "Channel")
        if not channel:
            await self._reply(session, request, "Error", [("Message", "Channel not specified")])
            return True
        originate = parse_originate(request)
        handler = self.originate_handler or self.answer_originate
        if originate.is_async:
            await self._reply(
                session, request, "Success", [("Message", "Originate successfully queued")]
            )
            task = asyncio.create_task(self._finish_async_originate(handler, originate))
            self._tasks_keepalive(task)
            return True
        outcome = await handler(originate)
        if outcome.answered:
            await self._reply(
                session, request, "Success", [("Message", "Originate successfully queued")]
            )
        else:
            await self._reply(session, request, "Error", [("Message", "Originate failed")])
        return True

    def _tasks_keepalive(self, task: asyncio.Task[None]) -> None:
        self._helpers.add(task)
        task.add_done_callback(self._helpers.discard)

    async def _finish_async_originate(
        self, handler: OriginateHandler, request: OriginateRequest
    ) -> None:
        outcome = await handler(request)
        cid_name, cid_num = split_callerid(request.caller_id)
        channel = outcome.channel if outcome.answered and outcome.channel else request.channel
        await self.emit(
            originate_response(
                action_id=request.action_id,
                success=outcome.answered,
                channel=channel,
                reason=outcome.reason,
                uniqueid=outcome.uniqueid if outcome.answered else None,
                context=request.context,
                exten=request.exten,
                application=request.application,
                data=request.data,
                caller_id_num=cid_num,
                caller_id_name=cid_name,
            )
        )

    async def answer_originate(self, request: OriginateRequest) -> OriginateOutcome:
        """The plain simulator's Originate: Local channels into its dialplan answer, others fail.

        Reason 0 for anything that cannot exist (another channel type, a
        missing context or extension).
        """
        tech, _, resource = request.channel.partition("/")
        if tech != "Local":
            return OriginateOutcome(reason=0)
        exten, _, context = resource.partition("@")
        context = context.split("/")[0]
        extensions = self.state.dialplan.get(context)
        if extensions is None or not any(exten_matches(p, exten) for p in extensions):
            return OriginateOutcome(reason=0)
        one, two = self.new_local_pair(exten, context)
        for channel in (one, two):
            channel.variables.update(request.variables)
        await self.emit(newchannel(one))
        await self.emit(newchannel(two))
        await self.emit(dial_begin(None, one, resource))
        one.state = two.state = STATE_UP
        await self.emit(dial_end(None, one, "ANSWER"))
        return OriginateOutcome(reason=4, channel=one.name, uniqueid=one.uniqueid)

    _handlers: ClassVar[dict[str, Callable[[AmiServer, _Session, Headers], Awaitable[bool]]]] = {
        "login": _login,
        "logoff": _logoff,
        "ping": _ping,
        "events": _events,
        "coresettings": _core_settings,
        "corestatus": _core_status,
        "getvar": _getvar,
        "modulecheck": _module_check,
        "showdialplan": _show_dialplan,
        "devicestatelist": _device_state_list,
        "command": _command,
        "originate": _originate,
    }


def _event_mask(text: str) -> set[str] | None:
    """Login/Events mask: "on" (all), "off" (none) or a list of classes."""
    value = text.strip().lower()
    if value in TRUE_WORDS or value == "":
        return None
    if value in {"off", "no", "false", "0"}:
        return set()
    return {c.strip() for c in value.split(",") if c.strip()}
