"""Whether a call's caller is still there, as far as this runtime can know.

A caller who hangs up while an agent is being asked is not told to the
agent's leg: the caller's channel is only flagged as hanging up and still
exists until Dial returns, so ``CHANNEL_EXISTS`` stays ``1``
(tests/sim/recordings/20_*_confirm_*.raw).  Two signals do tell:

* the caller channel's ``CHANNEL(checkhangup)``, read from the agent's leg with
  ``GET FULL VARIABLE ${CHANNEL(checkhangup)} <caller uniqueid>``: ``1`` from
  the moment of the hang-up (recording 20).  Any Asterisk, no AMI; the leg
  has to ask, so it asks between prompts and while it waits for a key;
* AMI's ``HangupRequest`` / ``SoftHangupRequest`` for the caller's uniqueid,
  at once (tests/ami/recordings/20_*.raw).  With AMI the runtime also stops
  whatever the agent's leg is playing (AMI ``ControlPlayback``, which ends
  ``STREAM FILE`` and ``WAIT FOR DIGIT`` but not ``SAY DIGITS``:
  tests/sim/recordings/21_*_confirm_*.raw), so the agent hears the
  caller-gone prompt within moments.

This module keeps the AMI side: which calls' callers AMI saw hang up (only for
calls that have a leg in this process, so it stays small) and whom to
interrupt then.  The flows ask :meth:`CallerPresence.gone` before each step;
a confirm leg that finds the hang-up itself (no AMI) reports it here too, and
a caller leg whose Dial runs listens, to finish its record at once
(hotline/flow/leaving.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from hotline.logs import get_logger

log = get_logger()

#: told once when the caller of a watched call is known to have left
Listener = Callable[[], None]

#: stops what an agent's channel plays (AMI ControlPlayback) for a call id; fire and forget
Interrupter = Callable[[str, str], None]


def nobody_watching() -> bool:
    """``CallerPresence.ami_watching`` without AMI."""
    return False


class CallerPresence:
    """Callers that hung up, as AMI reported them, for the calls with a leg here."""

    def __init__(self) -> None:
        #: call id -> number of legs in this process watching it
        self._watched: dict[str, int] = {}
        self._gone: set[str] = set()
        #: call id -> agent channels to interrupt when its caller goes
        self._agents: dict[str, set[str]] = {}
        #: set by the AMI feed while AMI is connected; None: nobody can interrupt
        self.interrupter: Interrupter | None = None
        #: waits until no stop for a channel is on its way (set by the AMI feed)
        self.quieter: Callable[[str], Awaitable[None]] | None = None
        #: is AMI watching right now (set by the AMI feed: its client is connected)?
        self.ami_watching: Callable[[], bool] = nobody_watching
        #: call id -> the caller leg's listener while its Dial runs
        self._listeners: dict[str, Listener] = {}

    def watching(self, call_id: str, agent_channel: str | None = None) -> _Watching:
        """Keep track of ``call_id``'s caller while a leg of it runs here (a context manager).

        ``agent_channel`` (the confirm leg's own channel) is interrupted when
        the caller goes.
        """
        return _Watching(self, call_id, agent_channel)

    def listening(self, call_id: str, listener: Listener) -> _Listening:
        """Call ``listener`` if ``call_id``'s caller leaves meanwhile (at once if they have);
        a context manager."""
        return _Listening(self, call_id, listener)

    def _tell(self, call_id: str) -> None:
        listener = self._listeners.pop(call_id, None)
        if listener is None:
            return
        try:
            listener()
        except Exception:  # a flow's bug must not break the AMI feed or the other leg
            log.exception("caller_hangup_listener_failed")

    def gone(self, call_id: str) -> bool:
        """AMI said this call's caller hung up (False: not known, ask Asterisk)."""
        return call_id in self._gone

    def noticed(self, call_id: str, agent_channel: str) -> None:
        """The confirm leg on ``agent_channel`` knows its caller left: stop interrupting it."""
        agents = self._agents.get(call_id)
        if agents is not None:
            agents.discard(agent_channel)

    async def quiet(self, agent_channel: str) -> None:
        """Return once no stop for ``agent_channel`` is on its way to Asterisk: the
        caller-gone prompt that follows must not be stopped by one."""
        if self.quieter is not None:
            await self.quieter(agent_channel)

    def to_interrupt(self, call_id: str, agent_channel: str) -> bool:
        """Is ``agent_channel`` still asking for ``call_id``, whose caller left?

        A stop that reaches Asterisk between two commands of the leg is dropped
        (nothing plays then), so the interrupter repeats it while this is true.
        """
        return call_id in self._gone and agent_channel in self._agents.get(call_id, ())

    def hung_up(self, uniqueid: str) -> None:
        """Channel ``uniqueid`` is hanging up (AMI said so, or a confirm leg found it);
        if it is a watched caller, act on it."""
        if uniqueid not in self._watched or uniqueid in self._gone:
            return
        self._gone.add(uniqueid)
        agents = sorted(self._agents.get(uniqueid, ()))
        log.info("caller_hangup_seen", call_id=uniqueid, interrupting=agents or None)
        interrupter = self.interrupter
        if interrupter is not None:
            for channel in agents:
                interrupter(uniqueid, channel)
        self._tell(uniqueid)

    def __len__(self) -> int:
        return len(self._watched)


# Classes, not @contextmanager generators: a call enters them up to eight times, and a
# generator's context manager costs ~14k instructions a use, these ~7k (callgrind).


class _Watching:
    __slots__ = ("agent_channel", "call_id", "presence")

    def __init__(self, presence: CallerPresence, call_id: str, agent_channel: str | None) -> None:
        self.presence, self.call_id, self.agent_channel = presence, call_id, agent_channel

    def __enter__(self) -> None:
        presence, call_id = self.presence, self.call_id
        presence._watched[call_id] = presence._watched.get(call_id, 0) + 1
        if self.agent_channel:
            presence._agents.setdefault(call_id, set()).add(self.agent_channel)

    def __exit__(self, *exc: object) -> None:
        presence, call_id = self.presence, self.call_id
        left = presence._watched[call_id] - 1
        if self.agent_channel:
            agents = presence._agents.get(call_id, set())
            agents.discard(self.agent_channel)
            if not agents:
                presence._agents.pop(call_id, None)
        if left:
            presence._watched[call_id] = left
        else:
            del presence._watched[call_id]
            presence._gone.discard(call_id)


class _Listening:
    __slots__ = ("call_id", "listener", "presence")

    def __init__(self, presence: CallerPresence, call_id: str, listener: Listener) -> None:
        self.presence, self.call_id, self.listener = presence, call_id, listener

    def __enter__(self) -> None:
        presence, call_id = self.presence, self.call_id
        presence._listeners[call_id] = self.listener
        if call_id in presence._gone:
            presence._tell(call_id)

    def __exit__(self, *exc: object) -> None:
        listeners = self.presence._listeners
        if listeners.get(self.call_id) is self.listener:
            del listeners[self.call_id]
