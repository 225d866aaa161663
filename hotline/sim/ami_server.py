"""AMI side of the PBX simulator: an asyncio server that answers like Asterisk 22.

Everything it writes follows the recordings in ``../shared/asterisk/ami``
byte for byte: the banner, header order, ``\\r\\n`` line ends, ``Value: `` with
its trailing space, ``Output:`` lines without ``--END COMMAND--``, the ~1 s
delay before ``Authentication failed`` and the close after it, ``Permission
denied`` before login, and an async ``Originate``'s reply coming before its
events.  Behaviour that was not recorded (``ModuleCheck``, ``ShowDialPlan``,
``moh show classes``) follows Asterisk's source.

What it is for: tests and ``hotline demo`` run the AMI client, the startup
checks and the event log against it over real sockets.  The FastAGI side of
the simulator turns calls into AMI events with :meth:`AmiServer.emit` and the
event builders below, and can take over ``Originate`` with
:attr:`AmiServer.originate_handler`; :func:`simulate_calls` wires a
:class:`~hotline.sim.pbx.SimulatedPbx` both ways, so that an ``Originate``
into a hotline extension (what ``hotline call`` sends) becomes a simulated
call whose events come back over AMI.
"""

# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import itertools
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from hotline.ami.wire import Headers, MessageReader, format_message, header, headers_all
from hotline.logs import get_logger

if TYPE_CHECKING:
    from hotline.sim.caller import CallerScript
    from hotline.sim.pbx import SimulatedPbx
    from hotline.sim.records import CallRecord

log = get_logger()

EventLike = Sequence[tuple[str, str]] | Mapping[str, str]

#: modules a hotline needs, as Asterisk names them (ModuleCheck ignores ".so")
DEFAULT_MODULES = frozenset(
    {"res_agi", "app_dial", "app_stack", "res_musiconhold", "pbx_config", "app_playback"}
)

CHANNEL_STATE_DESC = {0: "Down", 4: "Ring", 5: "Ringing", 6: "Up", 7: "Busy"}

HANGUP_CAUSE_TEXT = {
    0: "Unknown",
    16: "Normal Clearing",
    17: "User busy",
    18: "No user responding",
    19: "User alerting, no answer",
    21: "Call Rejected",
    34: "Circuit/channel congestion",
}

_TRUE = {"yes", "true", "y", "t", "1", "on"}


# --------------------------------------------------------------------------
# state
# --------------------------------------------------------------------------


def default_dialplan() -> dict[str, dict[str, list[str]]]:
    """The dialplan the shipped configuration has: one hotline and the confirm subroutine."""
    return {
        "hotline-in": {
            "100": ["AGI(agi://127.0.0.1:4573/hotline/main)", "Hangup()"],
        },
        "hotline-confirm": {
            "s": [
                "Set(HOTLINE_CONFIRM=)",
                "AGI(agi://127.0.0.1:4573/confirm,${ARG1},${ARG2},${ARG3},${ARG4})",
                'GotoIf($["${HOTLINE_CONFIRM}" = "ACCEPTED"]?ok)',
                "Set(GOSUB_RESULT=CONTINUE)",
                'Return(${IF($["${HOTLINE_CONFIRM}" = ""]?ERROR:${HOTLINE_CONFIRM})})',
                "Set(GOSUB_RESULT=ACCEPTED)",
                "Return(ACCEPTED)",
            ],
        },
        # the scripted caller `hotline call` originates (docker/asterisk/etc/extensions.conf)
        "sim-caller": {
            "s": [
                "NoOp(sim-caller)",
                "Answer()",
                'Wait(${IF($["${DTMFDELAY}" = ""]?3:${DTMFDELAY})})',
                'ExecIf($["${PIN}" != ""]?SendDTMF(${PIN}#))',
                'Wait(${IF($["${HOLD}" = ""]?60:${HOLD})})',
                "Hangup()",
            ],
        },
    }


def hotline_dialplan(
    hotlines: Iterable[tuple[str, str, str]], agi_base: str = "agi://127.0.0.1:4573"
) -> dict[str, dict[str, list[str]]]:
    """The default dialplan with an entry per ``(name, context, extension)`` instead of 100."""
    dialplan = default_dialplan()
    del dialplan["hotline-in"]
    for name, context, extension in hotlines:
        dialplan.setdefault(context, {})[extension] = [
            f"AGI({agi_base}/hotline/{name})",
            "Playback(ss-noservice)",
            "Hangup()",
        ]
    return dialplan


