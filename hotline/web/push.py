"""Pushes the live snapshot to every open page, and does nothing while none is open.

One task (started by the first page, ended with the last) waits for a change
of this runtime's calls in progress, or :data:`POLL_SECONDS` for what changes
without a call event here (device states from AMI, wrap-up running out,
schedules, other runtimes' calls through Redis), builds the snapshot once,
makes it one server-sent event, and hands the same bytes to every page that
has not seen them.  Pushes are at least :data:`MIN_INTERVAL` apart (longer
when a snapshot is dear), so a busy hotline costs a few snapshots a second
however many events its calls make and however many pages are open, and a
page that reads slowly only ever holds the newest one.
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
#: pushes are at least MIN_INTERVAL apart, and COST_FACTOR times the last snapshot's build
#: time when that is longer (at most MAX_INTERVAL, so a change still shows within a second):
#: a few calls keep 5 pushes a second, a busy runtime spends at most 1/300 of the loop on
#: snapshots.  Measured (benchmarks/RESULTS.md, "Live page"): at N = 500 on the loaded 2-core
#: machine a build took 1.6 ms and 5 pushes a second were 6.9 % of the runtime's CPU.
MIN_INTERVAL = 0.2
MAX_INTERVAL = 0.5
COST_FACTOR = 300


class Subscriber:
    """One open page: the newest frame it has not been sent yet."""

    __slots__ = ("_ready", "closed", "latest")

    def __init__(self) -> None:
        self.latest: bytes | None = None
        self.closed = False
        self._ready = asyncio.Event()

    def offer(self, frame: bytes) -> None:
        self.latest = frame
        self._ready.set()

    def close(self) -> None:
        self.closed = True
        self._ready.set()

    async def next(self, quiet: float) -> bytes | None:
        """The newest frame; b"" once the server closes; None after ``quiet`` seconds of
        nothing (one timer, no task per message: 5 pages wait on every push)."""
        if not self._ready.is_set():
            try:
                async with asyncio.timeout(quiet):
                    await self._ready.wait()
            except TimeoutError:
                return None
        self._ready.clear()
        if self.closed:
            return b""
        frame, self.latest = self.latest, None
        assert frame is not None
        return frame


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

    def frame(self, body: bytes) -> bytes:
        """:meth:`message` as one server-sent event, made once for every open page: the
        snapshot is copied once per push, not once per page."""
        return b"".join((b'data: {"now":%.3f,' % time.time(), memoryview(body)[1:], b"\n\n"))

    async def _snapshot(self) -> bytes:
        self.built += 1
        return orjson.dumps(await self.snapshots.build())

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[Subscriber]:
        """A page's stream: starts with the current snapshot, then every change."""
        subscriber = Subscriber()
        if not self._subscribers or not self._last:
            self._last = await self._snapshot()
        subscriber.offer(self.frame(self._last))
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
            started = time.perf_counter()
            try:
                body = await self._snapshot()
            except Exception as exc:  # the page must never take the runtime down
                log.exception("web_snapshot_failed", error=f"{type(exc).__name__}: {exc}")
                await asyncio.sleep(POLL_SECONDS)
                continue
            if body != self._last:
                self._last = body
                frame = self.frame(body)
                for subscriber in self._subscribers:
                    subscriber.offer(frame)
                cost = time.perf_counter() - started
                # let the next changes gather
                await asyncio.sleep(min(MAX_INTERVAL, max(MIN_INTERVAL, cost * COST_FACTOR)))

    async def close(self) -> None:
        """The server stops: every open page's stream ends."""
        for subscriber in self._subscribers:
            subscriber.close()
        if self._task is not None:
            task, self._task = self._task, None
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
