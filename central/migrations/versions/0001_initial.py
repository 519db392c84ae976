"""Initial schema: every table as of the first deployment (stop 8).

Revision ID: 0001_initial
Revises: -
Created: 2026-11-28 00:52:23.072414
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0001_initial'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('alerts',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('gate_id', sa.String(length=64), nullable=True),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('severity', sa.String(length=16), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('requires_ack', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('acknowledged_by', sa.String(length=64), nullable=True),
    sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('source_message_id', sa.String(length=32), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alerts_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_alerts_gate_id'), ['gate_id'], unique=False)

    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=True),
    sa.Column('role', sa.String(length=32), nullable=True),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('target', sa.String(length=200), nullable=True),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('ip', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_log_at'), ['at'], unique=False)

    op.create_table('cases',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('workflow_id', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('current_step', sa.String(length=48), nullable=True),
    sa.Column('current_since', sa.DateTime(timezone=True), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('opened_by', sa.String(length=64), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.String(length=200), nullable=True),
    sa.Column('gate_id', sa.String(length=64), nullable=True),
    sa.Column('transaction_id', sa.String(length=64), nullable=True),
    sa.Column('source_message_id', sa.String(length=32), nullable=True),
    sa.Column('context', sa.JSON(), nullable=False),
    sa.Column('state', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('source_message_id')
    )
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cases_gate_id'), ['gate_id'], unique=False)
        batch_op.create_index('ix_cases_status_opened', ['status', 'opened_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_cases_transaction_id'), ['transaction_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_cases_workflow_id'), ['workflow_id'], unique=False)

    op.create_table('dead_letters',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('topic', sa.String(length=200), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('enrolments',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('document_number', sa.String(length=20), nullable=False),
    sa.Column('document_type', sa.String(length=2), nullable=False),
    sa.Column('issuing_state', sa.String(length=3), nullable=False),
    sa.Column('expiry_date', sa.Date(), nullable=True),
    sa.Column('given_names', sa.String(length=80), nullable=False),
    sa.Column('surname', sa.String(length=80), nullable=False),
    sa.Column('sex', sa.String(length=1), nullable=False),
    sa.Column('birth_date', sa.Date(), nullable=True),
    sa.Column('nationality', sa.String(length=3), nullable=False),
    sa.Column('face_template', sa.LargeBinary(), nullable=True),
    sa.Column('face_model', sa.String(length=64), nullable=True),
    sa.Column('face_model_version', sa.String(length=32), nullable=True),
    sa.Column('fingerprint_iso', sa.LargeBinary(), nullable=True),
    sa.Column('finger_position', sa.Integer(), nullable=True),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('deactivated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('deactivated_by', sa.String(length=64), nullable=True),
    sa.Column('deactivation_reason', sa.String(length=200), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('enrolments', schema=None) as batch_op:
        batch_op.create_index('ix_enrolments_document', ['document_number', 'issuing_state', 'active'], unique=False)

    op.create_table('gates',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('direction', sa.String(length=16), nullable=False),
    sa.Column('public_key', sa.String(length=64), nullable=False),
    sa.Column('last_seq', sa.BigInteger(), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('online', sa.Boolean(), nullable=False),
    sa.Column('online_changed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('state_sent_ms', sa.BigInteger(), nullable=False),
    sa.Column('health_sent_ms', sa.BigInteger(), nullable=False),
    sa.Column('state', sa.JSON(), nullable=True),
    sa.Column('health', sa.JSON(), nullable=True),
    sa.Column('watchlist_version', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('users',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('failed_logins', sa.Integer(), nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('username')
    )
    op.create_table('watchlist_entries',
    sa.Column('entry_id', sa.String(length=64), nullable=False),
    sa.Column('list', sa.String(length=32), nullable=False),
    sa.Column('document_numbers', sa.JSON(), nullable=False),
    sa.Column('document_numbers_text', sa.String(length=400), nullable=False),
    sa.Column('surname', sa.String(length=120), nullable=False),
    sa.Column('given_names', sa.String(length=120), nullable=False),
    sa.Column('birth_date', sa.String(length=10), nullable=True),
    sa.Column('nationality', sa.String(length=3), nullable=True),
    sa.Column('sex', sa.String(length=1), nullable=True),
    sa.Column('agency', sa.String(length=200), nullable=False),
    sa.Column('interested_party', sa.String(length=200), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=True),
    sa.Column('valid_until', sa.Date(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('entry_id')
    )
    with op.batch_alter_table('watchlist_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_watchlist_entries_document_numbers_text'), ['document_numbers_text'], unique=False)
        batch_op.create_index('ix_watchlist_entries_list_active', ['list', 'active'], unique=False)
        batch_op.create_index(batch_op.f('ix_watchlist_entries_surname'), ['surname'], unique=False)

    op.create_table('watchlist_versions',
    sa.Column('version', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=True),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('entries', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('chunk_count', sa.Integer(), nullable=True),
    sa.Column('retained_cleared', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('version')
    )
    op.create_table('case_steps',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('step_id', sa.String(length=48), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('standard_s', sa.Integer(), nullable=True),
    sa.Column('within_standard', sa.Boolean(), nullable=True),
    sa.Column('answer', sa.String(length=64), nullable=True),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('documents', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('case_steps', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_steps_case_id'), ['case_id'], unique=False)

    op.create_table('commands',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('command_id', sa.String(length=64), nullable=False),
    sa.Column('gate_id', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('transaction_id', sa.String(length=64), nullable=True),
    sa.Column('issued_by', sa.String(length=64), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('ack_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ack_reason', sa.String(length=200), nullable=True),
    sa.Column('state_after', sa.String(length=32), nullable=True),
    sa.ForeignKeyConstraint(['gate_id'], ['gates.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('command_id')
    )
    with op.batch_alter_table('commands', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_commands_gate_id'), ['gate_id'], unique=False)

    op.create_table('crossings',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('message_id', sa.String(length=32), nullable=False),
    sa.Column('transaction_id', sa.String(length=64), nullable=False),
    sa.Column('gate_id', sa.String(length=64), nullable=False),
    sa.Column('direction', sa.String(length=16), nullable=False),
    sa.Column('document_number', sa.String(length=20), nullable=False),
    sa.Column('document_type', sa.String(length=2), nullable=False),
    sa.Column('issuing_state', sa.String(length=3), nullable=False),
    sa.Column('expiry_date', sa.Date(), nullable=True),
    sa.Column('given_names', sa.String(length=80), nullable=False),
    sa.Column('surname', sa.String(length=80), nullable=False),
    sa.Column('sex', sa.String(length=1), nullable=False),
    sa.Column('birth_date', sa.Date(), nullable=True),
    sa.Column('nationality', sa.String(length=3), nullable=False),
    sa.Column('fingerprint_match', sa.Boolean(), nullable=True),
    sa.Column('fingerprint_score', sa.Float(), nullable=True),
    sa.Column('face_match', sa.Boolean(), nullable=True),
    sa.Column('face_score', sa.Float(), nullable=True),
    sa.Column('biometrics', sa.JSON(), nullable=False),
    sa.Column('timings_ms', sa.JSON(), nullable=False),
    sa.Column('watchlist_version', sa.Integer(), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['gate_id'], ['gates.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('message_id')
    )
    with op.batch_alter_table('crossings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_crossings_completed_at'), ['completed_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_crossings_document_number'), ['document_number'], unique=False)
        batch_op.create_index(batch_op.f('ix_crossings_gate_id'), ['gate_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_crossings_surname'), ['surname'], unique=False)
        batch_op.create_index(batch_op.f('ix_crossings_transaction_id'), ['transaction_id'], unique=False)

    op.create_table('gate_messages',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('message_id', sa.String(length=32), nullable=False),
    sa.Column('gate_id', sa.String(length=64), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['gate_id'], ['gates.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('message_id')
    )
    with op.batch_alter_table('gate_messages', schema=None) as batch_op:
        batch_op.create_index('ix_gate_messages_gate_seq', ['gate_id', 'seq'], unique=False)

    op.create_table('sequence_gaps',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('gate_id', sa.String(length=64), nullable=False),
    sa.Column('from_seq', sa.BigInteger(), nullable=False),
    sa.Column('to_seq', sa.BigInteger(), nullable=False),
    sa.Column('detected_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['gate_id'], ['gates.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('sequence_gaps', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sequence_gaps_gate_id'), ['gate_id'], unique=False)

    op.create_table('watchlist_changes',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.String(length=64), nullable=False),
    sa.Column('op', sa.String(length=8), nullable=False),
    sa.Column('before', sa.JSON(), nullable=True),
    sa.Column('after', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['version'], ['watchlist_versions.version'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('watchlist_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_watchlist_changes_entry_id'), ['entry_id'], unique=False)
        batch_op.create_index('ix_watchlist_changes_version', ['version'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('watchlist_changes', schema=None) as batch_op:
        batch_op.drop_index('ix_watchlist_changes_version')
        batch_op.drop_index(batch_op.f('ix_watchlist_changes_entry_id'))

    op.drop_table('watchlist_changes')
    with op.batch_alter_table('sequence_gaps', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sequence_gaps_gate_id'))

    op.drop_table('sequence_gaps')
    with op.batch_alter_table('gate_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_gate_messages_gate_seq')

    op.drop_table('gate_messages')
    with op.batch_alter_table('crossings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_crossings_transaction_id'))
        batch_op.drop_index(batch_op.f('ix_crossings_surname'))
        batch_op.drop_index(batch_op.f('ix_crossings_gate_id'))
        batch_op.drop_index(batch_op.f('ix_crossings_document_number'))
        batch_op.drop_index(batch_op.f('ix_crossings_completed_at'))

    op.drop_table('crossings')
    with op.batch_alter_table('commands', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_commands_gate_id'))

    op.drop_table('commands')
    with op.batch_alter_table('case_steps', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_steps_case_id'))

    op.drop_table('case_steps')
    op.drop_table('watchlist_versions')
    with op.batch_alter_table('watchlist_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_watchlist_entries_surname'))
        batch_op.drop_index('ix_watchlist_entries_list_active')
        batch_op.drop_index(batch_op.f('ix_watchlist_entries_document_numbers_text'))

    op.drop_table('watchlist_entries')
    op.drop_table('users')
    op.drop_table('gates')
    with op.batch_alter_table('enrolments', schema=None) as batch_op:
        batch_op.drop_index('ix_enrolments_document')

    op.drop_table('enrolments')
    op.drop_table('dead_letters')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cases_workflow_id'))
        batch_op.drop_index(batch_op.f('ix_cases_transaction_id'))
        batch_op.drop_index('ix_cases_status_opened')
        batch_op.drop_index(batch_op.f('ix_cases_gate_id'))

    op.drop_table('cases')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_log_at'))

    op.drop_table('audit_log')
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alerts_gate_id'))
        batch_op.drop_index(batch_op.f('ix_alerts_created_at'))

    op.drop_table('alerts')