@dataclass
class AmiSimState:
    """What the simulated PBX is: version, modules, dialplan, MOH, identity, credentials."""

    username: str = "hotline"
    secret: str = "hotline-secret"  # noqa: S105 - the lab's test credential
    asterisk_version: str = "22.10.1"
    ami_version: str = "11.0.0"
    entity_id: str = "02:fc:00:00:00:01"
    pbx_uuid: str = "290293f0-7be7-4800-96e2-b41d265a3015"
    system_name: str = ""
    modules: set[str] = field(default_factory=lambda: set(DEFAULT_MODULES))
    channel_types: list[str] = field(default_factory=lambda: ["Local"])
    #: context -> extension -> "App(data)" per priority (1, 2, ...)
    dialplan: dict[str, dict[str, list[str]]] = field(default_factory=default_dialplan)
    #: MOH class name -> mode
    moh_classes: dict[str, str] = field(default_factory=lambda: {"default": "files"})
    globals: dict[str, str] = field(default_factory=dict)
    #: seconds Asterisk waits before answering a wrong secret (1 s in manager.c)
    auth_failure_delay: float = 1.0


@dataclass
class SimChannel:
    """A channel as AMI events describe it."""

    name: str
    uniqueid: str
    linkedid: str
    state: int = 0
    caller_id_num: str = "<unknown>"
    caller_id_name: str = "<unknown>"
    connected_num: str = "<unknown>"
    connected_name: str = "<unknown>"
    language: str = "en"
    account_code: str = ""
    context: str = ""
    exten: str = ""
    priority: int = 1
    variables: dict[str, str] = field(default_factory=dict)

    @property
    def state_desc(self) -> str:
        return CHANNEL_STATE_DESC.get(self.state, "Unknown")


# --------------------------------------------------------------------------
# event builders (header order as recorded)
# --------------------------------------------------------------------------


def channel_headers(ch: SimChannel, prefix: str = "") -> Headers:
    """The channel snapshot block every channel event carries."""
    return [
        (f"{prefix}Channel", ch.name),
        (f"{prefix}ChannelState", str(ch.state)),
        (f"{prefix}ChannelStateDesc", ch.state_desc),
        (f"{prefix}CallerIDNum", ch.caller_id_num),
        (f"{prefix}CallerIDName", ch.caller_id_name),
        (f"{prefix}ConnectedLineNum", ch.connected_num),
        (f"{prefix}ConnectedLineName", ch.connected_name),
        (f"{prefix}Language", ch.language),
        (f"{prefix}AccountCode", ch.account_code),
        (f"{prefix}Context", ch.context),
        (f"{prefix}Exten", ch.exten),
        (f"{prefix}Priority", str(ch.priority)),
        (f"{prefix}Uniqueid", ch.uniqueid),
        (f"{prefix}Linkedid", ch.linkedid),
    ]


def newchannel(ch: SimChannel) -> Headers:
    return [("Event", "Newchannel"), ("Privilege", "call,all"), *channel_headers(ch)]


def hangup(ch: SimChannel, cause: int, cause_txt: str | None = None) -> Headers:
    text = cause_txt if cause_txt is not None else HANGUP_CAUSE_TEXT.get(cause, "Unknown")
    return [
        ("Event", "Hangup"),
        ("Privilege", "call,all"),
        *channel_headers(ch),
        ("Cause", str(cause)),
        ("Cause-txt", text),
    ]


def _dial_event(name: str, caller: SimChannel | None, dest: SimChannel) -> Headers:
    headers: Headers = [("Event", name), ("Privilege", "call,all")]
    if caller is not None:  # an Originate's own dial has no caller (finding 20)
        headers += channel_headers(caller)
    return headers + channel_headers(dest, "Dest")


def dial_begin(caller: SimChannel | None, dest: SimChannel, dial_string: str) -> Headers:
    return [*_dial_event("DialBegin", caller, dest), ("DialString", dial_string)]


