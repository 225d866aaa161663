"""AMI -> :class:`~hotline.flow.presence.CallerPresence`: callers who hang up, at once.

Asterisk announces a caller's hang-up with ``HangupRequest`` (the far end hung
up: a SIP BYE, the other half of a Local channel) or ``SoftHangupRequest`` (a
hang-up asked for by Asterisk itself, e.g. AMI ``Hangup``) on the caller's
channel the moment it happens, while that channel still exists
(tests/ami/recordings/20_caller_hangs_up_during_confirm_signals.raw).  The feed
marks the caller gone and, through the presence's interrupter, stops what the
agent's confirm leg is playing with ``ControlPlayback`` (class ``call``): that
ends ``STREAM FILE`` and ``WAIT FOR DIGIT`` at once (recording 21), so the
leg can tell the agent.  Nothing here raises into a call: a failed action is
logged and the leg's own checks still find the hang-up.
"""

from __future__ import annotations

import asyncio

from hotline.ami.client import AmiClient
from hotline.ami.errors import AmiError
from hotline.ami.messages import AmiMessage, header_value
from hotline.flow.presence import CallerPresence, nobody_watching
from hotline.logs import get_logger

log = get_logger()

#: the events the feed subscribes to (the shipped manager.conf lets them through)
HANGUP_EVENT_NAMES = ("HangupRequest", "SoftHangupRequest")
#: a stop is repeated every STOP_REPEAT seconds, at most STOP_TRIES times, until the
#: confirm leg noticed (it checks between its commands, so one more command at most)
STOP_REPEAT = 0.2
STOP_TRIES = 10


class HangupFeed:
    """Feeds one presence from one AMI client and lends it the client to interrupt."""

    def __init__(self, presence: CallerPresence, client: AmiClient) -> None:
        self.presence = presence
        self.client = client
        #: the stops on their way, by agent channel
        self._tasks: dict[str, asyncio.Task[None]] = {}
        #: wakes a stop's pause early: the leg noticed (:meth:`quiet`)
        self._woken: dict[str, asyncio.Event] = {}

    def attach(self) -> None:
        self.client.on_event(HANGUP_EVENT_NAMES, self._hangup)
        self.presence.interrupter = self.stop_playback
        self.presence.quieter = self.quiet
        self.presence.ami_watching = self._watching

    def _watching(self) -> bool:
        return self.client.connected

    def _hangup(self, message: AmiMessage) -> None:
        uniqueid = header_value(message, "Uniqueid")
        if uniqueid:
            self.presence.hung_up(uniqueid)

    def stop_playback(self, call_id: str, channel: str) -> None:
        """Stop what ``channel`` plays (or waits for), without waiting for AMI's answer."""
        if not self.client.connected:
            return
        if channel in self._tasks:
            return
        task = asyncio.get_running_loop().create_task(self._stop(call_id, channel))
        self._tasks[channel] = task
        task.add_done_callback(lambda _t: self._forget(channel))

    def _forget(self, channel: str) -> None:
        self._tasks.pop(channel, None)
        self._woken.pop(channel, None)

    async def quiet(self, channel: str) -> None:
        """Wait until the stops for ``channel`` are done (Asterisk has them)."""
        task = self._tasks.get(channel)
        if task is not None:
            self._woken.setdefault(channel, asyncio.Event()).set()
            await asyncio.wait([task])

    async def _stop(self, call_id: str, channel: str) -> None:
        """Stop, and again while the leg has not noticed: a stop that arrives between two
        of its commands is dropped by Asterisk (nothing is playing then)."""
        for _ in range(STOP_TRIES):
            if not self.presence.to_interrupt(call_id, channel):
                return
            try:
                await self.client.action("ControlPlayback", {"Channel": channel, "Control": "stop"})
            except AmiError as exc:
                # e.g. "No such channel": the agent hung up meanwhile
                log.info("confirm_interrupt_failed", channel=channel, error=str(exc))
                return
            woken = self._woken.setdefault(channel, asyncio.Event())
            try:
                await asyncio.wait_for(woken.wait(), STOP_REPEAT)
            except TimeoutError:
                continue
            finally:
                woken.clear()

    async def close(self) -> None:
        if self.presence.interrupter == self.stop_playback:
            self.presence.interrupter = None
            self.presence.quieter = None
            self.presence.ami_watching = nobody_watching
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)
