"""assignment and scope: case manager, restricted flag, partner agencies; 동 list indexes

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 14:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("case_manager_id", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("restricted", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.create_index(batch_op.f("ix_cases_case_manager_id"), ["case_manager_id"], unique=False)
        batch_op.create_index(
            "ix_cases_dong_stage_opened_at_id", ["dong", "stage", "opened_at", "id"], unique=False
        )
        batch_op.create_index("ix_cases_dong_opened_at_id", ["dong", "opened_at", "id"], unique=False)

    op.create_table(
        "case_agencies",
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("agency_id", sa.String(length=100), nullable=False),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_case_agencies_case_id_cases")),
        sa.PrimaryKeyConstraint("case_id", "agency_id", name=op.f("pk_case_agencies")),
    )
    with op.batch_alter_table("case_agencies", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_agencies_agency_id"), ["agency_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("case_agencies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_agencies_agency_id"))
    op.drop_table("case_agencies")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index("ix_cases_dong_opened_at_id")
        batch_op.drop_index("ix_cases_dong_stage_opened_at_id")
        batch_op.drop_index(batch_op.f("ix_cases_case_manager_id"))
        batch_op.drop_column("restricted")
        batch_op.drop_column("case_manager_id")