def dial_state(caller: SimChannel | None, dest: SimChannel, status: str = "RINGING") -> Headers:
    return [*_dial_event("DialState", caller, dest), ("DialStatus", status)]


def dial_end(caller: SimChannel | None, dest: SimChannel, status: str) -> Headers:
    return [*_dial_event("DialEnd", caller, dest), ("DialStatus", status)]


def _bridge_headers(bridge_id: str, num_channels: int) -> Headers:
    return [
        ("BridgeUniqueid", bridge_id),
        ("BridgeType", "basic"),
        ("BridgeTechnology", "simple_bridge"),
        ("BridgeCreator", "<unknown>"),
        ("BridgeName", "<unknown>"),
        ("BridgeNumChannels", str(num_channels)),
        ("BridgeVideoSourceMode", "none"),
    ]


def bridge_enter(ch: SimChannel, bridge_id: str, num_channels: int) -> Headers:
    return [
        ("Event", "BridgeEnter"),
        ("Privilege", "call,all"),
        *_bridge_headers(bridge_id, num_channels),
        *channel_headers(ch),
    ]


def bridge_leave(ch: SimChannel, bridge_id: str, num_channels: int) -> Headers:
    return [
        ("Event", "BridgeLeave"),
        ("Privilege", "call,all"),
        *_bridge_headers(bridge_id, num_channels),
        *channel_headers(ch),
    ]


def dtmf_end(
    ch: SimChannel, digit: str, duration_ms: int = 100, direction: str = "Received"
) -> Headers:
    return [
        ("Event", "DTMFEnd"),
        ("Privilege", "dtmf,all"),
        *channel_headers(ch),
        ("Digit", digit),
        ("DurationMs", str(duration_ms)),
        ("Direction", direction),
    ]


def originate_response(
    *,
    action_id: str,
    success: bool,
    channel: str,
    reason: int,
    uniqueid: str | None,
    context: str = "",
    exten: str = "",
    application: str = "",
    data: str = "",
    caller_id_num: str = "<unknown>",
    caller_id_name: str = "<unknown>",
) -> Headers:
    headers: Headers = [("Event", "OriginateResponse"), ("Privilege", "call,all")]
    if action_id:
        headers.append(("ActionID", action_id))
    headers += [("Response", "Success" if success else "Failure"), ("Channel", channel)]
    if application:
        headers += [("Application", application), ("Data", data)]
    else:
        headers += [("Context", context), ("Exten", exten)]
    return [
        *headers,
        ("Reason", str(reason)),
        ("Uniqueid", uniqueid or "<unknown>"),
        ("CallerIDNum", caller_id_num),
        ("CallerIDName", caller_id_name),
    ]


# Dial-leg sequences, as recorded in runs 02-10 (Local agents: the real cause is
# often only on the ;2 half, e.g. BUSY: ;1 "0 Unknown", ;2 "17 User busy").
_LEG_END_CAUSES = {
    "NOANSWER": (0, 0),
    "BUSY": (0, 17),
    "CONTINUE": (16, 16),
    "CANCEL": (16, 16),
    "CONGESTION": (0, 34),
    "CHANUNAVAIL": (0, 0),
}


def dial_leg_start(
    caller: SimChannel, agent1: SimChannel, agent2: SimChannel, dial_string: str
) -> list[Headers]:
    """A Local agent leg begins: both halves appear, then DialBegin."""
    return [newchannel(agent1), newchannel(agent2), dial_begin(caller, agent1, dial_string)]


def dial_leg_ringing(caller: SimChannel, agent1: SimChannel) -> list[Headers]:
    agent1.state = 5
    return [dial_state(caller, agent1, "RINGING")]


def dial_leg_end(
    caller: SimChannel, agent1: SimChannel, agent2: SimChannel, status: str
) -> list[Headers]:
    """A leg that did not bridge: DialEnd with ``status``, then both halves hang up."""
    cause1, cause2 = _LEG_END_CAUSES.get(status, (16, 16))
    return [dial_end(caller, agent1, status), hangup(agent1, cause1), hangup(agent2, cause2)]


