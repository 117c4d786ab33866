"""the reports' covering index on service deliveries also carries the provider (PostgreSQL)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 14:55:00.000000
"""

from collections.abc import Sequence

from alembic import op


revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ["delivered_on", "kind", "domain", "amount", "household_id"]


def upgrade() -> None:
    with op.batch_alter_table("service_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_service_deliveries_report")
        batch_op.create_index(
            "ix_service_deliveries_report", COLUMNS, unique=False, postgresql_include=["provider"]
        )


def downgrade() -> None:
    with op.batch_alter_table("service_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_service_deliveries_report")
        batch_op.create_index("ix_service_deliveries_report", COLUMNS, unique=False)
