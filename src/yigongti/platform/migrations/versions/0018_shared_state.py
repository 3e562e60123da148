"""shared state (共享状态) of the web platform's worker processes: the sign-in limiter's buckets, the
session-signing secret and the cache stamps (platform/shared_state.py, core/stamps.py), so that any worker process,
on any machine, answers any request.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05 22:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0018'
down_revision: str | Sequence[str] | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('login_buckets',
    sa.Column('bucket', sa.String(length=8), nullable=False),
    sa.Column('name', sa.String(length=256), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.Column('tokens', sa.Float(), nullable=False),
    sa.Column('at', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('bucket', 'name', 'address', name=op.f('pk_login_buckets'))
    )
    op.create_table('app_secrets',
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('value', sa.String(length=256), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_app_secrets'))
    )
    op.create_table('cache_stamps',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('generation', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_cache_stamps'))
    )


def downgrade() -> None:
    op.drop_table('cache_stamps')
    op.drop_table('app_secrets')
    op.drop_table('login_buckets')
