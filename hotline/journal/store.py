"""The journal's database: engine, migrations, batch insert, retention.

SQLAlchemy 2 Core with async drivers: aiosqlite for the embedded SQLite file
(WAL mode, so ``hotline report`` reads while the runtime writes), asyncpg for
PostgreSQL.  Alembic migrates the schema on every start where it is behind,
so an upgrade of hotline never loses history; a journal already at the newest
revision is recognised without importing Alembic (a fifth of ``hotline run``'s
start-up imports, ``benchmarks/RESULTS.md``).  Everything here may raise what the driver
raises when the database is unavailable; the writer
(:mod:`hotline.journal.writer`) decides what that means for the calls
(nothing).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, column, delete, event, func, inspect, select, table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from hotline.config.journal import JournalConfig
from hotline.journal.schema import attempts, calls, journal_meta

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
#: the newest schema revision, whatever it is called
HEAD = "head"
#: what it is called: the last file's revision in migrations/versions
#: (tests/journal/test_migrations.py fails when a new migration is not named here)
HEAD_REVISION = "0002"
#: the table where Alembic records the revision (its own name and column)
_ALEMBIC_VERSION = table("alembic_version", column("version_num"))
#: seconds a PostgreSQL connect or statement may take before the write is retried later
PG_TIMEOUT = 5.0
#: SQLite waits this long for another writer's lock (milliseconds)
SQLITE_BUSY_MS = 5000

Row = Mapping[str, Any]


def make_engine(config: JournalConfig) -> AsyncEngine:
    """An async engine for the journal; SQLite in WAL mode, PostgreSQL with short timeouts."""
    url = config.database_url()
    if config.url is None:
        config.path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(
        url,
        pool_pre_ping=True,  # a connection from before a database restart is replaced
        pool_size=2,
        max_overflow=2,
        connect_args={"timeout": PG_TIMEOUT, "command_timeout": PG_TIMEOUT},
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")  # WAL: durable at checkpoints, no fsync per batch
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
    cursor.close()


def alembic_config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


async def migrate(engine: AsyncEngine, revision: str = HEAD) -> None:
    """Bring the schema to ``revision`` (default the newest); existing rows are kept."""
    if revision == HEAD and await _stored_revision(engine) == HEAD_REVISION:
        return  # current: nothing for Alembic to do, so it is not even imported
    from alembic import command

    async with engine.begin() as conn:
        await conn.run_sync(lambda sync: command.upgrade(alembic_config(sync), revision))


def _stored_revision_sync(connection: Connection) -> str | None:
    if not inspect(connection).has_table("alembic_version"):
        return None  # a new database
    value = connection.scalar(select(_ALEMBIC_VERSION.c.version_num))
    return None if value is None else str(value)


async def _stored_revision(engine: AsyncEngine) -> str | None:
    """The revision Alembic recorded (its ``alembic_version`` row), read without Alembic."""
    async with engine.connect() as conn:
        return await conn.run_sync(_stored_revision_sync)


async def current_revision(engine: AsyncEngine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    async with engine.connect() as conn:
        return await conn.run_sync(
            lambda sync: MigrationContext.configure(sync).get_current_revision()
        )


async def hash_key(engine: AsyncEngine, configured: str | None) -> bytes:
    """The key of hashed caller numbers: configured, else made once and kept in the journal."""
    if configured is not None:
        return configured.encode()
    async with engine.begin() as conn:
        value = await conn.scalar(
            select(journal_meta.c.value).where(journal_meta.c.key == "caller_hash_key")
        )
        if value is None:
            value = secrets.token_hex(32)
            await conn.execute(
                _insert_ignore(conn, journal_meta, ["key"]),
                [{"key": "caller_hash_key", "value": value}],
            )
            # another runtime may have won the race: read what is stored
            value = await conn.scalar(
                select(journal_meta.c.value).where(journal_meta.c.key == "caller_hash_key")
            )
        assert value is not None
        return str(value).encode()


def _insert_ignore(conn: AsyncConnection, table: Any, keys: list[str]) -> Any:
    """INSERT that skips rows whose key is already stored (a retried batch)."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=keys)
    return sqlite.insert(table).on_conflict_do_nothing(index_elements=keys)


async def write_calls(
    engine: AsyncEngine, call_rows: Sequence[Row], attempt_rows: Sequence[Row]
) -> set[str]:
    """Insert one batch in one transaction; rows already stored are left as they are.

    Returns the call ids that were new (the others were stored already).
    """
    inserted: set[str] = set()
    async with engine.begin() as conn:
        if call_rows:
            new = _insert_ignore(conn, calls, ["call_id"]).returning(calls.c.call_id)
            inserted = set((await conn.execute(new, list(call_rows))).scalars())
        if attempt_rows:
            await conn.execute(
                _insert_ignore(conn, attempts, ["call_id", "attempt"]), list(attempt_rows)
            )
    return inserted


async def delete_before(engine: AsyncEngine, cutoff: datetime) -> int:
    """Delete calls that arrived before ``cutoff`` (and their attempts); returns how many."""
    old = select(calls.c.call_id).where(calls.c.arrived < cutoff)
    async with engine.begin() as conn:
        await conn.execute(delete(attempts).where(attempts.c.call_id.in_(old)))
        result = await conn.execute(delete(calls).where(calls.c.arrived < cutoff))
        return int(result.rowcount)


async def count_calls(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(select(func.count()).select_from(calls)) or 0)


def utc(value: datetime) -> datetime:
    """A stored time as aware UTC (SQLite gives it back naive)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def from_epoch(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def as_rows(items: Iterable[Row]) -> list[dict[str, Any]]:
    return [dict(item) for item in items]
