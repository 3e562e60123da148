"""``core.db.DriverStatement``: the choice path's statements run on the driver's cursor (PostgreSQL) or through
SQLAlchemy (SQLite) give the same rows, and a conflict is raised as SQLAlchemy's error, so that ``submit_choice``
still retries it (a unique-key race), on both engines."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime

import pytest
from sqlalchemy import Integer, bindparam, column, literal, select, table
from sqlalchemy.exc import DBAPIError, IntegrityError
from store_fixtures import TestDb, db  # noqa: F401

from yigongti.core.db import DriverStatement
from yigongti.core.uow import is_retryable
from yigongti.enrollment.store import HouseholdMember, PersonRow
from yigongti.enrollment.uow import SqlAlchemyUnitOfWork

NOW = datetime(2025, 11, 15, 10)


@pytest.fixture
def uow(db: TestDb) -> Iterator[SqlAlchemyUnitOfWork]:  # noqa: F811
    unit = SqlAlchemyUnitOfWork(db.url, schema=db.schema)
    with unit:
        for pid, head in (("P2", False), ("P1", True)):
            unit.session.add(PersonRow(person_id=pid, sex="F", birth_date=date(1980, 1, 2), household_id="H1",
                                       household_head=head, insurance="resident", county_code="513433",
                                       lon=102.0, lat=30.0))
        unit.commit()
    yield unit
    unit.dispose()


def _choice(key: str) -> dict[str, object]:
    return {"choice_key": key, "person_id": "P1", "chooser_id": "P1", "year": 2026, "consortium_id": "G1",
            "township_id": "G1-T1", "village_id": "G1-T1-V1", "chosen_at": NOW, "status": "valid",
            "refusal_code": None, "refusal_message": None, "channel": "api", "recorded_at": NOW}


def test_rows_with_parameters_and_literals(uow: SqlAlchemyUnitOfWork) -> None:
    stmt = DriverStatement(select(bindparam("n", type_=Integer()) + 1, literal("x")))
    with uow:
        assert stmt.rows(uow.session, {"n": 41}) == [(42, "x")]
        assert stmt.rows(uow.session, {"n": 1}) == [(2, "x")]  # compiled once, run again


def test_household_locked_as_named_rows(uow: SqlAlchemyUnitOfWork) -> None:
    with uow:
        rows = uow.persons.household_of("P2", lock=True)
        assert rows == [HouseholdMember("P1", date(1980, 1, 2), True, "513433"),
                        HouseholdMember("P2", date(1980, 1, 2), False, "513433")]
        assert rows[0].household_head is True and rows[1].county_code == "513433"
        assert uow.persons.household_of("nobody") == []


def test_a_conflict_is_sqlalchemys_error_and_retried(uow: SqlAlchemyUnitOfWork) -> None:
    """The same choice_key twice: a unique-key violation, raised as IntegrityError (a retry's cue), and the
    transaction rolls back as any other's."""
    detail = {"year": 2026}
    with uow:
        _, designation = uow.choices.insert_accepted(_choice("k1"), now=NOW, actor="a", action="choice.accepted",
                                                     detail=detail)
        assert designation.village_id == "G1-T1-V1"
        with pytest.raises(IntegrityError) as raised:
            uow.choices.insert_accepted(_choice("k1"), now=NOW, actor="a", action="choice.accepted", detail=detail)
        assert is_retryable(raised.value)
        uow.rollback()
    with uow:
        assert uow.choices.count(person_id="P1") == 0  # nothing of the failed transaction stayed


def test_an_error_is_wrapped_without_its_parameters(uow: SqlAlchemyUnitOfWork) -> None:
    missing = table("no_such_table", column("a"))
    stmt = DriverStatement(select(missing.c.a).where(missing.c.a == bindparam("n", type_=Integer())))
    with uow, pytest.raises(DBAPIError) as raised:
        stmt.rows(uow.session, {"n": 123456789})
    assert not is_retryable(raised.value)
    assert "123456789" not in str(raised.value)