def dial_leg_answered(caller: SimChannel, agent1: SimChannel, bridge_id: str) -> list[Headers]:
    """A confirmed leg: DialEnd ANSWER, then both enter the bridge."""
    agent1.state = 6
    return [
        dial_end(caller, agent1, "ANSWER"),
        bridge_enter(agent1, bridge_id, 1),
        bridge_enter(caller, bridge_id, 2),
    ]


def bridge_end(
    caller: SimChannel, agent1: SimChannel, agent2: SimChannel, bridge_id: str
) -> list[Headers]:
    """The bridged call ends (the agent side clears normally)."""
    return [
        bridge_leave(caller, bridge_id, 1),
        bridge_leave(agent1, bridge_id, 0),
        hangup(agent1, 16),
        hangup(agent2, 16),
    ]


# --------------------------------------------------------------------------
# Originate hook
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class OriginateRequest:
    """An Originate as the simulator received it."""

    action_id: str
    channel: str
    context: str
    exten: str
    priority: str
    application: str
    data: str
    caller_id: str
    variables: dict[str, str]
    timeout_ms: int
    is_async: bool
    headers: Headers


@dataclass(frozen=True)
class OriginateOutcome:
    """What became of an Originate: ``reason`` 4 answered, 0 failed, 3 no answer, 5 busy."""

    reason: int
    channel: str | None = None
    uniqueid: str | None = None

    @property
    def answered(self) -> bool:
        return self.reason == 4


OriginateHandler = Callable[[OriginateRequest], Awaitable[OriginateOutcome]]


# --------------------------------------------------------------------------
# CLI output (what the Command action returns)
# --------------------------------------------------------------------------

_SETTINGS_TEMPLATE = """
PBX Core settings
-----------------
  Version:                     {version}
  ABI related Build Options:   OPTIONAL_API
  All Build Options:           BUILD_NATIVE, OPTIONAL_API
  Maximum calls:               Not set
  Maximum open file handles:   20000
  Root console verbosity:      8
  Current console verbosity:   8
  Debug level:                 0
  Trace level:                 0
  Dump core on crash:          No
  Core dump file:              core
  Maximum load average:        0.000000
  Minimum free memory:         0 MB
  Startup time:                {startup}
  Last reload time:            {startup}
  System:                      Linux/6.18.44-fc-v769 built by root on x86_64 2026-11-21 23:49:37 UTC
  System name:                 {system_name}
  Entity ID:                   {entity_id}
  PBX UUID:                    {pbx_uuid}
  Default language:            en
  Language prefix:             Enabled
  User name and group:         /
  Running directory:           /lab
  Executable includes:         Disabled
  Transcode via SLIN:          Enabled
  Transmit silence during rec: Disabled
  Generic PLC:                 Disabled
  Generic PLC on equal codecs: Disabled
  Hide Msg Chan AMI events:    Disabled
  Sounds search custom dir:    Disabled
  Min DTMF duration::          80
  Cache media frames:          Enabled
  RTP use dynamic payloads:    1
  RTP dynamic payload types:   35-63,96-127
  Channel storage backend:     ao2_legacy
  Shell on remote consoles:    Enabled

* Subsystems
  -------------
  Manager (AMI):               Enabled
  Web Manager (AMI/HTTP):      Disabled
  Call data records:           Disabled
  Realtime Architecture (ARA): Disabled

* Directories
  -------------
  Configuration file:          /etc/asterisk/asterisk.conf
  Configuration directory:     /etc/asterisk
  Module directory:            /usr/lib/asterisk/modules
  Spool directory:             /var/spool/asterisk
  Log directory:               /var/log/asterisk
  Run/Sockets directory:       /var/run/asterisk
  PID file:                    /var/run/asterisk/asterisk.pid
  VarLib directory:            /var/lib/asterisk
  Data directory:              /var/lib/asterisk
  ASTDB:                       /var/lib/asterisk/db/astdb
  IAX2 Keys directory:         /var/lib/asterisk/keys
  AGI Scripts directory:       /var/lib/asterisk/agi-bin
  Cache directory:             /var/cache/asterisk

"""

_MODULE_DESCRIPTIONS = {
    "res_agi": "Asterisk Gateway Interface (AGI)",
    "app_dial": "Dialing Application",
    "app_stack": "Dialplan subroutines (Gosub, Return, etc)",
    "res_musiconhold": "Music On Hold Resource",
    "pbx_config": "Text Extension Configuration",
    "app_playback": "Sound File Playback Application",
}

