"""The simulator's one channel model: state, variables, ``${…}`` expansion like Asterisk's.

Both sides of the simulator use :class:`Channel`: the FastAGI side (each
simulated call's channels, on the call's virtual clock) and the AMI server
(channels of Originates and of hand-written event sequences in tests, on a
clock of their own that never moves).

A channel's hang-up time may be set ahead in virtual time (a caller who hangs
up during the confirm is hanging up from that moment on, as
``CHANNEL(checkhangup)`` sees it, yet still exists for ``CHANNEL_EXISTS``
until its Hangup event), so "alive" is always judged against the call's clock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from hotline.sim.clock import VirtualClock

STATE_DOWN = 0
STATE_RING = 4
STATE_RINGING = 5
STATE_UP = 6
STATE_BUSY = 7
STATE_DESC = {0: "Down", 4: "Ring", 5: "Ringing", 6: "Up", 7: "Busy"}

CAUSE_NORMAL = 16
CAUSE_BUSY = 17
CAUSE_NO_ANSWER = 19
CAUSE_UNAVAILABLE = 20
CAUSE_CONGESTION = 34
#: ``Cause-txt`` of a Hangup event.  0, 16, 17 and 19 are recorded
#: (tests/ami/recordings/01_probe_and_hotline100_agent201_pin1234.log and
#: 16_ami_edge_cases.log); the others are Asterisk's own texts for those causes
#: (``ast_cause2str``), for events a test writes by hand.
CAUSE_TEXT = {
    0: "Unknown",
    16: "Normal Clearing",
    17: "User busy",
    18: "No user responding",
    19: "User alerting, no answer",
    20: "Subscriber absent",
    21: "Call Rejected",
    34: "Circuit/channel congestion",
}
#: Hangup causes of a Dial target's two Local halves (``;1``, ``;2``) when the
#: target is not bridged, by DIALSTATUS.  A Local agent's real cause is often
#: only on the ``;2`` half: BUSY gives ``;1`` "0 Unknown", ``;2`` "17 User busy"
#: (tests/ami/recordings/04_agent203_busy.log), NOANSWER 0 on both
#: (02_agent200_noanswer.log).  A target that is one channel (``PJSIP/201``)
#: gets the ``;2`` cause.
LEG_END_CAUSES = {
    "NOANSWER": (0, 0),
    "BUSY": (0, CAUSE_BUSY),
    "CONTINUE": (CAUSE_NORMAL, CAUSE_NORMAL),
    "CANCEL": (CAUSE_NORMAL, CAUSE_NORMAL),
    "CONGESTION": (0, CAUSE_CONGESTION),
    "CHANUNAVAIL": (0, 0),
}


def leg_end_causes(status: str) -> tuple[int, int]:
    """The ``(;1, ;2)`` hangup causes of a target that ended with ``status``."""
    return LEG_END_CAUSES.get(status, (CAUSE_NORMAL, CAUSE_NORMAL))


@dataclass(eq=False)
class Channel:
    """One simulated Asterisk channel."""

    name: str
    uniqueid: str
    linkedid: str
    #: the call's virtual clock; channels outside a simulated call get one that stays at 0
    clock: VirtualClock = field(default_factory=VirtualClock)
    context: str = ""
    exten: str = ""
    priority: str = "1"
    callerid_num: str = "<unknown>"
    callerid_name: str = "<unknown>"
    connected_num: str = "<unknown>"
    connected_name: str = "<unknown>"
    language: str = "en"
    accountcode: str = ""
    state: int = STATE_DOWN
    variables: dict[str, str] = field(default_factory=dict)
    created_at: float = 0.0
    answered_at: float | None = None
    #: virtual time the channel hangs up (may lie ahead), ``None`` = up
    hungup_at: float | None = None
    #: the channel's hangup cause (Asterisk's HANGUPCAUSE)
    hangup_cause: int = 0
    #: the Hangup event was sent
    hangup_reported: bool = False

    @property
    def tech(self) -> str:
        return self.name.partition("/")[0]

    @property
    def state_desc(self) -> str:
        return STATE_DESC.get(self.state, "Unknown")

    def alive(self) -> bool:
        """Up (or ringing) at the call's current virtual time."""
        return self.hungup_at is None or self.clock.now() < self.hungup_at

    def hang_up(self, cause: int = CAUSE_NORMAL, at: float | None = None) -> None:
        """Mark the channel hung up now (or at ``at``); the earliest hang-up wins."""
        moment = self.clock.now() if at is None else at
        if self.hungup_at is not None and self.hungup_at <= moment:
            return
        self.hungup_at = moment
        if not self.hangup_cause:
            self.hangup_cause = cause

    def answer(self) -> bool:
        """Answer the channel; False when it was already up."""
        if self.state == STATE_UP:
            return False
        self.state = STATE_UP
        self.answered_at = self.clock.now()
        return True

    def age(self) -> float:
        return self.clock.now() - self.created_at

    def up_time(self) -> float:
        return 0.0 if self.answered_at is None else self.clock.now() - self.answered_at


