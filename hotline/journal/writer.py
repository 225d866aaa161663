"""The journal's call observer: a bounded queue and a batch writer, never in the call path.

A call hands its :class:`~hotline.flow.observers.CallEnded` record to
:meth:`JournalWriter.on_call_event`, which only appends it to a queue (no
I/O, no await).  A background task writes what is queued in batches, one
transaction each.  When the database is slow, stopped or full, the calls do
not notice: records stay queued (at most ``queue_size``), the writer retries
with a growing pause (up to ``retry_max``), and once the database is back
everything queued is written.  Only when the queue is full is the oldest
record dropped; every such loss is counted (``lost``, and the
``hotline_journal_lost_total`` metric) and logged, never silent.  On stop the
writer makes one last bounded attempt; what it cannot write then is logged as
lost too.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from hotline.config.journal import JournalConfig
from hotline.flow.observers import CallEnded, CallEvent
from hotline.journal import store
from hotline.journal.privacy import store_caller
from hotline.logs import get_logger

log = get_logger()

#: the first pause after a failed write (seconds); doubles up to ``retry_max``
FIRST_RETRY = 0.5
#: how often old calls are deleted (seconds)
RETENTION_EVERY = 3600.0
#: how long a stopping runtime tries to write what is still queued (seconds)
STOP_TIMEOUT = 5.0


class JournalWriter:
    """Receives finished calls, writes them in batches; see the module docstring."""

    def __init__(self, config: JournalConfig, engine: AsyncEngine | None = None) -> None:
        self.config = config
        self.engine = engine if engine is not None else store.make_engine(config)
        self._queue: deque[CallEnded] = deque()
        self._in_flight: list[CallEnded] = []
        self._first_try = True
        self._wake = asyncio.Event()
        self._flush_now = asyncio.Event()
        self._retry_now = asyncio.Event()
        self._empty = asyncio.Event()
        self._empty.set()
        self._task: asyncio.Task[None] | None = None
        self._key = b""
        self._last_retention = float("-inf")
        #: calls written, calls finally lost, failed write attempts, calls whose id was taken
        self.written = 0
        self.lost = 0
        self.failures = 0
        self.duplicates = 0
        #: since when (time.monotonic) the database has been failing; None while it works
        self.failing_since: float | None = None

    # --- the call path ------------------------------------------------------

    def on_call_event(self, event: CallEvent) -> None:
        """Queue a finished call; O(1), no I/O, never raises for a full queue."""
        if not isinstance(event, CallEnded):
            return
        if self.pending >= self.config.queue_size:
            self._lose(1, "queue_full")
            if self._queue:
                self._queue.popleft()
            else:  # everything queued is in flight: the newest cannot be kept
                return
        self._queue.append(event)
        self._empty.clear()
        self._wake.set()
        if len(self._queue) >= self.config.batch_size:
            self._flush_now.set()

    # --- state --------------------------------------------------------------

    @property
    def pending(self) -> int:
        """Calls not yet written (queued and in flight)."""
        return len(self._queue) + len(self._in_flight)

    # --- lifecycle ----------------------------------------------------------

    async def start(self) -> None:
        """Migrate the schema and start writing.

        A database that is unreachable at start does not stop the runtime:
        calls are queued and the writer keeps trying (it migrates first).
        """
        self._task = asyncio.create_task(self._run(), name="journal-writer")
        log.info(
            "journal_started",
            database=self.config.where(),
            caller=self.config.caller,
            keep_days=self.config.keep_days,
        )

    async def stop(self) -> None:
        """Write what is queued (bounded by STOP_TIMEOUT), then close; log what is lost."""
        if self._task is not None:
            self._retry_now.set()
            self._flush_now.set()
            self._wake.set()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(STOP_TIMEOUT):
                    await self._empty.wait()
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        left = self.pending
        if left:
            self._queue.clear()
            self._in_flight = []
            self._lose(left, "stopped_before_written")
        await self.engine.dispose()
        log.info("journal_stopped", written=self.written, lost=self.lost)

    async def drained(self) -> None:
        """Write what is queued now (no lingering) and return once it is written."""
        self._flush_now.set()
        await self._empty.wait()

    def retry_now(self) -> None:
        """Skip the current pause between retries (tests; an operator's signal)."""
        self._retry_now.set()

    # --- the writer task ----------------------------------------------------

    async def _run(self) -> None:
        delay = FIRST_RETRY
        ready = False
        while True:
            if not ready or self._queue or self._in_flight:
                try:
                    if not ready:
                        await self._prepare()
                        ready = True
                    await self._linger()
                    await self._write_some()
                    await self._retention()
                    delay = FIRST_RETRY
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # noqa: BLE001 - any database failure means: retry later
                    self._failed(exc)
                    await self._pause(delay)
                    delay = min(delay * 2, self.config.retry_max)
                    continue
            if not self._queue:
                self._empty.set()
                self._flush_now.clear()
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(RETENTION_EVERY):
                        await self._wake.wait()

    async def _prepare(self) -> None:
        await store.migrate(self.engine)
        configured = self.config.hash_key
        self._key = await store.hash_key(
            self.engine, configured.get_secret_value() if configured else None
        )

    async def _linger(self) -> None:
        """Let a batch fill up (``flush_interval``) unless it is full or a flush is asked for.

        One transaction per call would cost more than the call itself (measured:
        +34 % CPU per call at 1,000 calls arriving 40 per second, see
        benchmarks/RESULTS.md); a second's wait makes batches of dozens.
        """
        if self._in_flight or not self._queue or self._flush_now.is_set():
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.config.flush_interval):
                await self._flush_now.wait()

    async def _write_some(self) -> None:
        """Write queued calls in batches until the queue is empty."""
        while self._queue or self._in_flight:
            if not self._in_flight:
                size = min(self.config.batch_size, len(self._queue))
                self._in_flight = [self._queue.popleft() for _ in range(size)]
                self._first_try = True
            batch = self._in_flight
            call_rows, attempt_rows = self._rows(batch)
            self._first_try, first_try = False, self._first_try
            inserted = await store.write_calls(self.engine, call_rows, attempt_rows)
            self._in_flight = []
            taken = [call.call_id for call in batch if call.call_id not in inserted]
            if first_try and taken:
                # not a retry, so these ids were stored by another call (see schema.py)
                self._duplicates(taken)
                self.written += len(batch) - len(taken)
            else:  # a retry may find its own rows from an attempt that did commit
                self.written += len(batch)
            if self.failing_since is not None:
                log.info(
                    "journal_available_again",
                    database=self.config.where(),
                    unavailable_seconds=round(time.monotonic() - self.failing_since, 1),
                    pending=self.pending,
                )
                self.failing_since = None
            await asyncio.sleep(0)  # let calls run between batches

    def _rows(self, batch: list[CallEnded]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        call_rows: list[dict[str, Any]] = []
        attempt_rows: list[dict[str, Any]] = []
        mode, key = self.config.caller, self._key
        for call in batch:
            call_rows.append(
                {
                    "call_id": call.call_id,
                    "hotline": call.hotline,
                    "caller": store_caller(call.caller, mode, key),
                    "arrived": store.from_epoch(call.arrived),
                    "outcome": call.outcome,
                    "step": call.step,
                    "connected_to": call.connected_to,
                    "connected_label": call.connected_label,
                    "wait_seconds": call.wait_seconds,
                    "talk_seconds": call.talk_seconds,
                    "hung_up_by": call.hung_up_by,
                    "duration": call.duration,
                    "schedule": call.schedule,
                    "shift": call.shift,
                }
            )
            attempt_rows.extend(
                {
                    "call_id": call.call_id,
                    "attempt": a.attempt,
                    "hunt_step": a.hunt_step,
                    "number": a.number,
                    "label": a.label,
                    "outcome": a.outcome,
                    "seconds": a.seconds,
                    "dialstatus": a.dialstatus or None,
                    "hangupcause": a.hangupcause or None,
                }
                for a in call.attempts
            )
        return call_rows, attempt_rows

    async def _retention(self) -> None:
        now = time.monotonic()
        if now - self._last_retention < RETENTION_EVERY:
            return
        self._last_retention = now
        cutoff = store.from_epoch(time.time()) - timedelta(days=self.config.keep_days)
        deleted = await store.delete_before(self.engine, cutoff)
        if deleted:
            log.info("journal_retention", deleted=deleted, keep_days=self.config.keep_days)

    async def _pause(self, delay: float) -> None:
        self._retry_now.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(delay):
                await self._retry_now.wait()

    def _failed(self, exc: Exception) -> None:
        self.failures += 1
        if self.failing_since is None:
            self.failing_since = time.monotonic()
            log.warning(
                "journal_unavailable",
                database=self.config.where(),
                error=f"{type(exc).__name__}: {exc}"[:300],
                pending=self.pending,
                action="calls go on; their records are kept and retried",
            )

    def _duplicates(self, call_ids: list[str]) -> None:
        self.duplicates += len(call_ids)
        log.warning(
            "journal_call_id_taken",
            calls=len(call_ids),
            duplicates_total=self.duplicates,
            call_ids=call_ids[:5],
            hint="another call with this Asterisk uniqueid is stored; give each PBX sharing "
            "the journal its own systemname in asterisk.conf",
        )

    def _lose(self, count: int, reason: str) -> None:
        before = self.lost
        self.lost += count
        # every loss is counted; the log says so at the first and at each power of ten
        if before == 0 or len(str(before)) != len(str(self.lost)):
            log.error(
                "journal_records_lost",
                reason=reason,
                lost_total=self.lost,
                queue_size=self.config.queue_size,
                hint="the database was unavailable for too long; raise journal.queue_size",
            )
