"""readiness (监测与应急准备, 处方流转): surveillance counts of fever clinics and sentinel sites and the emergency
stockpile (public_health/store.py), emergency teams and their rosters (workforce/store.py), prescriptions written at
one member and dispensed at another (pharmacy/store.py)

Revision ID: 0014
Revises: 0012
Create Date: 2026-12-05 12:53:37
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0014'
down_revision: str | Sequence[str] | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('emergency_stockpile',
    sa.Column('line_id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('inst_id', sa.String(length=64), nullable=False),
    sa.Column('item_code', sa.String(length=64), nullable=False),
    sa.Column('item_name', sa.String(length=200), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.Column('unit', sa.String(length=16), nullable=False),
    sa.Column('batch', sa.String(length=64), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('minimum', sa.Integer(), nullable=False),
    sa.Column('expires_on', sa.Date(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('updated_by', sa.String(length=128), nullable=False),
    sa.CheckConstraint('minimum >= 0', name=op.f('ck_emergency_stockpile_minimum')),
    sa.CheckConstraint('quantity >= 0', name=op.f('ck_emergency_stockpile_quantity')),
    sa.ForeignKeyConstraint(['inst_id'],
        ['institutions.inst_id'], name=op.f('fk_emergency_stockpile_inst_id_institutions')),
    sa.PrimaryKeyConstraint('line_id', name=op.f('pk_emergency_stockpile')),
    sa.UniqueConstraint('inst_id', 'item_code', 'batch', name=op.f('uq_emergency_stockpile_inst_id_item_code_batch'))
    )
    with op.batch_alter_table('emergency_stockpile', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_emergency_stockpile_expires_on'), ['expires_on'], unique=False)

    op.create_table('emergency_teams',
    sa.Column('team_id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('consortium_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('base_inst_id', sa.String(length=64), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("kind IN ('epidemic', 'rescue', 'poisoning')", name=op.f('ck_emergency_teams_kind')),
    sa.ForeignKeyConstraint(['base_inst_id'],
        ['institutions.inst_id'], name=op.f('fk_emergency_teams_base_inst_id_institutions')),
    sa.ForeignKeyConstraint(['consortium_id'],
        ['consortia.consortium_id'], name=op.f('fk_emergency_teams_consortium_id_consortia')),
    sa.PrimaryKeyConstraint('team_id', name=op.f('pk_emergency_teams')),
    sa.UniqueConstraint('consortium_id', 'name', name=op.f('uq_emergency_teams_consortium_id_name'))
    )
    op.create_table('prescriptions',
    sa.Column('rx_id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('person_id', sa.String(length=64), nullable=False),
    sa.Column('consortium_id', sa.String(length=64), nullable=False),
    sa.Column('written_inst_id', sa.String(length=64), nullable=False),
    sa.Column('written_by', sa.String(length=128), nullable=False),
    sa.Column('written_at', sa.DateTime(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('dispensed_inst_id', sa.String(length=64), nullable=True),
    sa.Column('dispensed_by', sa.String(length=128), nullable=True),
    sa.Column('dispensed_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("status IN ('written', 'dispensed', 'cancelled')", name=op.f('ck_prescriptions_status')),
    sa.ForeignKeyConstraint(['dispensed_inst_id'],
        ['institutions.inst_id'], name=op.f('fk_prescriptions_dispensed_inst_id_institutions')),
    sa.ForeignKeyConstraint(['person_id'], ['persons.person_id'], name=op.f('fk_prescriptions_person_id_persons')),
    sa.ForeignKeyConstraint(['written_inst_id'],
        ['institutions.inst_id'], name=op.f('fk_prescriptions_written_inst_id_institutions')),
    sa.PrimaryKeyConstraint('rx_id', name=op.f('pk_prescriptions'))
    )
    with op.batch_alter_table('prescriptions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_prescriptions_consortium_id_status'),
            ['consortium_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_prescriptions_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_prescriptions_written_inst_id_written_at'),
            ['written_inst_id', 'written_at'], unique=False)

    op.create_table('surveillance_counts',
    sa.Column('inst_id', sa.String(length=64), nullable=False),
    sa.Column('site_kind', sa.String(length=16), nullable=False),
    sa.Column('syndrome', sa.String(length=32), nullable=False),
    sa.Column('week', sa.Date(), nullable=False),
    sa.Column('cases', sa.Integer(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(), nullable=False),
    sa.Column('recorded_by', sa.String(length=128), nullable=False),
    sa.CheckConstraint("site_kind IN ('fever_clinic', 'sentinel')", name=op.f('ck_surveillance_counts_site_kind')),
    sa.CheckConstraint('cases >= 0', name=op.f('ck_surveillance_counts_cases')),
    sa.ForeignKeyConstraint(['inst_id'],
        ['institutions.inst_id'], name=op.f('fk_surveillance_counts_inst_id_institutions')),
    sa.PrimaryKeyConstraint('inst_id', 'site_kind', 'syndrome', 'week', name=op.f('pk_surveillance_counts'))
    )
    with op.batch_alter_table('surveillance_counts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_surveillance_counts_week'), ['week'], unique=False)

    op.create_table('emergency_team_members',
    sa.Column('member_id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('title', sa.String(length=32), nullable=False),
    sa.Column('speciality', sa.String(length=100), nullable=True),
    sa.Column('inst_id', sa.String(length=64), nullable=False),
    sa.Column('duty', sa.String(length=16), nullable=False),
    sa.Column('added_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("duty IN ('leader', 'deputy', 'member')", name=op.f('ck_emergency_team_members_duty')),
    sa.ForeignKeyConstraint(['inst_id'],
        ['institutions.inst_id'], name=op.f('fk_emergency_team_members_inst_id_institutions')),
    sa.ForeignKeyConstraint(['team_id'],
        ['emergency_teams.team_id'], name=op.f('fk_emergency_team_members_team_id_emergency_teams')),
    sa.PrimaryKeyConstraint('member_id', name=op.f('pk_emergency_team_members')),
    sa.UniqueConstraint('team_id', 'staff_id', name=op.f('uq_emergency_team_members_team_id_staff_id'))
    )
    with op.batch_alter_table('emergency_team_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_emergency_team_members_staff_id'), ['staff_id'], unique=False)

    op.create_table('prescription_lines',
    sa.Column('rx_id', sa.Integer(), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.Column('drug_code', sa.String(length=64), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_prescription_lines_quantity')),
    sa.ForeignKeyConstraint(['drug_code'], ['drugs.drug_code'], name=op.f('fk_prescription_lines_drug_code_drugs')),
    sa.ForeignKeyConstraint(['rx_id'], ['prescriptions.rx_id'], name=op.f('fk_prescription_lines_rx_id_prescriptions')),
    sa.PrimaryKeyConstraint('rx_id', 'line_no', name=op.f('pk_prescription_lines'))
    )


def downgrade() -> None:
    op.drop_table('prescription_lines')
    with op.batch_alter_table('emergency_team_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_emergency_team_members_staff_id'))
    op.drop_table('emergency_team_members')
    with op.batch_alter_table('surveillance_counts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_surveillance_counts_week'))
    op.drop_table('surveillance_counts')
    with op.batch_alter_table('prescriptions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_prescriptions_written_inst_id_written_at'))
        batch_op.drop_index(batch_op.f('ix_prescriptions_person_id'))
        batch_op.drop_index(batch_op.f('ix_prescriptions_consortium_id_status'))
    op.drop_table('prescriptions')
    op.drop_table('emergency_teams')
    with op.batch_alter_table('emergency_stockpile', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_emergency_stockpile_expires_on'))
    op.drop_table('emergency_stockpile')
