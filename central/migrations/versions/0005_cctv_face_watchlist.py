"""CCTV face recognition (SOP it-05): cameras, the face watchlist and its versions, alarms with their
pictures, dismissals and person flags.

Revision ID: 0005_cctv_face_watchlist
Revises: 0004_shift_answers_resets
Created: 2026-12-07 22:30:52.734579
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005_cctv_face_watchlist'
down_revision = '0004_shift_answers_resets'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('cctv_cameras',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('location', sa.String(length=200), nullable=False),
    sa.Column('public_key', sa.String(length=64), nullable=False),
    sa.Column('last_seq', sa.BigInteger(), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('online', sa.Boolean(), nullable=False),
    sa.Column('online_changed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('health_sent_ms', sa.BigInteger(), nullable=False),
    sa.Column('health', sa.JSON(), nullable=True),
    sa.Column('face_list_version', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('face_list_versions',
    sa.Column('version', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=True),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('templates', sa.Integer(), nullable=False),
    sa.Column('entries', sa.Integer(), nullable=False),
    sa.Column('model', sa.String(length=96), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('chunk_count', sa.Integer(), nullable=True),
    sa.Column('retained_cleared', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('version')
    )
    op.create_table('cctv_alarms',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('message_id', sa.String(length=32), nullable=False),
    sa.Column('alarm_id', sa.String(length=64), nullable=False),
    sa.Column('camera_id', sa.String(length=64), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('track_id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.String(length=64), nullable=False),
    sa.Column('list_name', sa.String(length=32), nullable=False),
    sa.Column('template_id', sa.String(length=64), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('threshold', sa.Float(), nullable=False),
    sa.Column('target_fpir', sa.Float(), nullable=True),
    sa.Column('gallery_size', sa.Integer(), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('acknowledged_by', sa.String(length=64), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_by', sa.String(length=64), nullable=True),
    sa.Column('decision_note', sa.Text(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('suppressed_by', sa.Integer(), nullable=True),
    sa.Column('probe_embedding', sa.LargeBinary(), nullable=True),
    sa.Column('images_purged_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['camera_id'], ['cctv_cameras.id'], ),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('message_id')
    )
    with op.batch_alter_table('cctv_alarms', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cctv_alarms_camera_id'), ['camera_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_cctv_alarms_entry_id'), ['entry_id'], unique=False)
        batch_op.create_index('ix_cctv_alarms_status_received', ['status', 'received_at'], unique=False)

    op.create_table('face_list_changes',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('template_id', sa.String(length=32), nullable=False),
    sa.Column('op', sa.String(length=8), nullable=False),
    sa.ForeignKeyConstraint(['version'], ['face_list_versions.version'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('face_list_changes', schema=None) as batch_op:
        batch_op.create_index('ix_face_list_changes_version', ['version'], unique=False)

    op.create_table('face_templates',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('entry_id', sa.String(length=64), nullable=False),
    sa.Column('model', sa.String(length=96), nullable=False),
    sa.Column('embedding', sa.LargeBinary(), nullable=False),
    sa.Column('quality', sa.JSON(), nullable=False),
    sa.Column('quality_override', sa.Boolean(), nullable=False),
    sa.Column('reference_jpeg', sa.LargeBinary(), nullable=True),
    sa.Column('photo', sa.LargeBinary(), nullable=True),
    sa.Column('photo_sha256', sa.String(length=64), nullable=False),
    sa.Column('source', sa.String(length=200), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('in_list', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=True),
    sa.Column('removed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('removed_by', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['entry_id'], ['watchlist_entries.entry_id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('face_templates', schema=None) as batch_op:
        batch_op.create_index('ix_face_templates_entry_active', ['entry_id', 'active'], unique=False)

    op.create_table('cctv_alarm_images',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('alarm_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('frame', sa.Integer(), nullable=True),
    sa.Column('jpeg', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['alarm_id'], ['cctv_alarms.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('cctv_alarm_images', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cctv_alarm_images_alarm_id'), ['alarm_id'], unique=False)

    op.create_table('cctv_dismissals',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('alarm_id', sa.Integer(), nullable=False),
    sa.Column('camera_id', sa.String(length=64), nullable=False),
    sa.Column('entry_id', sa.String(length=64), nullable=False),
    sa.Column('probe_embedding', sa.LargeBinary(), nullable=True),
    sa.Column('dismissed_by', sa.String(length=64), nullable=False),
    sa.Column('dismissed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('until', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['alarm_id'], ['cctv_alarms.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('alarm_id')
    )
    with op.batch_alter_table('cctv_dismissals', schema=None) as batch_op:
        batch_op.create_index('ix_cctv_dismissals_pairing', ['camera_id', 'entry_id', 'until'], unique=False)

    op.create_table('cctv_person_flags',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('alarm_id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.String(length=64), nullable=False),
    sa.Column('list_name', sa.String(length=32), nullable=False),
    sa.Column('camera_id', sa.String(length=64), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('raised_by', sa.String(length=64), nullable=False),
    sa.Column('raised_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('withdrawn_by', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['alarm_id'], ['cctv_alarms.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('cctv_person_flags', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cctv_person_flags_alarm_id'), ['alarm_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_cctv_person_flags_entry_id'), ['entry_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_cctv_person_flags_expires_at'), ['expires_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('cctv_person_flags', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cctv_person_flags_expires_at'))
        batch_op.drop_index(batch_op.f('ix_cctv_person_flags_entry_id'))
        batch_op.drop_index(batch_op.f('ix_cctv_person_flags_alarm_id'))

    op.drop_table('cctv_person_flags')
    with op.batch_alter_table('cctv_dismissals', schema=None) as batch_op:
        batch_op.drop_index('ix_cctv_dismissals_pairing')

    op.drop_table('cctv_dismissals')
    with op.batch_alter_table('cctv_alarm_images', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cctv_alarm_images_alarm_id'))

    op.drop_table('cctv_alarm_images')
    with op.batch_alter_table('face_templates', schema=None) as batch_op:
        batch_op.drop_index('ix_face_templates_entry_active')

    op.drop_table('face_templates')
    with op.batch_alter_table('face_list_changes', schema=None) as batch_op:
        batch_op.drop_index('ix_face_list_changes_version')

    op.drop_table('face_list_changes')
    with op.batch_alter_table('cctv_alarms', schema=None) as batch_op:
        batch_op.drop_index('ix_cctv_alarms_status_received')
        batch_op.drop_index(batch_op.f('ix_cctv_alarms_entry_id'))
        batch_op.drop_index(batch_op.f('ix_cctv_alarms_camera_id'))

    op.drop_table('cctv_alarms')
    op.drop_table('face_list_versions')
    op.drop_table('cctv_cameras')