#: looks a channel up by name or uniqueid (the PBX's registry)
ChannelFinder = Callable[[str], "Channel | None"]


def builtin(channel: Channel, name: str, epoch: int) -> str | None:
    """Asterisk's built-in variables (``pbx_retrieve_variable``) we simulate."""
    values = {
        "CHANNEL": channel.name,
        "UNIQUEID": channel.uniqueid,
        "CONTEXT": channel.context,
        "EXTEN": channel.exten,
        "PRIORITY": channel.priority,
        "HANGUPCAUSE": str(channel.hangup_cause),
        "EPOCH": str(epoch + int(channel.clock.now())),
        "CALLERIDNUM": channel.callerid_num,
        "CALLERIDNAME": channel.callerid_name,
    }
    return values.get(name)


def read_function(channel: Channel, call: str, find: ChannelFinder) -> str | None:
    """Evaluate ``NAME(args)``; ``None`` when the function is not simulated."""
    fname, _, rest = call.partition("(")
    arg = rest.removesuffix(")").strip()
    fname = fname.strip().upper()
    if fname == "CHANNEL_EXISTS":
        # a hung-up channel exists until it is destroyed (its Hangup event): a caller who
        # hangs up during the confirm still exists (tests/sim/recordings/20_*_confirm_*.raw)
        other = find(arg)
        return "1" if other is not None and not other.hangup_reported else "0"
    if fname == "CHANNEL":
        items = {
            "language": channel.language,
            "name": channel.name,
            "uniqueid": channel.uniqueid,
            "linkedid": channel.linkedid,
            "state": channel.state_desc,
            "context": channel.context,
            "exten": channel.exten,
            "accountcode": channel.accountcode,
            # 1 from the moment of a hang-up, while the channel still exists (recording 20)
            "checkhangup": "0" if channel.alive() else "1",
        }
        return items.get(arg.lower(), "")
    if fname == "CALLERID":
        key = arg.lower()
        if key in ("num", "number"):
            return channel.callerid_num
        if key == "name":
            return channel.callerid_name
        if key == "all":
            return f'"{channel.callerid_name}" <{channel.callerid_num}>'
        return ""
    if fname == "LEN":
        return str(len(arg))
    return None


def write_function(channel: Channel, call: str, value: str) -> bool:
    """``SET VARIABLE CHANNEL(language) de`` and friends; False if not simulated."""
    fname, _, rest = call.partition("(")
    arg = rest.removesuffix(")").strip().lower()
    fname = fname.strip().upper()
    if fname == "CHANNEL" and arg == "language":
        channel.language = value
        return True
    if fname == "CALLERID" and arg in ("num", "number"):
        channel.callerid_num = value
        return True
    if fname == "CALLERID" and arg == "name":
        channel.callerid_name = value
        return True
    return False


def lookup(channel: Channel, name: str, find: ChannelFinder, epoch: int) -> str | None:
    """What ``GET VARIABLE name`` finds: a function, a variable or a built-in."""
    if name.endswith(")"):
        return read_function(channel, name, find)
    if name in channel.variables:
        return channel.variables[name]
    return builtin(channel, name, epoch)


def substitute(channel: Channel, text: str, find: ChannelFinder, epoch: int) -> str:
    """Expand every ``${…}`` in ``text`` (nested ones too); unknown names become ``""``.

    ``$[…]`` expressions are not simulated and stay as they are.
    """
    out: list[str] = []
    i = 0
    while i < len(text):
        start = text.find("${", i)
        if start < 0:
            out.append(text[i:])
            break
        out.append(text[i:start])
        depth, j = 1, start + 2
        while j < len(text) and depth:
            if text.startswith("${", j):
                depth += 1
                j += 2
                continue
            if text[j] == "}":
                depth -= 1
            j += 1
        if depth:  # unbalanced: Asterisk keeps the rest as it is
            out.append(text[start:])
            break
        inner = substitute(channel, text[start + 2 : j - 1], find, epoch)
        out.append(lookup(channel, inner, find, epoch) or "")
        i = j
    return "".join(out)
