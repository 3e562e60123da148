"""partitions (分区) on PostgreSQL: designations by year, the audit log by the year of its time, each with a DEFAULT
partition so that any year works; rows copied (platform/partitions.py). Nothing changes on SQLite.

The primary keys take the partition key: designations (designation_id, year), audit_log (audit_id, at); the
unique key of designations (person_id, year) already holds it (its ON CONFLICT target is unchanged). A year gets
its own partition with ``yigongti db partitions --year Y`` (rows of that year move out of DEFAULT).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05 22:00:00
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from alembic import op

from yigongti.platform.partitions import partition_all, unpartition_all

revision: str = '0017'
down_revision: str | Sequence[str] | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        partition_all(bind, around=date.today().year)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        unpartition_all(bind)
