"""Migrations: an empty database upgrades to head, the models match the migrated schema, append-only is enforced."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError
from store_fixtures import TestDb, db  # noqa: F401

from yigongti.core.db import default_url, make_engine, resolve_url
from yigongti.platform.migrations import alembic_config, current, head, target_metadata, upgrade

EXPECTED_TABLES = {"consortia", "institutions", "persons", "choices", "designations", "audit_log"}


def test_empty_database_upgrades_to_head(db: TestDb) -> None:  # noqa: F811
    assert current(db.url, schema=db.schema) == head()
    engine = db.engine()
    try:
        assert EXPECTED_TABLES <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_models_match_the_migrated_schema(db: TestDb) -> None:  # noqa: F811
    engine = db.engine()
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(ctx, target_metadata())
    finally:
        engine.dispose()
    assert diff == []


def test_upgrade_twice_is_harmless(db: TestDb) -> None:  # noqa: F811
    upgrade(db.url, schema=db.schema)
    assert current(db.url, schema=db.schema) == head()


def test_downgrade_to_empty_and_back(db: TestDb) -> None:  # noqa: F811
    command.downgrade(alembic_config(db.url, schema=db.schema), "base")
    assert current(db.url, schema=db.schema) is None
    engine = db.engine()
    try:
        assert not EXPECTED_TABLES & set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    upgrade(db.url, schema=db.schema)
    assert current(db.url, schema=db.schema) == head()


def test_audit_log_is_append_only(db: TestDb) -> None:  # noqa: F811
    engine = db.engine()
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO audit_log (at, actor, action, person_id) VALUES (:at, 'u1', 'view', 'P1')"),
                         {"at": datetime(2026, 1, 1, 8, 0)})
        for statement in ("UPDATE audit_log SET actor = 'someone else'", "DELETE FROM audit_log"):
            with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
                conn.execute(text(statement))
        with engine.connect() as conn:
            assert conn.execute(text("SELECT actor FROM audit_log")).scalars().all() == ["u1"]
    finally:
        engine.dispose()


def test_a_bare_path_means_a_sqlite_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("YIGONGTI_DB", raising=False)
    assert default_url() == f"sqlite:///{tmp_path / 'yigongti.sqlite'}"
    assert resolve_url("x/y.sqlite").database == str(tmp_path / "x" / "y.sqlite")
    monkeypatch.setenv("YIGONGTI_DB", "postgresql+psycopg://u@h/d")
    assert resolve_url(None).get_backend_name() == "postgresql"
    upgrade(str(tmp_path / "sub" / "file.sqlite"))
    assert (tmp_path / "sub" / "file.sqlite").is_file()
    engine = make_engine(str(tmp_path / "sub" / "file.sqlite"))
    try:
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    finally:
        engine.dispose()
