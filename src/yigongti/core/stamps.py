"""Cache stamps (缓存版本号): a counter per name in the database, bumped in the transaction of a write that a cache
cannot see otherwise (a row changed in place: no count or last id moves).

A cache kept in a worker process reads the stamp with the few counts it checks and recomputes when it changed, so
that every worker process (``serve --workers N``, or several machines on one database) sees a write made through
any other within the next request, not only the process that wrote."""

from __future__ import annotations

from sqlalchemy import Integer, String, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from yigongti.core.db import Base

__all__ = ["CacheStampRow", "bump_stamp", "read_stamp"]


class CacheStampRow(Base):
    """缓存版本号 / one counter per cache name, bumped by the writes it must notice."""

    __tablename__ = "cache_stamps"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    generation: Mapped[int] = mapped_column(Integer, default=0)


def bump_stamp(session: Session, name: str) -> None:
    """Add one to ``name``'s counter in the session's transaction (the row created when missing); the caller
    commits with its write, so the bump is seen exactly when the write is."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(insert(CacheStampRow).values(name=name, generation=0).on_conflict_do_nothing())
    session.execute(update(CacheStampRow).where(CacheStampRow.name == name)
                    .values(generation=CacheStampRow.generation + 1).execution_options(synchronize_session=False))


def read_stamp(session: Session, name: str) -> int:
    """``name``'s counter (0 when never bumped)."""
    return session.scalar(select(CacheStampRow.generation).where(CacheStampRow.name == name)) or 0
