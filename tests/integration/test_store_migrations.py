"""Migrations: an empty database upgrades to head, the models match the migrated schema, append-only is enforced."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect, text
from sqlalchemy.exc import DBAPIError
from store_fixtures import TestDb, db  # noqa: F401

from yigongti.core.db import default_url, make_engine, resolve_url
from yigongti.platform.migrations import alembic_config, current, head, target_metadata, upgrade
from yigongti.platform.partitions import add_year, include_name, partitions

EXPECTED_TABLES = {"consortia", "institutions", "persons", "choices", "designations", "audit_log", "login_buckets",
                   "app_secrets", "cache_stamps"}


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
            ctx = MigrationContext.configure(conn, opts={"compare_type": True, "include_name": include_name})
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


def _partition_of(conn: Connection, table: str, where: str) -> list[str]:
    return [str(r) for r in conn.execute(text(f"SELECT tableoid::regclass::text FROM {table} WHERE {where}")).scalars()]


@pytest.mark.postgres
def test_partitions_upgrade_and_downgrade_with_rows(db: TestDb) -> None:  # noqa: F811
    """0017 on PostgreSQL: designations by year and the audit log by the year of its time, rows copied both ways;
    the designation upsert's ON CONFLICT target, the sequences, the append-only trigger and a new year's partition
    (rows moved out of DEFAULT) all work; SQLite is left as it was."""
    engine = db.engine()
    cfg = alembic_config(db.url, schema=db.schema)
    try:
        command.downgrade(cfg, "0016")
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO persons (person_id, sex, birth_date, household_id, household_head, "
                              "lives_away, insurance, county_code, lon, lat) VALUES "
                              "('P1', 'F', '1980-01-01', 'H1', true, false, 'resident', '360101', 115.0, 28.0)"))
            for year in (2019, 2026, 2027):
                conn.execute(text("INSERT INTO designations (person_id, year, consortium_id, township_id, village_id, "
                                  "source, updated_at) VALUES ('P1', :y, 'C1', 'T1', 'V1', 'nearest', :at)"),
                             {"y": year, "at": datetime(year, 1, 2)})
                conn.execute(text("INSERT INTO audit_log (at, actor, action, person_id) "
                                  "VALUES (:at, 'u', 'view', 'P1')"),
                             {"at": datetime(year, 6, 1)})
        if db.kind == "sqlite":
            upgrade(db.url)
            with engine.connect() as conn:
                assert conn.execute(text("SELECT count(*) FROM designations")).scalar() == 3
            return
        upgrade(db.url, schema=db.schema)
        with engine.begin() as conn:
            assert _partition_of(conn, "designations", "year = 2027") == ["designations_y2027"]
            assert _partition_of(conn, "designations", "year = 2019") == ["designations_y2019"]  # the data's years
            assert _partition_of(conn, "audit_log", "at >= '2026-01-01' AND at < '2027-01-01'") == ["audit_log_y2026"]
            # the designation upsert of enrollment.store, ON CONFLICT (person_id, year), on the partitioned table
            conn.execute(text("INSERT INTO designations (person_id, year, consortium_id, township_id, village_id, "
                              "source, updated_at) VALUES ('P1', 2027, 'C2', 'T2', 'V2', 'choice', '2026-11-25') "
                              "ON CONFLICT (person_id, year) DO UPDATE SET consortium_id = excluded.consortium_id"))
            assert conn.execute(text("SELECT consortium_id FROM designations WHERE year = 2027")).scalar() == "C2"
            ids = conn.execute(text("INSERT INTO designations (person_id, year, consortium_id, township_id, "
                                    "village_id, source, updated_at) VALUES ('P1', 2028, 'C1', 'T1', 'V1', 'nearest', "
                                    "'2028-01-01') RETURNING designation_id")).scalar()
            assert ids is not None and ids > 3  # the sequence goes on after the copied rows (1-3)
            with pytest.raises(DBAPIError, match="unique"), conn.begin_nested():
                conn.execute(text("INSERT INTO designations (person_id, year, consortium_id, township_id, "
                                  "village_id, source, updated_at) VALUES ('P1', 2026, 'C', 'T', 'V', 'nearest', "
                                  "'2026-01-01')"))
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text("DELETE FROM audit_log"))
        with engine.begin() as conn:  # a year without a partition goes to DEFAULT ...
            conn.execute(text("INSERT INTO designations (person_id, year, consortium_id, township_id, village_id, "
                              "source, updated_at) VALUES ('P1', 2040, 'C1', 'T1', 'V1', 'nearest', '2039-12-01')"))
            conn.execute(text("INSERT INTO audit_log (at, actor, action) VALUES ('2040-02-01', 'u', 'view')"))
            assert _partition_of(conn, "designations", "year = 2040") == ["designations_default"]
            assert _partition_of(conn, "audit_log", "at >= '2040-01-01'") == ["audit_log_default"]
        with engine.begin() as conn:  # ... until it gets its own partition: its rows move out of DEFAULT
            assert add_year(conn, 2040) == ["designations_y2040", "audit_log_y2040"]
            assert add_year(conn, 2040) == []
            assert _partition_of(conn, "designations", "year = 2040") == ["designations_y2040"]
            assert _partition_of(conn, "audit_log", "at >= '2040-01-01'") == ["audit_log_y2040"]
            listed = {(t, p): n for t, p, _, n in partitions(conn)}
            assert listed[("audit_log", "audit_log_y2040")] == 1 and listed[("audit_log", "audit_log_default")] == 0
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text("DELETE FROM audit_log_y2040"))
        with pytest.raises(ValueError, match="year"), engine.begin() as conn:
            add_year(conn, 20400)
        command.downgrade(cfg, "0016")
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM designations")).scalar() == 5
            assert conn.execute(text("SELECT count(*) FROM audit_log")).scalar() == 4
            kinds = dict(conn.execute(text("SELECT relname, relkind FROM pg_class WHERE relname IN "
                                           "('designations', 'audit_log') AND relnamespace = "
                                           "CAST(current_schema() AS regnamespace)")).all())
            assert kinds == {"designations": "r", "audit_log": "r"}
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text("UPDATE audit_log SET actor = 'x'"))
        upgrade(db.url, schema=db.schema)
        assert current(db.url, schema=db.schema) == head()
    finally:
        engine.dispose()
