"""The unit of work: rollback unless commit, readable results, retryable conflicts, SQLite read-only snapshots."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from store_fixtures import TestDb, db  # noqa: F401

from yigongti.enrollment.domain import Designation, Source
from yigongti.enrollment.store import PersonRow
from yigongti.enrollment.uow import SqlAlchemyUnitOfWork, is_retryable
from yigongti.platform.migrations import upgrade
from yigongti.registry.store import ConsortiumRow

NOW = datetime(2026, 1, 1, 8, 0)


def person(pid: str = "P1", sex: str = "F") -> PersonRow:
    return PersonRow(person_id=pid, id_number=None, sex=sex, birth_date=date(1980, 1, 1), household_id="H1",
                     household_head=False, insurance="resident", county_code="510727", lon=104.5, lat=32.4)


def test_nothing_is_written_without_commit(db: TestDb) -> None:  # noqa: F811
    uow = SqlAlchemyUnitOfWork(db.url, schema=db.schema)
    with uow:
        uow.session.add(person())
        uow.session.flush()
    with uow:
        assert uow.persons.count() == 0
        uow.session.add(person())
        uow.commit()
    with uow:
        assert uow.persons.count() == 1
    uow.dispose()


def test_what_was_read_stays_readable_after_the_unit_of_work(db: TestDb) -> None:  # noqa: F811
    uow = SqlAlchemyUnitOfWork(db.url, schema=db.schema)
    with uow:
        uow.session.add(person())
        uow.commit()
    with uow:
        row = uow.persons.get("P1")
    assert row is not None and row.birth_date == date(1980, 1, 1)
    uow.dispose()


def test_designation_put_keeps_one_row_per_person_and_year(db: TestDb) -> None:  # noqa: F811
    uow = SqlAlchemyUnitOfWork(db.url, schema=db.schema)
    with uow:
        uow.session.add(person())
        uow.session.add(ConsortiumRow(consortium_id="G1", name="g", county_code="510727", lead_inst_id="H"))
        uow.session.flush()
        for village in ("V1", "V2"):
            uow.designations.put(Designation("P1", 2026, "G1", "T1", village, Source.NEAREST), now=NOW)
        uow.commit()
    with uow:
        assert uow.designations.count(2026) == 1
        row = uow.designations.get("P1", 2026)
        assert row is not None and row.village_id == "V2"
    uow.dispose()


def test_unique_key_race_is_retryable_a_broken_rule_is_not(db: TestDb) -> None:  # noqa: F811
    engine = db.engine()
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO persons (person_id, sex, birth_date, household_id, household_head, "
                              "insurance, county_code, lon, lat) VALUES ('P1', 'F', '1980-01-01', 'H1', false, "
                              "'resident', '510727', 104.5, 32.4)"))
        with pytest.raises(DBAPIError) as dup, engine.begin() as conn:
            conn.execute(text("INSERT INTO designations (person_id, year, consortium_id, township_id, "
                              "village_id, source, updated_at) VALUES ('P1', 2026, 'G', 'T', 'V', 'nearest', "
                              ":t), ('P1', 2026, 'G', 'T', 'V2', 'nearest', :t)"), {"t": NOW})
        assert is_retryable(dup.value)
        with pytest.raises(DBAPIError) as bad, engine.begin() as conn:
            conn.execute(text("UPDATE persons SET sex = 'X'"))
        assert not is_retryable(bad.value)
    finally:
        engine.dispose()


def test_id_numbers_stay_out_of_reprs_and_error_messages(db: TestDb) -> None:  # noqa: F811
    secret = "513433198403150133"
    row = person()
    row.id_number = secret
    assert secret not in repr(row)
    uow = SqlAlchemyUnitOfWork(db.url, schema=db.schema)
    with uow:
        uow.session.add(row)
        uow.commit()
    twin = person()
    twin.id_number = secret
    with pytest.raises(DBAPIError) as info, uow:
        uow.session.add(twin)
        uow.commit()
    assert "P1" in str(info.value) or "person_id" in str(info.value)
    assert secret not in str(info.value)
    uow.dispose()


def test_sqlite_readers_do_not_wait_for_a_writer(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    upgrade(url)
    writer = SqlAlchemyUnitOfWork(url)
    reader = SqlAlchemyUnitOfWork(url, read_only=True)
    with writer:
        writer.session.add(person())
        writer.session.flush()  # the writer holds the write lock (BEGIN IMMEDIATE) until it ends
        with reader:
            assert reader.persons.count() == 0  # a snapshot without the uncommitted row, at once
        writer.commit()
    with reader:
        assert reader.persons.count() == 1
    writer.dispose()
    reader.dispose()
