"""AMI -> the board's PBX view: device states, re-read after every (re)connect.

After each login ``DeviceStateList`` lists every device Asterisk knows (one
``DeviceStateChange`` list item each, then ``DeviceStateListComplete``); from
then on ``DeviceStateChange`` events keep it current (``Privilege: call``, seen
in tests/ami/recordings/16_ami_edge_cases.log).  Changes that arrive while the
list is being read are applied on top of it.  When the connection drops, the
board stops trusting what it knew (:meth:`AgentBoard.pbx_down`) until the next
list: a busy agent may then be dialled, a free one is never skipped for a
stale state.  Nothing here ever raises into a call.
"""

from __future__ import annotations

import asyncio

from hotline.agents.board import AgentBoard
from hotline.ami.client import AmiClient
from hotline.ami.errors import AmiError
from hotline.ami.messages import AmiMessage, header_value
from hotline.logs import get_logger

log = get_logger()

#: the events the feed subscribes to (the shipped manager.conf lets them through)
DEVICE_EVENT_NAMES = ("DeviceStateChange",)


class DeviceStateFeed:
    """Keeps one board's device states in step with one AMI client."""

    def __init__(self, board: AgentBoard, client: AmiClient) -> None:
        self.board = board
        self.client = client
        self._pending: dict[str, str] | None = None  # changes seen while listing
        self._task: asyncio.Task[None] | None = None
        #: completed lists (tests and the status page read it)
        self.lists = 0
        #: set while the states are as fresh as the connection (a list done since it came up)
        self.listed = asyncio.Event()

    def attach(self) -> None:
        self.client.on_event(DEVICE_EVENT_NAMES, self._changed)
        self.client.on_connection(self._connection)
        if self.client.connected:
            self._connection(True)

    def _changed(self, message: AmiMessage) -> None:
        if header_value(message, "ActionID"):
            return  # a DeviceStateList item; the list reply carries it
        device, state = header_value(message, "Device"), header_value(message, "State")
        if not device:
            return
        if self._pending is not None:
            self._pending[device] = state
        if self.board.device_changed(device, state):
            log.debug("device_state_changed", device=device, state=state)

    def _connection(self, up: bool) -> None:
        if not up:
            self.listed.clear()
            self.board.pbx_down()
            log.info("device_states_untrusted", reason="AMI connection lost")
            return
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._list())

    async def _list(self) -> None:
        self._pending = {}
        try:
            response = await self.client.action("DeviceStateList")
        except AmiError as exc:
            log.warning(
                "device_states_unavailable",
                error=str(exc),
                hint="the AMI user needs read/write class 'call' (manager.conf); "
                "until then nobody is skipped for device state",
            )
            return
        finally:
            pending, self._pending = self._pending, None
        states = {
            header_value(item, "Device"): header_value(item, "State")
            for item in response.events
            if header_value(item, "Event").lower() == "devicestatechange"
        }
        states.update(pending or {})
        if not self.client.connected:
            return  # lost again while listing: stay untrusted
        self.board.pbx_up(states)
        self.lists += 1
        self.listed.set()
        log.info("device_states_listed", devices=len(states), watched=len(self.board.devices))

    async def wait_idle(self) -> None:
        """Until the list in progress, if any, is done (or failed)."""
        task = self._task
        if task is not None:
            await asyncio.wait([task])

    async def close(self) -> None:
        task = self._task
        if task is not None and not task.done():
            task.cancel()
            await asyncio.wait([task])