_CHANNELTYPE_FORMAT = "{:<15.15}  {:<40.40} {:<13.13} {:<13.13} {:<13.13} {:<13.13}"
_MODLIST_FORMAT = "{:<30} {:<40.40} {:<10} {:<11} {:>13}"


def _module_base(name: str) -> str:
    """Asterisk compares module names without a ".so" suffix, case-insensitively."""
    return name.strip().lower().removesuffix(".so")


def _exten_matches(pattern: str, exten: str) -> bool:
    """Asterisk extension matching: literal, or ``_`` patterns with X Z N [..] . !"""
    if not pattern.startswith("_"):
        return pattern == exten
    regex = []
    chars = iter(pattern[1:])
    for ch in chars:
        upper = ch.upper()
        if upper == "X":
            regex.append("[0-9]")
        elif upper == "Z":
            regex.append("[1-9]")
        elif upper == "N":
            regex.append("[2-9]")
        elif ch == ".":
            regex.append(".+")
        elif ch == "!":
            regex.append(".*")
        elif ch == "[":
            body = "".join(itertools.takewhile(lambda c: c != "]", chars))
            regex.append(f"[{re.escape(body).replace(chr(92) + '-', '-')}]")
        else:
            regex.append(re.escape(ch))
    return re.fullmatch("".join(regex), exten) is not None


def _split_app(step: str) -> tuple[str, str]:
    app, _, rest = step.partition("(")
    return app, rest[:-1] if rest.endswith(")") else rest


