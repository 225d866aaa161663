"""The first journal: calls, their dial attempts, and the journal's own facts.

Revision ID: 0001
Revises:
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision: str | None = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "calls",
        sa.Column("call_id", sa.String(96), primary_key=True),
        sa.Column("hotline", sa.String(64), nullable=False),
        sa.Column("caller", sa.String(80), nullable=True),
        sa.Column("arrived", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("step", sa.String(32), nullable=True),
        sa.Column("connected_to", sa.String(64), nullable=True),
        sa.Column("connected_label", sa.String(128), nullable=True),
        sa.Column("wait_seconds", sa.Float, nullable=True),
        sa.Column("talk_seconds", sa.Float, nullable=True),
        sa.Column("hung_up_by", sa.String(16), nullable=True),
        sa.Column("duration", sa.Float, nullable=False),
    )
    op.create_index("ix_calls_hotline_arrived", "calls", ["hotline", "arrived"])
    op.create_index("ix_calls_arrived", "calls", ["arrived"])
    op.create_table(
        "attempts",
        sa.Column(
            "call_id",
            sa.String(96),
            sa.ForeignKey("calls.call_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("attempt", sa.Integer, primary_key=True),
        sa.Column("number", sa.String(64), nullable=False),
        sa.Column("label", sa.String(128), nullable=True),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("seconds", sa.Float, nullable=False),
        sa.Column("dialstatus", sa.String(32), nullable=True),
        sa.Column("hangupcause", sa.String(32), nullable=True),
    )
    op.create_index("ix_attempts_number", "attempts", ["number"])
    op.create_table(
        "journal_meta",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("journal_meta")
    op.drop_table("attempts")
    op.drop_table("calls")
