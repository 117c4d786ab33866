"""follow-up scheduler: claimed rows, sequence, outcomes

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 14:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("follow_ups", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sequence", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("outcome", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("outcome_note", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("outcome_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("outcome_by", sa.String(length=100), nullable=True))
        batch_op.create_index(
            "ix_follow_ups_unclaimed",
            ["due_on", "id"],
            unique=False,
            postgresql_where=sa.text("claimed_at IS NULL"),
            sqlite_where=sa.text("claimed_at IS NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("follow_ups", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_follow_ups_unclaimed",
            postgresql_where=sa.text("claimed_at IS NULL"),
            sqlite_where=sa.text("claimed_at IS NULL"),
        )
        batch_op.drop_column("outcome_by")
        batch_op.drop_column("outcome_at")
        batch_op.drop_column("outcome_note")
        batch_op.drop_column("outcome")
        batch_op.drop_column("claimed_at")
        batch_op.drop_column("sequence")
