"""The audit log becomes a hash chain (existing entries are chained here, oldest first); users
carry a session generation so logout and password changes revoke cookies server-side.

Revision ID: 0006_audit_chain_sessions
Revises: 0005_cctv_face_watchlist
Created: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_audit_chain_sessions"
down_revision = "0005_cctv_face_watchlist"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN (no batch copy): users is referenced by other tables (see 0004).
    op.add_column("users", sa.Column("session_generation", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("audit_log", sa.Column("seq", sa.Integer(), nullable=True))
    op.add_column("audit_log", sa.Column("prev_hash", sa.String(length=64), nullable=True))
    op.add_column("audit_log", sa.Column("entry_hash", sa.String(length=64), nullable=True))
    head = op.create_table(
        "audit_chain_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    from central.services.audit_chain import chain_existing

    audit_log = sa.table(
        "audit_log", sa.column("id", sa.Integer()), sa.column("at", sa.DateTime(timezone=True)),
        sa.column("username", sa.String()), sa.column("role", sa.String()), sa.column("action", sa.String()),
        sa.column("target", sa.String()), sa.column("details", sa.JSON()), sa.column("ip", sa.String()),
        sa.column("seq", sa.Integer()), sa.column("prev_hash", sa.String()), sa.column("entry_hash", sa.String()),
    )
    chained = chain_existing(op.get_bind(), audit_log, head)
    op.create_index(op.f("ix_audit_log_seq"), "audit_log", ["seq"], unique=True)
    if chained:
        import logging

        logging.getLogger(__name__).warning("audit log: %d existing entries chained", chained)


def downgrade() -> None:
    op.drop_index(op.f("ix_audit_log_seq"), table_name="audit_log")
    op.drop_table("audit_chain_head")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_column("entry_hash")
        batch_op.drop_column("prev_hash")
        batch_op.drop_column("seq")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("session_generation")