# --------------------------------------------------------------------------
# the server
# --------------------------------------------------------------------------


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
        self.channels: dict[str, SimChannel] = {}
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
    ) -> tuple[SimChannel, SimChannel]:
        """The two halves of ``Local/exten@context`` (;1 Down, ;2 Ring), registered."""
        base = f"Local/{exten}@{context}-{next(self._local_counter):08x}"
        uid1, uid2 = self.new_uniqueid(), self.new_uniqueid()
        link = linkedid or uid1
        one = SimChannel(f"{base};1", uid1, link, state=0, context=context, exten=exten)
        two = SimChannel(f"{base};2", uid2, link, state=4, context=context, exten=exten)
        self.channels[one.name] = one
        self.channels[two.name] = two
        return one, two

    def remove_channel(self, channel: SimChannel) -> None:
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
            uptime = str(int(time.time() - self._started_at))
            await self._write(
                session,
                [
                    ("Event", "FullyBooted"),
                    ("Privilege", "system,all"),
                    ("Uptime", uptime),
                    ("LastReload", uptime),
                    ("Status", "Fully Booted"),
                ],
            )
        if session.event_mask is None or "security" in session.event_mask:
            await self._write(session, self._successful_auth(session))
        await self._notify()
        return True

    def _successful_auth(self, session: _Session) -> Headers:
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"
        local = session.writer.get_extra_info("sockname") or ("127.0.0.1", self.port)
        remote = session.writer.get_extra_info("peername") or ("127.0.0.1", 0)
        return [
            ("Event", "SuccessfulAuth"),
            ("Privilege", "security,all"),
            ("EventTV", now),
            ("Severity", "Informational"),
            ("Service", "AMI"),
            ("EventVersion", "1"),
            ("AccountID", self.state.username),
            ("SessionID", f"0x{id(session):x}"),
            ("LocalAddress", f"IPV4/TCP/{local[0]}/{local[1]}"),
            ("RemoteAddress", f"IPV4/TCP/{remote[0]}/{remote[1]}"),
            ("UsingPassword", "0"),
            ("SessionTV", now),
        ]

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
        wanted = _module_base(header(request, "Module"))
        loaded = {_module_base(m) for m in self.state.modules}
        if not wanted or wanted not in loaded:
            await self._reply(session, request, "Error", [("Message", "Module not loaded")])
        else:
            await self._reply(session, request, "Success", [("Version", "")])
        return True

    async def _show_dialplan(self, session: _Session, request: Headers) -> bool:
        context = header(request, "Context")
        exten = header(request, "Extension")
        action_id = header(request, "ActionID")
        items: list[Headers] = []
        contexts = extens = prios = 0
        context_found = exten_found = False
        for ctx_name, extensions in self.state.dialplan.items():
            if context and ctx_name != context:
                continue
            context_found = True
            contexts += 1
            for ext_name, steps in extensions.items():
                if exten and not _exten_matches(ext_name, exten):
                    continue
                exten_found = True
                extens += 1
                for prio, step in enumerate(steps, start=1):
                    prios += 1
                    app, appdata = _split_app(step)
                    item: Headers = [("Event", "ListDialplan")]
                    if action_id:
                        item.append(("ActionID", action_id))
                    item += [
                        ("Context", ctx_name),
                        ("Extension", ext_name),
                        ("Priority", str(prio)),
                        ("Application", app),
                        ("AppData", appdata),
                        ("Registrar", "pbx_config"),
                    ]
                    items.append(item)
        if context and not context_found:
            message = f"Did not find context {context}"
            await self._reply(session, request, "Error", [("Message", message)])
            return True
        if exten and not exten_found:
            where = f"{exten}@{context}" if context else f"{exten} in any context"
            await self._reply(
                session, request, "Error", [("Message", f"Did not find extension {where}")]
            )
            return True
        await self._reply(
            session,
            request,
            "Success",
            [("EventList", "start"), ("Message", "DialPlan list will follow")],
        )
        for item in items:
            await self._write(session, item)
        complete: Headers = [("Event", "ShowDialPlanComplete")]
        if action_id:
            complete.append(("ActionID", action_id))
        complete += [
            ("EventList", "Complete"),
            ("ListItems", str(len(items))),
            ("ListExtensions", str(extens)),
            ("ListPriorities", str(prios)),
            ("ListContexts", str(contexts)),
        ]
        await self._write(session, complete)
        return True

    def _cli(self, command: str) -> list[str] | None:
        """CLI output lines for the commands the simulator knows; None: no such command."""
        words = command.split()
        s = self.state
        if words == ["core", "show", "settings"]:
            startup = datetime.fromtimestamp(self._started_at).strftime("%H:%M:%S")
            text = _SETTINGS_TEMPLATE.format(
                version=s.asterisk_version,
                startup=startup,
                system_name=s.system_name,
                entity_id=s.entity_id,
                pbx_uuid=s.pbx_uuid,
            )
            return text.split("\n")
        if words == ["core", "show", "version"]:
            return [
                f"Asterisk {s.asterisk_version} built by root @ vm on a x86_64 running Linux "
                "on 2026-11-21 23:49:37 UTC"
            ]
        if words == ["core", "show", "channeltypes"]:
            rows = [
                _CHANNELTYPE_FORMAT.format(
                    "Type", "Description", "Devicestate", "Presencestate", "Indications", "Transfer"
                ),
                _CHANNELTYPE_FORMAT.format(*(["-------------"] * 6)),
            ]
            for tech in s.channel_types:
                description = "Local Proxy Channel Driver" if tech == "Local" else f"{tech} driver"
                rows.append(
                    _CHANNELTYPE_FORMAT.format(tech, description, "yes", "no", "yes", "yes")
                )
            return [*rows, "----------", f"{len(s.channel_types)} channel drivers registered."]
        if words == ["moh", "show", "classes"] and "res_musiconhold" in {
            _module_base(m) for m in s.modules
        }:
            lines = []
            for name, mode in s.moh_classes.items():
                lines += [f"Class: {name}", f"\tMode: {mode}", "\tDirectory: moh"]
            return lines
        if words[:3] == ["module", "show", "like"] and len(words) == 4:
            like = words[3].lower()
            matching = sorted(m for m in s.modules if like in _module_base(m))
            lines = [
                _MODLIST_FORMAT.format(
                    "Module", "Description", "Use Count", "Status", "Support Level"
                )
            ]
            for module in matching:
                base = _module_base(module)
                description = _MODULE_DESCRIPTIONS.get(base, base)
                lines.append(
                    _MODLIST_FORMAT.format(f"{base}.so", description, 0, "Running", "core")
                )
            return [*lines, f"{len(matching)} modules loaded"]
        return None

    async def _command(self, session: _Session, request: Headers) -> bool:
        command = header(request, "Command")
        if not command:
            await self._reply(session, request, "Error", [("Message", "No command provided")])
            return True
        output = self._cli(command)
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
        variables = {}
        for item in headers_all(request, "Variable"):
            for pair in item.split(","):
                key, _, value = pair.partition("=")
                variables[key] = value
        timeout_text = header(request, "Timeout", "30000")
        originate = OriginateRequest(
            action_id=header(request, "ActionID"),
            channel=channel,
            context=header(request, "Context"),
            exten=header(request, "Exten"),
            priority=header(request, "Priority", "1"),
            application=header(request, "Application"),
            data=header(request, "Data"),
            caller_id=header(request, "CallerID"),
            variables=variables,
            timeout_ms=int(timeout_text) if timeout_text.isdigit() else 30000,
            is_async=header(request, "Async").lower() in _TRUE,
            headers=request,
        )
        handler = self.originate_handler or self._default_originate
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
        cid_name, cid_num = _split_callerid(request.caller_id)
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

    async def _default_originate(self, request: OriginateRequest) -> OriginateOutcome:
        """Answer Local channels into existing dialplan; fail anything else (Reason 0)."""
        tech, _, resource = request.channel.partition("/")
        if tech != "Local":
            return OriginateOutcome(reason=0)
        exten, _, context = resource.partition("@")
        context = context.split("/")[0]
        extensions = self.state.dialplan.get(context)
        if extensions is None or not any(_exten_matches(p, exten) for p in extensions):
            return OriginateOutcome(reason=0)
        one, two = self.new_local_pair(exten, context)
        for channel in (one, two):
            channel.variables.update(request.variables)
        await self.emit(newchannel(one))
        await self.emit(newchannel(two))
        await self.emit(dial_begin(None, one, resource))
        one.state = two.state = 6
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
        "command": _command,
        "originate": _originate,
    }


