"""A stopped database never costs a call: records wait in the queue and are written once it is back.

The PostgreSQL server is really stopped (``pg_ctl stop -m fast``: connections
cut, new ones refused) while 200 simulated calls run; each call lasts over
30 s of call time on the simulator's virtual clock, so the database is gone
for more than 30 s of every call's life without the suite waiting for it.
"""

from __future__ import annotations

from hotline.config.journal import JournalConfig
from hotline.journal import store
from hotline.journal.writer import JournalWriter
from tests.conftest import CapturedLog
from tests.journal.stack import PIN, journal_settings, serving, stored_calls, support
from tests.postgres import PostgresServer

AGENTS = "201=no-answer,202=accept"


def _writer(stack_journal: JournalWriter | None) -> JournalWriter:
    assert stack_journal is not None
    return stack_journal


async def test_database_stopped_during_200_calls(
    postgres_server: PostgresServer, postgres_url: str, captured_log: CapturedLog
) -> None:
    config = JournalConfig.model_validate({"enabled": True, "url": postgres_url})
    scripts = [support(PIN, callerid=f"4930{i:06d}") for i in range(200)]

    # the same calls with no journal at all: what "normal" looks like on the virtual clock
    baseline_settings = journal_settings(config.model_copy(update={"enabled": False}))
    async with serving(baseline_settings, AGENTS) as stack:
        baseline = await stack.calls(scripts)

    async with serving(journal_settings(config), AGENTS) as stack:
        writer = _writer(stack.runtime.journal)
        (before,) = await stack.calls([support(PIN)])
        await writer.drained()
        assert writer.written == 1

        postgres_server.stop()
        try:
            records = await stack.calls(scripts)
            assert writer.failures >= 1  # the writer really met the stopped database
            assert writer.pending == 200  # every record kept
        finally:
            postgres_server.start()
        writer.retry_now()
        await writer.drained()
        assert writer.lost == 0

    assert [r.error for r in records] == [None] * 200
    assert [r.outcome for r in records] == [r.outcome for r in baseline]
    assert {r.outcome for r in records} == {"connected"}
    # normal timings: every call took exactly as long as without a journal, all over 30 s
    assert [r.duration for r in records] == [r.duration for r in baseline]
    assert min(r.duration for r in records) > 30

    (unavailable,) = captured_log.named("journal_unavailable")
    assert unavailable["database"].startswith("postgresql://127.0.0.1:")
    assert captured_log.named("journal_available_again")
    assert not captured_log.named("journal_records_lost")

    engine = store.make_engine(config)
    try:
        stored = await stored_calls(engine)
    finally:
        await engine.dispose()
    assert set(stored) == {before.uniqueid} | {r.uniqueid for r in records}
    assert all(len(row["attempts"]) == 2 for row in stored.values())
    assert all(row["outcome"] == "connected" for row in stored.values())


async def test_a_full_queue_loses_the_oldest_and_says_so(
    postgres_server: PostgresServer, postgres_url: str, captured_log: CapturedLog
) -> None:
    config = JournalConfig.model_validate({"enabled": True, "url": postgres_url, "queue_size": 10})
    async with serving(journal_settings(config), AGENTS) as stack:
        writer = _writer(stack.runtime.journal)
        await stack.calls([support(PIN)])
        await writer.drained()
        postgres_server.stop()
        try:
            records = await stack.calls([support(PIN) for _ in range(25)], concurrency=1)
            assert writer.pending == 10
            assert writer.lost == 15
        finally:
            postgres_server.start()
        writer.retry_now()
        await writer.drained()

    assert {r.outcome for r in records} == {"connected"}  # the calls never noticed
    lost = captured_log.named("journal_records_lost")
    assert lost[0]["lost_total"] == 1
    assert lost[-1]["lost_total"] == 10
    assert captured_log.named("journal_stopped")[-1]["lost"] == 15
    engine = store.make_engine(config)
    try:
        stored = await stored_calls(engine)
    finally:
        await engine.dispose()
    # the call before the outage and ten of the 25 (concurrency 1 ends them in order): the
    # records already in the write that failed (the oldest; how many depends on when the
    # outage showed: 0, 1 or 7 seen) and then the newest
    assert len(stored) == 11
    kept = [r.uniqueid in stored for r in records]
    in_write = kept.index(False)
    assert kept == [True] * in_write + [False] * 15 + [True] * (10 - in_write)


async def test_a_slow_database_never_delays_a_call(
    postgres_url: str, captured_log: CapturedLog
) -> None:
    """Another session locks the tables: the writer's insert waits, the calls do not."""
    import asyncpg

    config = JournalConfig.model_validate({"enabled": True, "url": postgres_url})
    scripts = [support(PIN) for _ in range(150)]  # more than one batch: the writer starts at once
    async with serving(journal_settings(config), AGENTS) as stack:
        writer = _writer(stack.runtime.journal)
        await stack.calls([support(PIN)])
        await writer.drained()  # schema in place, first call written
        blocker = await asyncpg.connect(postgres_url.replace("postgresql://", "postgres://"))
        try:
            locked = blocker.transaction()
            await locked.start()
            await blocker.execute("LOCK TABLE calls, attempts IN ACCESS EXCLUSIVE MODE")
            records = await stack.calls(scripts)
            assert writer.pending > 0  # the writer is stuck behind the lock
            assert writer.written == 1
            await locked.rollback()
        finally:
            await blocker.close()
        writer.retry_now()
        await writer.drained()
        assert writer.lost == 0

    assert {r.outcome for r in records} == {"connected"}
    engine = store.make_engine(config)
    try:
        stored = await stored_calls(engine)
    finally:
        await engine.dispose()
    assert len(stored) == 151


async def test_a_database_down_at_start_stops_nothing(
    postgres_server: PostgresServer, postgres_url: str, captured_log: CapturedLog
) -> None:
    """The runtime serves at once; the writer migrates and writes once the database is up."""
    config = JournalConfig.model_validate({"enabled": True, "url": postgres_url})
    postgres_server.stop()
    try:
        async with serving(journal_settings(config), AGENTS) as stack:
            writer = _writer(stack.runtime.journal)
            records = await stack.calls([support(PIN) for _ in range(3)])
            writer.retry_now()
            assert writer.written == 0
            postgres_server.start()
            writer.retry_now()
            await writer.drained()
    finally:
        if not postgres_server.running:
            postgres_server.start()
    assert {r.outcome for r in records} == {"connected"}
    assert captured_log.named("journal_unavailable")
    engine = store.make_engine(config)
    try:
        assert set(await stored_calls(engine)) == {r.uniqueid for r in records}
        assert await store.current_revision(engine) == "0002"
    finally:
        await engine.dispose()
