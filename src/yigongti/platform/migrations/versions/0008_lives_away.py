"""persons living away (常年外出): persons.lives_away (enrollment/store.py)

An insured person who lives and works away from the county all year (seed 000 二(二)2) gets no default designation
and no standard heads unless they chose, as in the batch (``enrollment.engine``). False for every existing person.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 19:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | Sequence[str] | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('persons', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lives_away', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('persons', schema=None) as batch_op:
        batch_op.drop_column('lives_away')
