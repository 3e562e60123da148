"""budget agreements (年度总额预算协议): one append-only row per version of a consortium-year's agreement
(budget/agreement_store.py)

UPDATE and DELETE are refused by triggers (as for choices and audit_log), on SQLite and PostgreSQL.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-10 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | Sequence[str] | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'budget_agreements',
        sa.Column('row_id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('consortium_id', sa.String(length=64), nullable=False),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('action', sa.String(length=16), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('formula_amount', sa.BigInteger(), nullable=False),
        sa.Column('capacity', sa.String(length=32), nullable=False),
        sa.Column('volume', sa.String(length=32), nullable=False),
        sa.Column('tcm_uplift', sa.String(length=32), nullable=False),
        sa.Column('amount', sa.BigInteger(), nullable=False),
        sa.Column('actor', sa.String(length=128), nullable=False),
        sa.Column('role', sa.String(length=32), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['consortium_id'], ['consortia.consortium_id'],
                                name=op.f('fk_budget_agreements_consortium_id_consortia')),
        sa.PrimaryKeyConstraint('row_id', name=op.f('pk_budget_agreements')),
        sa.UniqueConstraint('consortium_id', 'year', 'version', name='uq_budget_agreements_version'),
    )
    with op.batch_alter_table('budget_agreements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_budget_agreements_consortium_id'), ['consortium_id'], unique=False)
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":  # the function yigongti_append_only() is 0001's
        op.execute("CREATE TRIGGER budget_agreements_append_only BEFORE UPDATE OR DELETE ON budget_agreements "
                   "FOR EACH ROW EXECUTE FUNCTION yigongti_append_only()")
    elif bind.dialect.name == "sqlite":
        for event in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER budget_agreements_append_only_{event.lower()} BEFORE {event} ON "
                       "budget_agreements BEGIN SELECT RAISE(ABORT, 'budget_agreements is append-only / 只增不改'); "
                       "END")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS budget_agreements_append_only ON budget_agreements")
    elif bind.dialect.name == "sqlite":
        for event in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS budget_agreements_append_only_{event}")
    with op.batch_alter_table('budget_agreements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_budget_agreements_consortium_id'))
    op.drop_table('budget_agreements')
