"""Parallel hunt steps and the schedule's decision.

Attempts get ``hunt_step`` (legs dialled at once share it); every attempt
stored before was its own step, so it is filled from ``attempt``.  Calls get
``schedule`` and ``shift``: the schedule's rule that let the call in (or
closed it) and the shift whose targets were dialled (empty for older calls).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("attempts") as batch:
        batch.add_column(sa.Column("hunt_step", sa.Integer, nullable=True))
    op.execute("UPDATE attempts SET hunt_step = attempt")
    with op.batch_alter_table("attempts") as batch:
        batch.alter_column("hunt_step", existing_type=sa.Integer, nullable=False)
    with op.batch_alter_table("calls") as batch:
        batch.add_column(sa.Column("schedule", sa.String(64), nullable=True))
        batch.add_column(sa.Column("shift", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.drop_column("shift")
        batch.drop_column("schedule")
    with op.batch_alter_table("attempts") as batch:
        batch.drop_column("hunt_step")
