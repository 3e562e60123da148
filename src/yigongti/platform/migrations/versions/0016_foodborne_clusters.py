"""food-borne clusters (食源性聚集性病例): the exposure of a food-borne case (onset, place of eating, suspected food)
and the reports of the clusters computed from them (public_health/store.py)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05 22:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0016'
down_revision: str | Sequence[str] | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('foodborne_cards', schema=None) as batch_op:
        batch_op.add_column(sa.Column('onset_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('exposure_place', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('suspected_food', sa.String(length=200), nullable=True))
    op.create_table('foodborne_cluster_reports',
    sa.Column('report_id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('place_key', sa.String(length=200), nullable=False),
    sa.Column('first_case_id', sa.Integer(), nullable=False),
    sa.Column('case_ids', sa.Text(), nullable=False),
    sa.Column('cases', sa.Integer(), nullable=False),
    sa.Column('first_at', sa.DateTime(), nullable=False),
    sa.Column('deadline', sa.DateTime(), nullable=False),
    sa.Column('submitted_at', sa.DateTime(), nullable=False),
    sa.Column('submitted_by', sa.String(length=128), nullable=False),
    sa.ForeignKeyConstraint(['first_case_id'], ['foodborne_cards.card_id'],
        name=op.f('fk_foodborne_cluster_reports_first_case_id_foodborne_cards')),
    sa.PrimaryKeyConstraint('report_id', name=op.f('pk_foodborne_cluster_reports')),
    sa.UniqueConstraint('first_case_id', name=op.f('uq_foodborne_cluster_reports_first_case_id'))
    )
    with op.batch_alter_table('foodborne_cluster_reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_foodborne_cluster_reports_first_at'), ['first_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('foodborne_cluster_reports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_foodborne_cluster_reports_first_at'))
    op.drop_table('foodborne_cluster_reports')
    with op.batch_alter_table('foodborne_cards', schema=None) as batch_op:
        batch_op.drop_column('suspected_food')
        batch_op.drop_column('exposure_place')
        batch_op.drop_column('onset_at')
