"""The journal's tables (SQLAlchemy Core), as the newest migration leaves them.

One row per call in ``calls`` and one per dial attempt in ``attempts``.  A
call's id is Asterisk's uniqueid (unique per PBX; give each PBX sharing one
database its own ``systemname`` in asterisk.conf, which Asterisk puts in front
of every uniqueid).  Rows are only ever inserted once ("on conflict do
nothing"), so a batch retried after an unclear failure never doubles a call.

Times: ``arrived`` is UTC; durations are seconds as the call's clock measured
them.  Attempts of one parallel hunt step share ``hunt_step``.

The migrations in :mod:`hotline.journal.migrations` must produce exactly
these tables; ``tests/journal/test_migrations.py`` compares them.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

calls = Table(
    "calls",
    metadata,
    Column("call_id", String(96), primary_key=True),
    Column("hotline", String(64), nullable=False),
    Column("caller", String(80), nullable=True),  # as [journal] caller says: full/masked/hashed
    Column("arrived", DateTime(timezone=True), nullable=False),
    Column("outcome", String(32), nullable=False),
    Column("step", String(32), nullable=True),  # where an abandoned call ended
    Column("connected_to", String(64), nullable=True),
    Column("connected_label", String(128), nullable=True),
    Column("wait_seconds", Float, nullable=True),  # arrival until an agent accepted
    Column("talk_seconds", Float, nullable=True),
    Column("hung_up_by", String(16), nullable=True),
    Column("duration", Float, nullable=False),
    Column("schedule", String(64), nullable=True),  # the schedule's rule that decided the call
    Column("shift", String(64), nullable=True),  # the shift whose targets were dialled
    Index("ix_calls_hotline_arrived", "hotline", "arrived"),
    Index("ix_calls_arrived", "arrived"),
)

attempts = Table(
    "attempts",
    metadata,
    Column(
        "call_id",
        String(96),
        ForeignKey("calls.call_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("attempt", Integer, primary_key=True),
    Column("hunt_step", Integer, nullable=False),
    Column("number", String(64), nullable=False),
    Column("label", String(128), nullable=True),
    Column("outcome", String(32), nullable=False),
    Column("seconds", Float, nullable=False),
    Column("dialstatus", String(32), nullable=True),
    Column("hangupcause", String(32), nullable=True),
    Index("ix_attempts_number", "number"),
)

#: small facts about the journal itself (e.g. the key of hashed caller numbers)
journal_meta = Table(
    "journal_meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)
