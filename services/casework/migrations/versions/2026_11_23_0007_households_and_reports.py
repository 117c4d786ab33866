"""households projection for the reports; household size at opening; closed_at index

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 14:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "households",
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("dong", sa.String(length=20), nullable=False),
        sa.Column("household_type", sa.String(length=30), nullable=True),
        sa.Column("protection_status", sa.String(length=30), nullable=True),
        sa.Column("member_count", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("household_id", name=op.f("pk_households")),
    )
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("members_at_open", sa.Integer(), nullable=True))
        batch_op.create_index("ix_cases_closed_at", ["closed_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index("ix_cases_closed_at")
        batch_op.drop_column("members_at_open")
    op.drop_table("households")
