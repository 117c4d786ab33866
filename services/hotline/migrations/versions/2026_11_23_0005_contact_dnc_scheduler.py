"""contact numbers, do-not-contact, check-in scheduler, auto-enrolment projection

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 14:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("checkin_enrolments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("person_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("phone_enc", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("phone_hash", sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_checkin_enrolments_phone_hash"), ["phone_hash"], unique=False)

    op.create_table(
        "do_not_contact",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("subject_kind", sa.String(length=10), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("dong", sa.String(length=20), nullable=True),
        sa.Column("reason", sa.String(length=30), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("set_by", sa.String(length=100), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lifted_by", sa.String(length=100), nullable=True),
        sa.Column("lifted_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_do_not_contact")),
        sa.UniqueConstraint("subject_kind", "subject_id", name=op.f("uq_do_not_contact_subject_kind")),
    )
    op.create_table(
        "contact_refusals",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("reference_id", sa.Uuid(), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=True),
        sa.Column("person_id", sa.Uuid(), nullable=True),
        sa.Column("reason", sa.String(length=30), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_refusals")),
    )
    with op.batch_alter_table("contact_refusals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contact_refusals_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_contact_refusals_household_id"), ["household_id"], unique=False)

    op.create_table(
        "checkin_calls",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("enrolment_id", sa.Uuid(), nullable=False),
        sa.Column("slot_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("window_end_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=True),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["enrolment_id"],
            ["checkin_enrolments.id"],
            name=op.f("fk_checkin_calls_enrolment_id_checkin_enrolments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkin_calls")),
        sa.UniqueConstraint("enrolment_id", "slot_at", name=op.f("uq_checkin_calls_enrolment_id")),
    )
    with op.batch_alter_table("checkin_calls", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_checkin_calls_enrolment_id"), ["enrolment_id"], unique=False)
        # The claim query's index: only rows that can still become due.
        batch_op.create_index(
            "ix_checkin_calls_due",
            ["next_attempt_at"],
            unique=False,
            postgresql_where=sa.text("status IN ('planned', 'calling', 'awaiting')"),
            sqlite_where=sa.text("status IN ('planned', 'calling', 'awaiting')"),
        )

    op.create_table(
        "household_facts",
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("dong", sa.String(length=20), nullable=False),
        sa.Column("household_type", sa.String(length=30), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("household_id", name=op.f("pk_household_facts")),
    )
    op.create_table(
        "case_closures",
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("dong", sa.String(length=20), nullable=False),
        sa.Column("closure_reason", sa.String(length=30), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_case_closures")),
    )
    with op.batch_alter_table("case_closures", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_closures_household_id"), ["household_id"], unique=False)

    op.create_table(
        "sms_webhooks_seen",
        sa.Column("webhook_id", sa.String(length=200), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("webhook_id", name=op.f("pk_sms_webhooks_seen")),
    )
    with op.batch_alter_table("sms_webhooks_seen", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sms_webhooks_seen_received_at"), ["received_at"], unique=False)


def downgrade() -> None:
    op.drop_table("sms_webhooks_seen")
    op.drop_table("case_closures")
    op.drop_table("household_facts")
    op.drop_table("checkin_calls")
    op.drop_table("contact_refusals")
    op.drop_table("do_not_contact")
    with op.batch_alter_table("checkin_enrolments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_checkin_enrolments_phone_hash"))
        batch_op.drop_column("phone_hash")
        batch_op.drop_column("phone_enc")
        batch_op.drop_column("person_id")
