"""Schema migrations keep every record: from the first version to the newest, on both databases."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from datetime import UTC, datetime

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, DateTime, bindparam, text

from hotline.config.journal import JournalConfig
from hotline.journal import store
from hotline.journal.schema import metadata
from tests.journal.stack import stored_calls

ARRIVED = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


def _v1_calls(count: int) -> list[dict[str, object]]:
    return [
        {
            "call_id": f"1700000000.{i}",
            "hotline": "support" if i % 3 else "sales",
            "caller": f"****{i:03d}",
            "arrived": ARRIVED.replace(minute=i % 60),
            "outcome": "connected" if i % 2 else "nobody_available",
            "step": None,
            "connected_to": "202" if i % 2 else None,
            "connected_label": None,
            "wait_seconds": 17.5 + i if i % 2 else None,
            "talk_seconds": 60.0 + i if i % 2 else None,
            "hung_up_by": "agent" if i % 2 else "runtime",
            "duration": 100.0 + i,
        }
        for i in range(count)
    ]


def _v1_attempts(count: int) -> list[dict[str, object]]:
    rows = []
    for i in range(count):
        for attempt, number in ((1, "201"), (2, "202")):
            rows.append(
                {
                    "call_id": f"1700000000.{i}",
                    "attempt": attempt,
                    "number": number,
                    "label": "Anna" if number == "201" else None,
                    "outcome": "no_answer" if attempt == 1 or i % 2 == 0 else "confirmed",
                    "seconds": 15.0 if attempt == 1 else 2.5,
                    "dialstatus": "NOANSWER" if attempt == 1 else "ANSWER",
                    "hangupcause": "19" if attempt == 1 else "16",
                }
            )
    return rows


def _differences(connection: Connection) -> list[object]:
    return list(compare_metadata(MigrationContext.configure(connection), metadata))


async def test_migration_from_the_first_version_keeps_every_record(
    journal_config: JournalConfig,
) -> None:
    engine = store.make_engine(journal_config)
    try:
        await store.migrate(engine, "0001")
        assert await store.current_revision(engine) == "0001"
        calls, attempts = _v1_calls(40), _v1_attempts(40)
        async with engine.begin() as conn:
            columns = ", ".join(calls[0])
            values = ", ".join(f":{c}" for c in calls[0])
            insert_calls = text(f"INSERT INTO calls ({columns}) VALUES ({values})").bindparams(
                bindparam("arrived", type_=DateTime(timezone=True))
            )
            await conn.execute(insert_calls, calls)
            columns = ", ".join(attempts[0])
            values = ", ".join(f":{c}" for c in attempts[0])
            await conn.execute(
                text(f"INSERT INTO attempts ({columns}) VALUES ({values})"), attempts
            )

        await store.migrate(engine)  # what every start does

        assert await store.current_revision(engine) == "0002"
        async with engine.connect() as conn:
            assert await conn.run_sync(_differences) == []  # the migrations build schema.py
        stored = await stored_calls(engine)
    finally:
        await engine.dispose()

    assert len(stored) == 40
    for call in calls:
        row = stored[str(call["call_id"])]
        for key, value in call.items():
            if key == "arrived":
                assert store.utc(row[key]) == value
            else:
                assert row[key] == value, key
        assert row["schedule"] is None
        assert row["shift"] is None
    for attempt in attempts:
        (row,) = [
            a
            for a in stored[str(attempt["call_id"])]["attempts"]
            if a["attempt"] == attempt["attempt"]
        ]
        assert {k: row[k] for k in attempt} == attempt
        assert row["hunt_step"] == attempt["attempt"]  # each old attempt was its own step


def test_the_newest_revision_is_named_where_start_up_looks_for_it() -> None:
    from alembic.script import ScriptDirectory

    assert ScriptDirectory.from_config(store.alembic_config()).get_current_head() == (
        store.HEAD_REVISION
    )


_START_A_CURRENT_JOURNAL = """
import asyncio, json, sys
from hotline.config.journal import JournalConfig
from hotline.journal import store

async def main():
    engine = store.make_engine(JournalConfig.model_validate(json.loads(sys.argv[1])))
    try:
        await store.migrate(engine)
    finally:
        await engine.dispose()

asyncio.run(main())
print(sorted(m for m in sys.modules if m.split(".")[0] == "alembic"))
"""


async def test_a_current_journal_starts_without_alembic(journal_config: JournalConfig) -> None:
    """Every start migrates; a journal already at the newest revision needs no Alembic."""
    engine = store.make_engine(journal_config)
    try:
        await store.migrate(engine, "0001")
        await asyncio.to_thread(_start, journal_config)  # behind: Alembic migrates it
        assert await store.current_revision(engine) == store.HEAD_REVISION
        async with engine.connect() as conn:
            assert await conn.run_sync(_differences) == []
        assert await asyncio.to_thread(_start, journal_config) == "[]"  # current: no Alembic
        assert await store.current_revision(engine) == store.HEAD_REVISION
    finally:
        await engine.dispose()


def _start(config: JournalConfig) -> str:
    """A new process migrates ``config``'s journal as every start does; the Alembic
    modules it imported."""
    where: dict[str, object] = {"enabled": True, "path": str(config.path)}
    if config.url is not None:
        where["url"] = config.url.get_secret_value()
    done = subprocess.run(
        [sys.executable, "-c", _START_A_CURRENT_JOURNAL, json.dumps(where)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return done.stdout.strip()
