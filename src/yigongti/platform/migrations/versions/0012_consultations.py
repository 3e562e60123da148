"""consultations (远程会诊; centres/store.py): tele-consultations requested by a primary clinician of a county-tier
member, scheduled, held and concluded with an opinion, and each consultation's moves

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 08:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012'
down_revision: str | Sequence[str] | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('consultations',
    sa.Column('consultation_id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('person_id', sa.String(length=64), nullable=False),
    sa.Column('from_inst_id', sa.String(length=64), nullable=False),
    sa.Column('to_inst_id', sa.String(length=64), nullable=False),
    sa.Column('specialty', sa.String(length=64), nullable=False),
    sa.Column('question', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('scheduled_at', sa.DateTime(), nullable=True),
    sa.Column('opinion', sa.Text(), nullable=True),
    sa.Column('requested_at', sa.DateTime(), nullable=False),
    sa.Column('requested_by', sa.String(length=128), nullable=False),
    sa.Column('concluded_at', sa.DateTime(), nullable=True),
    sa.Column('concluded_by', sa.String(length=128), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("status IN ('requested', 'scheduled', 'declined', 'held', 'concluded', 'cancelled')",
        name=op.f('ck_consultations_status')),
    sa.ForeignKeyConstraint(['from_inst_id'], ['institutions.inst_id'],
        name=op.f('fk_consultations_from_inst_id_institutions')),
    sa.ForeignKeyConstraint(['person_id'], ['persons.person_id'], name=op.f('fk_consultations_person_id_persons')),
    sa.ForeignKeyConstraint(['to_inst_id'], ['institutions.inst_id'],
        name=op.f('fk_consultations_to_inst_id_institutions')),
    sa.PrimaryKeyConstraint('consultation_id', name=op.f('pk_consultations'))
    )
    with op.batch_alter_table('consultations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consultations_from_inst_id_status'), ['from_inst_id', 'status'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_consultations_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_consultations_to_inst_id_status'), ['to_inst_id', 'status'],
                              unique=False)

    op.create_table('consultation_events',
    sa.Column('event_id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('consultation_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('actor', sa.String(length=128), nullable=False),
    sa.Column('party', sa.String(length=16), nullable=False),
    sa.Column('from_status', sa.String(length=16), nullable=True),
    sa.Column('to_status', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['consultation_id'], ['consultations.consultation_id'],
        name=op.f('fk_consultation_events_consultation_id_consultations')),
    sa.PrimaryKeyConstraint('event_id', name=op.f('pk_consultation_events'))
    )
    with op.batch_alter_table('consultation_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consultation_events_consultation_id'), ['consultation_id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('consultation_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consultation_events_consultation_id'))
    op.drop_table('consultation_events')
    with op.batch_alter_table('consultations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consultations_to_inst_id_status'))
        batch_op.drop_index(batch_op.f('ix_consultations_person_id'))
        batch_op.drop_index(batch_op.f('ix_consultations_from_inst_id_status'))
    op.drop_table('consultations')
