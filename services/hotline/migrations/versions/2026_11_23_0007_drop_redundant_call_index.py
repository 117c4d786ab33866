"""drop ix_checkin_calls_enrolment_id: the (enrolment_id, slot_at) unique index serves it

Planning a week writes one row per enrolment (a million in a large district); every index
on checkin_calls is paid on each of those inserts.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 14:30:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("checkin_calls", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_checkin_calls_enrolment_id"))


def downgrade() -> None:
    with op.batch_alter_table("checkin_calls", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_checkin_calls_enrolment_id"), ["enrolment_id"], unique=False)
