"""Alerts remember the gate message that answered them; an administrator's password reset makes
the next login choose a new password.

Revision ID: 0004_shift_answers_resets
Revises: 0003_office_back_office
Created: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_shift_answers_resets"
down_revision = "0003_office_back_office"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN, not a batch copy: SQLite adds a column with a default in place, and a copy
    # of ``users`` would have to drop a table that position_holders references.
    op.add_column("alerts", sa.Column("answered_by_message_id", sa.String(length=32), nullable=True))
    op.create_index(op.f("ix_alerts_answered_by_message_id"), "alerts", ["answered_by_message_id"], unique=False)
    op.add_column(
        "users", sa.Column("must_change_password", sa.Boolean(), nullable=False, server_default=sa.false())
    )


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("must_change_password")

    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alerts_answered_by_message_id"))
        batch_op.drop_column("answered_by_message_id")
