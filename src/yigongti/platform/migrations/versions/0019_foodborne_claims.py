"""food-borne reports from imported claims (理赔中的食源性疾病诊断): the claims that opened or joined a food-borne
case report, unique by claim id so that importing the same claims again creates nothing new (public_health/store.py)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05 23:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0019'
down_revision: str | Sequence[str] | None = '0018'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('foodborne_claims',
    sa.Column('claim_row_id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('source_id', sa.String(length=64), nullable=False),
    sa.Column('card_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.String(length=64), nullable=False),
    sa.Column('inst_id', sa.String(length=64), nullable=False),
    sa.Column('icd10', sa.String(length=16), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['card_id'], ['foodborne_cards.card_id'],
        name=op.f('fk_foodborne_claims_card_id_foodborne_cards')),
    sa.ForeignKeyConstraint(['inst_id'], ['institutions.inst_id'],
        name=op.f('fk_foodborne_claims_inst_id_institutions')),
    sa.ForeignKeyConstraint(['person_id'], ['persons.person_id'],
        name=op.f('fk_foodborne_claims_person_id_persons')),
    sa.PrimaryKeyConstraint('claim_row_id', name=op.f('pk_foodborne_claims')),
    sa.UniqueConstraint('source_id', name=op.f('uq_foodborne_claims_source_id'))
    )
    with op.batch_alter_table('foodborne_claims', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_foodborne_claims_card_id_at'), ['card_id', 'at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('foodborne_claims', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_foodborne_claims_card_id_at'))
    op.drop_table('foodborne_claims')
