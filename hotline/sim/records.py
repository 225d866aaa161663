"""What a simulated call leaves behind: the caller leg and every agent leg.

Tests assert on these records; ``hotline demo`` prints their timelines.  The
timeline never shows the digits a caller typed (only how many), so printing a
record cannot leak a PIN.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from hotline.sim.agents import AgentBehaviour

HungUpBy = Literal["caller", "runtime", "agent"]


@dataclass
class AgentLeg:
    """One target of one Dial, and (if it answered) its confirm leg."""

    #: the target as dialled, e.g. ``Local/201@sim-agents``
    target: str
    #: the agent number behaviours are keyed by, e.g. ``201``
    agent: str
    behaviour: AgentBehaviour
    #: DIALSTATUS-like outcome for this target (``ANSWER``, ``NOANSWER``, ``BUSY``, …)
    status: str = ""
    #: the agent's ;1 channel name, ``None`` when none was created
    channel: str | None = None
    uniqueid: str | None = None
    answered: bool = False
    #: True once the confirm FastAGI connection was opened and its header sent
    confirm_opened: bool = False
    #: prompt names the confirm leg played to the agent
    played: list[str] = field(default_factory=list)
    #: every AGI line the runtime sent on the confirm leg
    commands: list[str] = field(default_factory=list)
    #: keys the agent pressed that a command received
    digits: list[str] = field(default_factory=list)
    #: the agent channel's HOTLINE_CONFIRM when the confirm leg ended (``None``: never set)
    hotline_confirm: str | None = None
    #: GOSUB_RESULT on the agent channel when the subroutine ended
    gosub_result: str | None = None
    #: the subroutine's ``Return`` value (``None``: no Return ran)
    gosub_retval: str | None = None
    #: AGISTATUS of the confirm AGI (SUCCESS, HANGUP, FAILURE)
    agi_status: str | None = None
    bridged: bool = False
    #: seconds the bridge lasted
    talk_seconds: float = 0.0
    #: the agent hung up by themselves (whisper or end of talk)
    agent_hung_up: bool = False
    #: the system hung the agent channel up (not bridged, caller gone, runtime HANGUP)
    released: bool = False
    #: hung up while ringing with cause 26 because another leg of a parallel step won
    answered_elsewhere: bool = False


@dataclass
class CallRecord:
    """One simulated call from the caller's side."""

    uniqueid: str
    channel: str
    hotline: str
    label: str = ""
    #: prompt names from STREAM FILE / GET DATA / Playback, in order
    played: list[str] = field(default_factory=list)
    #: dial strings of every EXEC Dial, in order (also after a hang-up)
    dialed: list[str] = field(default_factory=list)
    agent_legs: list[AgentLeg] = field(default_factory=list)
    #: the agent number the caller was bridged to (the last bridge)
    bridged_to: str | None = None
    hung_up_by: HungUpBy | None = None
    #: the step the caller hung up in (``pin``, ``prompt``, ``ringing``, ``confirm``, …)
    hangup_step: str | None = None
    #: (context, extension, priority) the dialplan continues at after the AGI
    fallback: tuple[str, str, str] | None = None
    #: the AGI ended with the caller up and no jump (the runtime closed or died): the
    #: dialplan's next priority runs (the shipped one: the stock message, then Hangup)
    dialplan_continued: bool = False
    #: (leg, port) of the FastAGI server each leg reached, in order (``caller``, ``agent``)
    agi_servers: list[tuple[str, int]] = field(default_factory=list)
    #: the caller channel's variables at the end (incl. AGISTATUS)
    variables: dict[str, str] = field(default_factory=dict)
    #: (virtual seconds, what happened)
    timeline: list[tuple[float, str]] = field(default_factory=list)
    #: every AGI line the runtime sent on the caller leg
    commands: list[str] = field(default_factory=list)
    #: virtual seconds from the first header byte to the end of the call
    duration: float = 0.0
    #: real seconds the call took
    wall_seconds: float = 0.0
    #: real seconds the runtime took to send each next command (header/reply → command)
    latencies: list[float] = field(default_factory=list)
    #: set by :func:`hotline.sim.load.run_load` when the call could not be simulated
    error: str | None = None

    def note(self, at: float, text: str) -> None:
        self.timeline.append((round(at, 3), text))

    @property
    def outcome(self) -> str:
        """One word: ``connected``, ``abandoned``, ``fallback``, ``ended`` or ``error``."""
        if self.error:
            return "error"
        if self.bridged_to is not None:
            return "connected"
        if self.hung_up_by == "caller":
            return "abandoned"
        if self.fallback is not None:
            return "fallback"
        return "ended"

    def format_timeline(self) -> str:
        """The timeline as aligned text lines (``  12.500s  dialing …``)."""
        return "\n".join(f"{at:9.3f}s  {text}" for at, text in self.timeline)
