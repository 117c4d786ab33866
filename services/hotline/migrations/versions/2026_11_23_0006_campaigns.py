"""subscribers, notice campaigns, the durable send table, daily spend

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 14:15:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "subscribers",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("topic", sa.String(length=40), nullable=False),
        sa.Column("phone_enc", sa.Text(), nullable=False),
        sa.Column("phone_hash", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("consent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("opted_out_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("dong", sa.String(length=20), nullable=True),
        sa.Column("birth_year", sa.Integer(), nullable=True),
        sa.Column("household_type", sa.String(length=30), nullable=True),
        sa.Column("household_id", sa.Uuid(), nullable=True),
        sa.Column("person_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscribers")),
        sa.UniqueConstraint("topic", "phone_hash", name=op.f("uq_subscribers_topic")),
    )
    with op.batch_alter_table("subscribers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_subscribers_topic"), ["topic"], unique=False)
        batch_op.create_index(batch_op.f("ix_subscribers_phone_hash"), ["phone_hash"], unique=False)

    op.create_table(
        "sms_campaigns",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("topic", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=3), nullable=False),
        sa.Column("filters", sa.JSON(), nullable=False),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sms_campaigns")),
    )
    op.create_table(
        "campaign_sends",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("subscriber_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("provider_message_id", sa.String(length=64), nullable=True),
        sa.Column("delivery", sa.String(length=10), nullable=True),
        sa.Column("error", sa.String(length=200), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["sms_campaigns.id"], name=op.f("fk_campaign_sends_campaign_id_sms_campaigns")
        ),
        sa.ForeignKeyConstraint(
            ["subscriber_id"], ["subscribers.id"], name=op.f("fk_campaign_sends_subscriber_id_subscribers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_sends")),
        sa.UniqueConstraint("campaign_id", "subscriber_id", name=op.f("uq_campaign_sends_campaign_id")),
    )
    with op.batch_alter_table("campaign_sends", schema=None) as batch_op:
        batch_op.create_index("ix_campaign_sends_campaign_id_status", ["campaign_id", "status"], unique=False)
        # The sender's claim: only rows still to send.
        batch_op.create_index(
            "ix_campaign_sends_open",
            ["campaign_id"],
            unique=False,
            postgresql_where=sa.text("status IN ('pending', 'sending')"),
            sqlite_where=sa.text("status IN ('pending', 'sending')"),
        )

    op.create_table(
        "sms_daily_spend",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("spent_krw", sa.Integer(), nullable=False),
        sa.Column("messages", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_sms_daily_spend")),
    )


def downgrade() -> None:
    op.drop_table("sms_daily_spend")
    op.drop_table("campaign_sends")
    op.drop_table("sms_campaigns")
    op.drop_table("subscribers")
