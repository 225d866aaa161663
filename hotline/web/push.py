"""Pushes the live snapshot to every open page, and does nothing while none is open.

One task (started by the first page, ended with the last) waits for a change
of this runtime's calls in progress, or :data:`POLL_SECONDS` for what changes
without a call event here (device states from AMI, wrap-up running out,
schedules, other runtimes' calls through Redis), builds
the snapshot once, and hands the same bytes to every page that has not seen
them.  Pushes are at most :data:`MIN_INTERVAL` apart, so a busy hotline costs a
few snapshots a second however many events its calls make, and a page that
reads slowly only ever holds the newest one.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import orjson

from hotline.logs import get_logger
from hotline.web.snapshot import Snapshots

log = get_logger()

#: a change the calls do not announce (device state, wrap-up end) shows within this
POLL_SECONDS = 0.5
#: at most this many pushes a second reach a page
MIN_INTERVAL = 0.2


class Subscriber:
    """One open page: the newest snapshot it has not been sent yet."""

    __slots__ = ("_ready", "latest")

    def __init__(self) -> None:
        self.latest: bytes | None = None
        self._ready = asyncio.Event()

    def offer(self, data: bytes) -> None:
        self.latest = data
        self._ready.set()

    async def next(self) -> bytes:
        await self._ready.wait()
        self._ready.clear()
        data, self.latest = self.latest, None
        assert data is not None
        return data


class Broadcaster:
    """The live snapshot's one producer for all open pages."""

    def __init__(self, snapshots: Snapshots) -> None:
        self.snapshots = snapshots
        self._subscribers: set[Subscriber] = set()
        self._task: asyncio.Task[None] | None = None
        self._last: bytes = b""
        #: snapshots built so far (the benchmark reads it)
        self.built = 0

    @property
    def pages(self) -> int:
        return len(self._subscribers)

    def message(self, body: bytes) -> bytes:
        """``body`` with the server's clock, which the page counts seconds from."""
        return b'{"now":%.3f,%s' % (time.time(), body[1:])

    async def _snapshot(self) -> bytes:
        self.built += 1
        return orjson.dumps(await self.snapshots.build())

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[Subscriber]:
        """A page's stream: starts with the current snapshot, then every change."""
        subscriber = Subscriber()
        if not self._subscribers or not self._last:
            self._last = await self._snapshot()
        subscriber.offer(self.message(self._last))
        self._subscribers.add(subscriber)
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="web-live-push")
        try:
            yield subscriber
        finally:
            self._subscribers.discard(subscriber)
            if not self._subscribers and self._task is not None:
                task, self._task = self._task, None
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def _run(self) -> None:
        changes = self.snapshots.live.changes
        seen = changes.version
        while True:
            await changes.wait(seen, POLL_SECONDS)
            seen = changes.version
            try:
                body = await self._snapshot()
            except Exception as exc:  # the page must never take the runtime down
                log.exception("web_snapshot_failed", error=f"{type(exc).__name__}: {exc}")
                await asyncio.sleep(POLL_SECONDS)
                continue
            if body != self._last:
                self._last = body
                message = self.message(body)
                for subscriber in self._subscribers:
                    subscriber.offer(message)
                await asyncio.sleep(MIN_INTERVAL)  # let the next changes gather

    async def close(self) -> None:
        if self._task is not None:
            task, self._task = self._task, None
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
