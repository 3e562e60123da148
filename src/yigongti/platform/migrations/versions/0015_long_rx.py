"""long prescriptions (长处方): every long prescription issued to a stable contracted chronic patient, with the
family doctor of the contract whose count it is (care/store.py)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 14:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0015'
down_revision: str | Sequence[str] | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('care_long_prescriptions',
    sa.Column('rx_id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('person_id', sa.String(length=64), nullable=False),
    sa.Column('disease', sa.String(length=16), nullable=False),
    sa.Column('days', sa.Integer(), nullable=False),
    sa.Column('gp_member_id', sa.Integer(), nullable=False),
    sa.Column('inst_id', sa.String(length=64), nullable=False),
    sa.Column('issued_at', sa.DateTime(), nullable=False),
    sa.Column('issued_by', sa.String(length=128), nullable=False),
    sa.CheckConstraint("disease IN ('hypertension', 'diabetes')", name=op.f('ck_care_long_prescriptions_disease')),
    sa.CheckConstraint('days >= 1', name=op.f('ck_care_long_prescriptions_days')),
    sa.ForeignKeyConstraint(['gp_member_id'], ['care_team_members.member_id'],
        name=op.f('fk_care_long_prescriptions_gp_member_id_care_team_members')),
    sa.ForeignKeyConstraint(['inst_id'],
        ['institutions.inst_id'], name=op.f('fk_care_long_prescriptions_inst_id_institutions')),
    sa.ForeignKeyConstraint(['person_id'],
        ['persons.person_id'], name=op.f('fk_care_long_prescriptions_person_id_persons')),
    sa.PrimaryKeyConstraint('rx_id', name=op.f('pk_care_long_prescriptions'))
    )
    with op.batch_alter_table('care_long_prescriptions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_care_long_prescriptions_gp_member_id_issued_at'),
            ['gp_member_id', 'issued_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_care_long_prescriptions_person_id'), ['person_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('care_long_prescriptions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_care_long_prescriptions_person_id'))
        batch_op.drop_index(batch_op.f('ix_care_long_prescriptions_gp_member_id_issued_at'))
    op.drop_table('care_long_prescriptions')
