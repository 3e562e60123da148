"""Database connections (数据库连接): an engine and a session factory from a URL.

SQLite file by default (``yigongti.sqlite`` in the current folder, or the URL in the environment variable
``YIGONGTI_DB``); PostgreSQL when a URL such as ``postgresql+psycopg://user@host:5432/db`` is given.

- SQLite: foreign keys on, WAL journal, a busy timeout, and every transaction opened with ``BEGIN IMMEDIATE`` so that
  writers are serialised (two choices for one person cannot interleave). A connection with the execution option
  ``{READ_ONLY_OPTION: True}`` (what ``SqlAlchemyUnitOfWork(read_only=True)`` sets) opens a plain deferred
  ``BEGIN`` instead, so that readers do not wait for each other.
- PostgreSQL: an optional ``schema`` puts every table (and Alembic's version table) in that schema via the
  connection's ``search_path`` (tests use a fresh schema per module).
- PostgreSQL: a pooled connection idle for :data:`PING_AFTER_IDLE_SECONDS` is tested before use (and replaced
  when dead); one in steady use is not, so a busy web server pays no extra round trip per request.
- SQLite: a new database file is created readable and writable by its owner only (mode 600; it holds ID numbers
  and password hashes); SQLite gives its ``-wal`` and ``-shm`` files the mode of the database file.
- Statement parameters are never shown in error messages (``hide_parameters``): they may hold ID numbers.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, MetaData, Select, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

__all__ = [
    "APPEND_ONLY_TABLES",
    "ID_LENGTH",
    "NAMING_CONVENTION",
    "Base",
    "DB_ENV",
    "DEFAULT_SQLITE_FILE",
    "DriverStatement",
    "READ_ONLY_OPTION",
    "default_url",
    "is_postgres",
    "is_sqlite",
    "make_engine",
    "make_session_factory",
    "masked_url",
    "resolve_url",
]

READ_ONLY_OPTION = "yigongti_read_only"

DB_ENV = "YIGONGTI_DB"
DEFAULT_SQLITE_FILE = "yigongti.sqlite"
SQLITE_BUSY_TIMEOUT_MS = 30_000
PING_AFTER_IDLE_SECONDS = 5.0


def default_url() -> str:
    """``$YIGONGTI_DB`` when set, else the SQLite file ``yigongti.sqlite`` in the current folder."""
    return os.environ.get(DB_ENV) or f"sqlite:///{Path(DEFAULT_SQLITE_FILE).resolve()}"


def resolve_url(url: str | URL | None) -> URL:
    """A URL object for ``url`` (None: :func:`default_url`); a bare file path means a SQLite file."""
    if url is None:
        url = default_url()
    if isinstance(url, str) and "://" not in url:
        url = f"sqlite:///{Path(url).resolve()}"
    return make_url(url)


def is_postgres(url_or_engine: str | URL | Engine) -> bool:
    return _url(url_or_engine).get_backend_name() == "postgresql"


def is_sqlite(url_or_engine: str | URL | Engine) -> bool:
    return _url(url_or_engine).get_backend_name() == "sqlite"


def masked_url(url: str | URL | None) -> str:
    """The URL with any password hidden, for messages."""
    return resolve_url(url).render_as_string(hide_password=True)


def _url(x: str | URL | Engine) -> URL:
    return x.url if isinstance(x, Engine) else resolve_url(x)


def make_engine(url: str | URL | None = None, *, schema: str | None = None, echo: bool = False,
                pool_size: int = 5, ping_after_idle: float = PING_AFTER_IDLE_SECONDS) -> Engine:
    """An engine for ``url`` (default: :func:`default_url`). ``schema`` (PostgreSQL only) sets the search_path;
    ``ping_after_idle``: seconds after which a pooled PostgreSQL connection is tested before use."""
    u = resolve_url(url)
    kwargs: dict[str, Any] = {"echo": echo, "hide_parameters": True, "future": True}
    if u.get_backend_name() == "sqlite":
        if u.database and u.database != ":memory:":
            _create_private(Path(u.database))
        kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}
        engine = create_engine(u, **kwargs)
        _sqlite_setup(engine)
        return engine
    if u.get_backend_name() == "postgresql":
        if schema:
            if not schema.replace("_", "").isalnum():
                raise ValueError(f"schema name must be letters, digits and _: {schema!r}")
            kwargs["connect_args"] = {"options": f"-csearch_path={schema}"}
        kwargs["pool_size"] = pool_size
        engine = create_engine(u, **kwargs)
        _ping_when_idle(engine, idle_seconds=ping_after_idle)
        return engine
    return create_engine(u, **kwargs)


def _create_private(path: Path) -> None:
    """Create the SQLite file ``path`` empty with mode 600 (an empty file is an empty database) unless it exists."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass


