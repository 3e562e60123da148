"""initial schema: registry, persons, choices, designations, audit log

Revision ID: 0001
Revises:
Create Date: 2026-11-25

The append-only tables (choices, audit_log) get triggers that refuse UPDATE and DELETE, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

APPEND_ONLY = ("choices", "audit_log")

revision: str = '0001'
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('audit_log',
    sa.Column('audit_id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('actor', sa.String(length=128), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('person_id', sa.String(length=64), nullable=True),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('audit_id', name=op.f('pk_audit_log'))
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_log_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_log_person_id_at'), ['person_id', 'at'], unique=False)

    op.create_table('consortia',
    sa.Column('consortium_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('county_code', sa.String(length=6), nullable=False),
    sa.Column('lead_inst_id', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('consortium_id', name=op.f('pk_consortia'))
    )
    with op.batch_alter_table('consortia', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consortia_county_code'), ['county_code'], unique=False)

    op.create_table('persons',
    sa.Column('person_id', sa.String(length=64), nullable=False),
    sa.Column('id_number', sa.String(length=18), nullable=True),
    sa.Column('sex', sa.String(length=1), nullable=False),
    sa.Column('birth_date', sa.Date(), nullable=False),
    sa.Column('household_id', sa.String(length=64), nullable=False),
    sa.Column('household_head', sa.Boolean(), nullable=False),
    sa.Column('insurance', sa.String(length=16), nullable=False),
    sa.Column('county_code', sa.String(length=6), nullable=False),
    sa.Column('lon', sa.Float(), nullable=False),
    sa.Column('lat', sa.Float(), nullable=False),
    sa.CheckConstraint("insurance IN ('resident', 'employee')", name=op.f('ck_persons_insurance')),
    sa.CheckConstraint("sex IN ('M', 'F')", name=op.f('ck_persons_sex')),
    sa.PrimaryKeyConstraint('person_id', name=op.f('pk_persons'))
    )
    with op.batch_alter_table('persons', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_persons_county_code'), ['county_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_persons_household_id'), ['household_id'], unique=False)

    op.create_table('choices',
    sa.Column('choice_id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('choice_key', sa.String(length=80), nullable=False),
    sa.Column('person_id', sa.String(length=64), nullable=False),
    sa.Column('chooser_id', sa.String(length=64), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('consortium_id', sa.String(length=64), nullable=True),
    sa.Column('township_id', sa.String(length=64), nullable=True),
    sa.Column('village_id', sa.String(length=64), nullable=True),
    sa.Column('chosen_at', sa.DateTime(), nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('refusal_code', sa.String(length=48), nullable=True),
    sa.Column('refusal_message', sa.Text(), nullable=True),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('recorded_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("status IN ('valid', 'refused')", name=op.f('ck_choices_status')),
    sa.ForeignKeyConstraint(['person_id'], ['persons.person_id'], name=op.f('fk_choices_person_id_persons')),
    sa.PrimaryKeyConstraint('choice_id', name=op.f('pk_choices')),
    sa.UniqueConstraint('choice_key', name=op.f('uq_choices_choice_key'))
    )
    with op.batch_alter_table('choices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_choices_person_id_year_chosen_at'), ['person_id', 'year', 'chosen_at'],
                              unique=False)

    op.create_table('institutions',
    sa.Column('inst_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('tier', sa.String(length=16), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('consortium_id', sa.String(length=64), nullable=True),
    sa.Column('parent_id', sa.String(length=64), nullable=True),
    sa.Column('county_code', sa.String(length=6), nullable=False),
    sa.Column('lon', sa.Float(), nullable=False),
    sa.Column('lat', sa.Float(), nullable=False),
    sa.CheckConstraint("tier IN ('county', 'township', 'village', 'outside')", name=op.f('ck_institutions_tier')),
    sa.CheckConstraint('level BETWEEN 0 AND 3', name=op.f('ck_institutions_level')),
    sa.ForeignKeyConstraint(['consortium_id'], ['consortia.consortium_id'],
                            name=op.f('fk_institutions_consortium_id_consortia')),
    sa.PrimaryKeyConstraint('inst_id', name=op.f('pk_institutions'))
    )
    with op.batch_alter_table('institutions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_institutions_consortium_id'), ['consortium_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_institutions_county_code'), ['county_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_institutions_parent_id'), ['parent_id'], unique=False)

    op.create_table('designations',
    sa.Column('designation_id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('person_id', sa.String(length=64), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('consortium_id', sa.String(length=64), nullable=False),
    sa.Column('township_id', sa.String(length=64), nullable=False),
    sa.Column('village_id', sa.String(length=64), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('choice_id', sa.Integer(), nullable=True),
    sa.Column('chosen_at', sa.DateTime(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("source IN ('choice', 'carried', 'household', 'nearest')", name=op.f('ck_designations_source')),
    sa.ForeignKeyConstraint(['choice_id'], ['choices.choice_id'], name=op.f('fk_designations_choice_id_choices')),
    sa.ForeignKeyConstraint(['person_id'], ['persons.person_id'], name=op.f('fk_designations_person_id_persons')),
    sa.PrimaryKeyConstraint('designation_id', name=op.f('pk_designations')),
    sa.UniqueConstraint('person_id', 'year', name=op.f('uq_designations_person_id_year'))
    )
    with op.batch_alter_table('designations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_designations_year_village_id'), ['year', 'village_id'], unique=False)

    _append_only_triggers()


def _append_only_triggers() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute(
            "CREATE OR REPLACE FUNCTION yigongti_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "RAISE EXCEPTION '% is append-only / 只增不改', TG_TABLE_NAME; END $$"
        )
        for table in APPEND_ONLY:
            op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                       "FOR EACH ROW EXECUTE FUNCTION yigongti_append_only()")
    elif bind.dialect.name == "sqlite":
        for table in APPEND_ONLY:
            for event in ("UPDATE", "DELETE"):
                op.execute(f"CREATE TRIGGER {table}_append_only_{event.lower()} BEFORE {event} ON {table} "
                           f"BEGIN SELECT RAISE(ABORT, '{table} is append-only / 只增不改'); END")


def _drop_append_only_triggers() -> None:
    bind = op.get_bind()
    for table in APPEND_ONLY:
        if bind.dialect.name == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        elif bind.dialect.name == "sqlite":
            for event in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only_{event}")
    if bind.dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS yigongti_append_only()")


def downgrade() -> None:
    _drop_append_only_triggers()
    with op.batch_alter_table('designations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_designations_year_village_id'))

    op.drop_table('designations')
    with op.batch_alter_table('institutions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_institutions_parent_id'))
        batch_op.drop_index(batch_op.f('ix_institutions_county_code'))
        batch_op.drop_index(batch_op.f('ix_institutions_consortium_id'))

    op.drop_table('institutions')
    with op.batch_alter_table('choices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_choices_person_id_year_chosen_at'))

    op.drop_table('choices')
    with op.batch_alter_table('persons', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_persons_household_id'))
        batch_op.drop_index(batch_op.f('ix_persons_county_code'))

    op.drop_table('persons')
    with op.batch_alter_table('consortia', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consortia_county_code'))

    op.drop_table('consortia')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_log_person_id_at'))
        batch_op.drop_index(batch_op.f('ix_audit_log_at'))

    op.drop_table('audit_log')
