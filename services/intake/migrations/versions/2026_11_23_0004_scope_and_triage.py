"""scope and triage: restricted households/referrals, channel details, assignment, decisions

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 14:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("households", schema=None) as batch_op:
        batch_op.add_column(sa.Column("restricted", sa.Boolean(), server_default=sa.false(), nullable=False))

    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("restricted", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column("notes", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("reporter_kind", sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column("submitted_by", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("submitted_by_agency", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("receipt_no", sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column("assigned_to", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("decided_by", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("decision_reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("linked_referral_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("linked_case_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("matched_by", sa.String(length=30), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_referrals_receipt_no"), ["receipt_no"])
        batch_op.create_index(batch_op.f("ix_referrals_assigned_to"), ["assigned_to"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_referrals_submitted_by_agency"), ["submitted_by_agency"], unique=False
        )
        batch_op.create_index(
            "ix_referrals_queue", ["dong", "status", "priority", "received_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.drop_index("ix_referrals_queue")
        batch_op.drop_index(batch_op.f("ix_referrals_submitted_by_agency"))
        batch_op.drop_index(batch_op.f("ix_referrals_assigned_to"))
        batch_op.drop_constraint(batch_op.f("uq_referrals_receipt_no"), type_="unique")
        for column in (
            "matched_by",
            "linked_case_id",
            "linked_referral_id",
            "decision_reason",
            "decided_by",
            "decided_at",
            "assigned_at",
            "assigned_to",
            "receipt_no",
            "submitted_by_agency",
            "submitted_by",
            "reporter_kind",
            "notes",
            "restricted",
        ):
            batch_op.drop_column(column)

    with op.batch_alter_table("households", schema=None) as batch_op:
        batch_op.drop_column("restricted")
