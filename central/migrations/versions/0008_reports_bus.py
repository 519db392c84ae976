"""Reports from indexed queries: a partial index on the gate events that end a transaction.

The daily recap and the per-gate statistics count outcomes from ``transaction_ended`` events,
one in a dozen of a traveller's gate events; they read every event of the window before (a week:
seconds). The index holds only those events, by time, and the reports filter with its predicate.

Revision ID: 0008_reports_bus
Revises: 0006_audit_chain_sessions
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_reports_bus"
down_revision = "0006_audit_chain_sessions"
branch_labels = None
depends_on = None

# Copied, not imported: a migration keeps the schema of its day (central.models.ENDED_EVENT_SQL).
_PG = "kind = 'gate_event' AND (payload ->> 'event') = 'transaction_ended'"
_SQLITE = "kind = 'gate_event' AND json_extract(payload, '$.event') = 'transaction_ended'"


def upgrade() -> None:
    op.create_index("ix_gate_messages_ended_at", "gate_messages", ["sent_at"], unique=False,
                    postgresql_where=sa.text(_PG), sqlite_where=sa.text(_SQLITE))


def downgrade() -> None:
    op.drop_index("ix_gate_messages_ended_at", table_name="gate_messages")
