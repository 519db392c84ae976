"""Face evidence: the captured face beside the enrolled one for a failed face step (24 h).

Revision ID: 0002_face_evidence
Revises: 0001_initial
Created: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_face_evidence"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('face_evidence',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('gate_id', sa.String(length=64), nullable=False),
    sa.Column('transaction_id', sa.String(length=64), nullable=False),
    sa.Column('captured_jpeg', sa.LargeBinary(), nullable=False),
    sa.Column('enrolled_jpeg', sa.LargeBinary(), nullable=True),
    sa.Column('enrolled_source', sa.String(length=16), nullable=True),
    sa.Column('score', sa.Float(), nullable=True),
    sa.Column('threshold', sa.Float(), nullable=True),
    sa.Column('refused_reason', sa.String(length=500), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('source_message_id', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['gate_id'], ['gates.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('face_evidence', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_face_evidence_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index('ix_face_evidence_gate_txn', ['gate_id', 'transaction_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('face_evidence', schema=None) as batch_op:
        batch_op.drop_index('ix_face_evidence_gate_txn')
        batch_op.drop_index(batch_op.f('ix_face_evidence_expires_at'))

    op.drop_table('face_evidence')
