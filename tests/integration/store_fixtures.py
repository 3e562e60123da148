"""Database fixtures for the store and choice tests: each test gets a fresh database, SQLite file AND PostgreSQL.

PostgreSQL is the local server (database ``test`` on 127.0.0.1:5432, user postgres, trust auth; override with
``YIGONGTI_TEST_PG``). Each ``db`` test gets a database of its own, dropped afterwards, so tests are isolated from
each other and from other suites on the same server, and can be re-run: a copy (``CREATE DATABASE ... TEMPLATE``) of
a template database holding one schema migrated to head, made once per run, the state migrating a fresh schema
gives without running every migration again for each test. Without a reachable server the PostgreSQL variants are
skipped with the reason.

Import the fixtures into a test module: ``from store_fixtures import db  # noqa: F401``.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, make_url, text

from yigongti.core.db import make_engine
from yigongti.platform.migrations import upgrade

PG_URL = os.environ.get("YIGONGTI_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")

__all__ = ["PG_URL", "TestDb", "at_once", "db", "pg_unreachable", "scratch_url"]


def pg_unreachable() -> str | None:
    """Why PostgreSQL cannot be used (None when it can)."""
    try:
        engine = make_engine(PG_URL)
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
    except Exception as exc:  # noqa: BLE001 - any failure to connect means: skip
        return f"PostgreSQL at {PG_URL} is unreachable: {type(exc).__name__}: {exc}".splitlines()[0]
    return None


@dataclass
class TestDb:
    """A migrated, empty database: ``url`` and ``schema`` (PostgreSQL) to pass to the store functions."""

    __test__ = False
    kind: str
    url: str
    schema: str | None

    def engine(self, **options: object) -> Engine:
        return make_engine(self.url, schema=self.schema, **options)  # type: ignore[arg-type]


_MIGRATED: list[Path] = []  # the SQLite file migrated to head, once per run


def _migrated_sqlite(factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head once per run, its WAL checkpointed into the file: ``db`` copies it for each
    test (the database that migrating a fresh file makes, without running every migration again)."""
    if not _MIGRATED:
        path = factory.mktemp("migrated") / "yigongti.sqlite"
        upgrade(f"sqlite:///{path}")
        conn = sqlite3.connect(path)
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()
        _MIGRATED.append(path)
    return _MIGRATED[0]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestDb]:
    if request.param == "sqlite":
        path = tmp_path / "yigongti.sqlite"
        shutil.copy2(_migrated_sqlite(tmp_path_factory), path)  # with its mode (600)
        yield TestDb("sqlite", f"sqlite:///{path}", None)
        return
    reason = pg_unreachable()
    if reason:
        pytest.skip(reason)
    template = _pg_template()
    with template.copy() as url:
        yield TestDb("postgresql", url, template.schema)


@dataclass
class _PgTemplate:
    """A database holding ``schema`` migrated to head; ``copy()`` makes (and afterwards drops) a database like it."""

    name: str
    schema: str

    @contextmanager
    def copy(self) -> Iterator[str]:
        name = f"yt_{uuid.uuid4().hex[:12]}"
        _admin(f"CREATE DATABASE {name} TEMPLATE {self.name} STRATEGY WAL_LOG")
        try:
            yield _database_url(name)
        finally:
            _admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _database_url(name: str) -> str:
    return make_url(PG_URL).set(database=name).render_as_string(hide_password=False)


_TEMPLATE: list[_PgTemplate] = []  # the PostgreSQL template of this process, once per run


def _pg_template() -> _PgTemplate:
    """The template of the ``db`` databases on PostgreSQL: made and migrated once per run (per process), dropped when
    the process exits. Nothing stays connected to it (a template must have no connection when it is copied)."""
    if not _TEMPLATE:
        template = _PgTemplate(f"yt_template_{uuid.uuid4().hex[:12]}", f"t_{uuid.uuid4().hex[:12]}")
        _admin(f"CREATE DATABASE {template.name}")
        atexit.register(_admin, f"DROP DATABASE IF EXISTS {template.name} WITH (FORCE)")
        url = _database_url(template.name)
        engine = make_engine(url)
        try:
            with engine.begin() as conn:
                conn.execute(text(f"CREATE SCHEMA {template.schema}"))
        finally:
            engine.dispose()
        upgrade(url, schema=template.schema)
        _TEMPLATE.append(template)
    return _TEMPLATE[0]


def _admin(statement: str) -> None:
    """Run ``statement`` outside a transaction (CREATE and DROP DATABASE) on the server's ``test`` database."""
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(statement))
    finally:
        admin.dispose()


@contextmanager
def _pg_schema() -> Iterator[str]:
    """A PostgreSQL schema of its own, dropped after (PostgreSQL unreachable: the test is skipped)."""
    reason = pg_unreachable()
    if reason:
        pytest.skip(reason)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield schema
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        admin.dispose()


@contextmanager
def scratch_url(kind: str) -> Iterator[str]:
    """The database URL an app under test is given: ``""`` for ``sqlite`` (the app's own file), else PostgreSQL in a
    schema of its own, dropped after (PostgreSQL unreachable: the test is skipped)."""
    if kind == "sqlite":
        yield ""
        return
    with _pg_schema() as schema:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"


def at_once(jobs: list[Callable[[], Any]]) -> list[Any]:
    """Every job started at the same moment (a barrier) in its own thread; the result of each, or the exception it
    raised, in the jobs' order. The concurrency tests of the stores (bookings, dispensing, recording) share it."""
    barrier = threading.Barrier(len(jobs))
    results: list[Any] = [None] * len(jobs)

    def worker(n: int) -> None:
        barrier.wait()
        try:
            results[n] = jobs[n]()
        except BaseException as exc:  # noqa: BLE001 - returned to the test
            results[n] = exc

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(len(jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results