def _ping_when_idle(engine: Engine, *, idle_seconds: float) -> None:
    """Test a pooled connection before use when it has been idle ``idle_seconds`` or more (the server may have
    closed it meanwhile); a dead one is replaced. Unlike ``pool_pre_ping``, a busy server pays no round trip
    per checkout."""

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["checked_in"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if time.monotonic() - record.info.get("checked_in", 0.0) < idle_seconds:
            return
        try:
            cur = dbapi_connection.cursor()
            cur.execute("SELECT 1")
            cur.close()
            dbapi_connection.rollback()
        except Exception as exc:  # any failure: the connection is unusable
            raise DisconnectionError(str(exc)) from exc


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when a transaction begins (see the SQLAlchemy docs,
        # "Serializable isolation / Savepoints / Transactional DDL").
        dbapi_connection.isolation_level = None
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        if engine.url.database and engine.url.database != ":memory:":
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get(READ_ONLY_OPTION) else "BEGIN IMMEDIATE")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that do not expire objects on commit (results stay readable after the unit of work ends)."""
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=False)


class DriverStatement:
    """A Core statement compiled once per dialect and run, on PostgreSQL, straight on the driver's (psycopg's)
    cursor in the session's transaction; elsewhere through SQLAlchemy. For the busiest statements (a resident's
    choice): SQLAlchemy's execution context, result objects and session bookkeeping cost several times the CPU of
    running a prepared statement on the cursor. Rows are plain tuples. Errors are raised as SQLAlchemy's
    (``DBAPIError`` and its subclasses, parameters hidden), so a retry (``core.uow.is_retryable``) sees them as
    any other statement's."""

    def __init__(self, statement: Select[Any]) -> None:
        self.statement = statement
        self._compiled: dict[str, tuple[str, dict[str, Any]]] = {}

    def rows(self, session: Session, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        conn = session.connection()
        dialect = conn.dialect
        if dialect.name != "postgresql":
            return [tuple(r) for r in conn.execute(self.statement, dict(params))]
        compiled = self._compiled.get(dialect.name)
        if compiled is None:
            c = self.statement.compile(dialect=dialect)
            compiled = self._compiled[dialect.name] = (c.string, dict(c.params))  # literals' values are defaults
        sql, defaults = compiled
        driver = conn.connection.driver_connection
        assert driver is not None
        try:
            with driver.cursor() as cur:
                cur.execute(sql, {**defaults, **params})
                return cur.fetchall() if cur.description is not None else []
        except dialect.loaded_dbapi.Error as exc:
            raise DBAPIError.instance(sql, dict(params), exc, dialect.loaded_dbapi.Error, hide_parameters=True,
                                      dialect=dialect) from exc


# ------------------------------------------------------------------------------------------------ tables

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

APPEND_ONLY_TABLES = ("choices", "audit_log", "budget_agreements")
ID_LENGTH = 64  # identifiers of the data contract (person_id, inst_id ...)


class Base(DeclarativeBase):
    """Declarative base of every yigongti table; other store modules (accounts) share its metadata."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
