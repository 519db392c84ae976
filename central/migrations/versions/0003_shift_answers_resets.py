"""Alerts remember the gate message that answered them; an administrator's password reset makes
the next login choose a new password.

Revision ID: 0003_shift_answers_resets
Revises: 0002_face_evidence
Created: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_shift_answers_resets"
down_revision = "0002_face_evidence"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("answered_by_message_id", sa.String(length=32), nullable=True))
        batch_op.create_index(batch_op.f("ix_alerts_answered_by_message_id"), ["answered_by_message_id"], unique=False)

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("must_change_password", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("must_change_password")

    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alerts_answered_by_message_id"))
        batch_op.drop_column("answered_by_message_id")