def _event_mask(text: str) -> set[str] | None:
    """Login/Events mask: "on" (all), "off" (none) or a list of classes."""
    value = text.strip().lower()
    if value in _TRUE or value == "":
        return None
    if value in {"off", "no", "false", "0"}:
        return set()
    return {c.strip() for c in value.split(",") if c.strip()}


def _split_callerid(caller_id: str) -> tuple[str, str]:
    """``"Name" <number>`` into (name, number); ``<unknown>`` where missing."""
    match = re.fullmatch(r'\s*"?([^"<]*?)"?\s*<([^>]*)>\s*', caller_id)
    if match:
        return match.group(1) or "<unknown>", match.group(2) or "<unknown>"
    return "<unknown>", caller_id or "<unknown>"


# --------------------------------------------------------------------------
# Originate -> simulated call
# --------------------------------------------------------------------------


def _agi_path(steps: Sequence[str]) -> str | None:
    """The FastAGI script path of the first ``AGI(agi://host:port/path,...)`` step."""
    for step in steps:
        app, data = _split_app(step)
        if app.lower() != "agi":
            continue
        url = data.split(",")[0]
        if url.startswith("agi://"):
            _, _, path = url.removeprefix("agi://").partition("/")
            return path or None
    return None


def _lookup(
    dialplan: Mapping[str, Mapping[str, Sequence[str]]], context: str, exten: str
) -> Sequence[str] | None:
    for pattern, steps in dialplan.get(context, {}).items():
        if _exten_matches(pattern, exten):
            return steps
    return None


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
        from hotline.sim.errors import SimError

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
        from hotline.sim.caller import CallerScript

        tech, _, resource = request.channel.partition("/")
        if tech != "Local" or request.application:
            return None
        exten, _, context = resource.partition("@")
        if _lookup(self.ami.state.dialplan, context.split("/")[0], exten) is None:
            return None
        steps = _lookup(self.ami.state.dialplan, request.context, request.exten)
        path = _agi_path(steps) if steps is not None else None
        if path is None or not path.startswith("hotline/"):
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
        name, number = _split_callerid(request.caller_id)
        return CallerScript(
            hotline=path.removeprefix("hotline/"),
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
            return await self.ami._default_originate(request)
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
                await self.ami.emit(hangup(SimChannel(channel, uniqueid, linkedid, state=6), 16))
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
