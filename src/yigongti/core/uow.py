"""The unit of work (工作单元): one transaction per use case; it rolls back unless ``commit()`` was called.

    uow = SqlAlchemyUnitOfWork(url)   # a capability's subclass; url, or an Engine, or a session factory
    with uow:
        person = uow.persons.get("P1")
        ...
        uow.commit()

Objects read inside stay readable (detached) after it ends; what was not committed is not in the database.
A unit of work can be entered again after it is left (a fresh session each time), which is what a retry needs:
:func:`is_retryable` tells a conflict worth retrying (PostgreSQL serialization failure or deadlock, a unique key
race, SQLite busy) from a real error.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Self

from sqlalchemy import Engine
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from yigongti.core.db import READ_ONLY_OPTION, make_engine, make_session_factory

__all__ = ["RETRYABLE_SQLSTATES", "UnitOfWork", "is_retryable"]

# serialization_failure, deadlock_detected, unique_violation, lock_not_available
RETRYABLE_SQLSTATES = frozenset({"40001", "40P01", "23505", "55P03"})


class UnitOfWork:
    """One session and one transaction; a capability's unit of work adds its repositories in ``_open``."""

    session: Session

    def __init__(self, target: str | URL | Engine | sessionmaker[Session] | Session | None = None, *,
                 schema: str | None = None, read_only: bool = False) -> None:
        """``target``: a database URL (default: ``$YIGONGTI_DB`` or the SQLite file), an Engine, a session factory,
        or a session (a web request's: the unit of work continues its open transaction, and closes the session when
        it ends, as it would its own; entering again, e.g. to retry, starts a new transaction on it).

        ``read_only``: the unit of work only reads, from one consistent snapshot: on SQLite its transactions do not
        take the write lock (they never wait for a writer); on PostgreSQL they run REPEATABLE READ, READ ONLY.
        """
        self._owned_engine: Engine | None = None
        self.read_only = read_only
        self._factory: Callable[[], Session]
        if isinstance(target, sessionmaker):
            self._factory = target
        elif isinstance(target, Session):  # a caller's session: its transaction, if open, is continued
            self._factory = lambda: target
        else:
            engine = target if isinstance(target, Engine) else make_engine(target, schema=schema)
            if not isinstance(target, Engine):
                self._owned_engine = engine
            self._factory = make_session_factory(engine)

    def __enter__(self) -> Self:
        self.session = self._factory()
        if self.read_only:
            options: dict[str, object] = {READ_ONLY_OPTION: True}
            if self.session.get_bind().dialect.name == "postgresql":
                options |= {"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
            self.session.connection(execution_options=options)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            # detach first: what was read stays readable after the unit of work ends (a rollback would expire it)
            self.session.expunge_all()
            self.rollback()
        finally:
            self.session.close()

    def commit(self) -> None:
        self.session.commit()

    def rollback(self) -> None:
        self.session.rollback()

    def dispose(self) -> None:
        """Close the engine this unit of work made from a URL (not one it was given)."""
        if self._owned_engine is not None:
            self._owned_engine.dispose()


def is_retryable(exc: BaseException) -> bool:
    """A conflict between concurrent transactions that the same use case may simply try again."""
    if not isinstance(exc, DBAPIError):
        return False
    orig = exc.orig
    sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if sqlstate in RETRYABLE_SQLSTATES:
        return True
    if isinstance(exc, IntegrityError):
        return "UNIQUE constraint failed" in str(orig)
    text = str(orig).lower()
    return "database is locked" in text or "database is busy" in text
