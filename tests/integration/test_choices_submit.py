"""submit_choice on a real database (SQLite and PostgreSQL) loaded with the example county."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from store_fixtures import TestDb, db  # noqa: F401

from yigongti.core.audit import AuditRow
from yigongti.core.policy import EnrollmentPolicy, HouseholdMode, Policy
from yigongti.datafolder.folder import DataFolder, read_folder
from yigongti.enrollment.choices import ChooserNotAllowed, SubmitChoice, UnknownPerson, submit_choice
from yigongti.enrollment.domain import RefusalCode, Source
from yigongti.enrollment.loading import LOADED_TABLES, load_data, load_folder
from yigongti.enrollment.store import ChoiceRow, DesignationRow
from yigongti.enrollment.uow import SqlAlchemyUnitOfWork

# Choices for 2027 (window 2026-10-01 .. 2026-12-31): the example file has none, so only these tests' choices count.
# The tests that meet the file's choices for 2026 say so.
YEAR = 2027
IN_WINDOW = datetime(2026, 11, 3, 9, 30)
NOW = datetime(2026, 11, 3, 9, 31)
IN_2026_WINDOW = datetime(2025, 11, 3, 9, 30)
# HH001: R0003 (born 1944, the oldest: head), R0004 (1955), R0005 (2015, a child), R0006 (1984), R0007 (1989)
HH001 = ("R0003", "R0004", "R0005", "R0006", "R0007")


@pytest.fixture(scope="module")
def example(example_input: Path) -> DataFolder:
    return read_folder(example_input, tables=LOADED_TABLES)


@pytest.fixture
def uow(db: TestDb, example: DataFolder) -> Iterator[SqlAlchemyUnitOfWork]:  # noqa: F811
    unit = SqlAlchemyUnitOfWork(db.url, schema=db.schema)
    load_data(example, unit, policy=Policy(), now=NOW)
    yield unit
    unit.dispose()


def choose(person_id: str, village: str = "G1-T2-V1", *, at: datetime = IN_WINDOW, year: int = YEAR,
           township: str | None = None, consortium: str | None = None, **options: object) -> SubmitChoice:
    township = township or village.rsplit("-", 1)[0]
    consortium = consortium or township.split("-")[0]
    return SubmitChoice(person_id, year, consortium, township, village, at, **options)  # type: ignore[arg-type]


def designation(uow: SqlAlchemyUnitOfWork, person_id: str, year: int = YEAR) -> DesignationRow | None:
    with uow:
        return uow.designations.get(person_id, year)


def choice_rows(uow: SqlAlchemyUnitOfWork, person_id: str, channel: str = "web") -> list[ChoiceRow]:
    with uow:
        return [r for r in uow.choices.for_person(person_id) if r.channel == channel]


def test_valid_choice_sets_the_designation_and_is_kept(uow: SqlAlchemyUnitOfWork) -> None:
    result = submit_choice(choose("R0013", for_household=False, actor="resident:R0013"), uow, now=NOW)
    assert result.accepted and result.refusal is None and result.applied_to == ("R0013",)
    d = designation(uow, "R0013")
    assert d is not None
    assert (d.consortium_id, d.township_id, d.village_id, d.source) == ("G1", "G1-T2", "G1-T2-V1", "choice")
    assert d.choice_id == result.choice_id and d.chosen_at == IN_WINDOW
    rows = choice_rows(uow, "R0013")
    assert [(r.status, r.chooser_id, r.refusal_code) for r in rows] == [("valid", "R0013", None)]
    with uow:
        audit = uow.audit.for_person("R0013")
    assert [(a.actor, a.action) for a in audit] == [("resident:R0013", "choice.accepted")]


def test_choice_after_window_is_refused_with_the_window_dates(uow: SqlAlchemyUnitOfWork) -> None:
    result = submit_choice(choose("R0013", at=datetime(2027, 1, 1, 0, 0)), uow, now=NOW)
    assert not result.accepted
    assert result.refusal is not None and result.refusal.code is RefusalCode.OUTSIDE_WINDOW
    assert "2026-10-01" in result.refusal.message and "2026-12-31" in result.refusal.message
    assert designation(uow, "R0013") is None
    [row] = choice_rows(uow, "R0013")
    assert (row.status, row.refusal_code) == ("refused", "outside_window")
    assert "2026-12-31" in (row.refusal_message or "")


@pytest.mark.parametrize("at", [datetime(2026, 10, 1, 0, 0), datetime(2026, 12, 31, 23, 59, 59)])
def test_window_edges_are_included(uow: SqlAlchemyUnitOfWork, at: datetime) -> None:
    assert submit_choice(choose("R0013", at=at, for_household=False), uow, now=NOW).accepted


def test_village_of_another_township_is_refused_and_changes_nothing(uow: SqlAlchemyUnitOfWork) -> None:
    submit_choice(choose("R0013", "G1-T1-V1", for_household=False), uow, now=NOW)
    result = submit_choice(choose("R0013", "G1-T1-V2", township="G1-T2"), uow, now=NOW)
    assert result.refusal is not None and result.refusal.code is RefusalCode.VILLAGE_NOT_UNDER_TOWNSHIP
    assert "G1-T1" in result.refusal.message_en
    d = designation(uow, "R0013")
    assert d is not None and d.village_id == "G1-T1-V1"
    assert [r.status for r in choice_rows(uow, "R0013")] == ["valid", "refused"]


def test_last_valid_choice_by_time_wins_whatever_the_order_of_arrival(uow: SqlAlchemyUnitOfWork) -> None:
    later = choose("R0013", "G1-T2-V2", at=datetime(2026, 12, 1, 8, 0), for_household=False)
    earlier = choose("R0013", "G1-T1-V1", at=datetime(2026, 11, 1, 8, 0), for_household=False)
    submit_choice(later, uow, now=NOW)
    submit_choice(earlier, uow, now=NOW)
    d = designation(uow, "R0013")
    assert d is not None and d.village_id == "G1-T2-V2"
    assert len(choice_rows(uow, "R0013")) == 2
    submit_choice(choose("R0013", "G2-T3-V3", at=datetime(2026, 12, 2, 8, 0), for_household=False), uow, now=NOW)
    d = designation(uow, "R0013")
    assert d is not None and (d.consortium_id, d.village_id) == ("G2", "G2-T3-V3")


def test_a_later_choice_from_the_file_beats_an_earlier_online_one(uow: SqlAlchemyUnitOfWork) -> None:
    # the example file has R0003 choosing G2-T3-V3 at 2025-12-31T11:09; the online choice is earlier
    online = choose("R0003", "G1-T1-V1", at=IN_2026_WINDOW, year=2026, for_household=False)
    result = submit_choice(online, uow, now=NOW)
    assert result.accepted
    assert [(d.person_id, d.village_id, d.source) for d in result.designations] == [("R0003", "G2-T3-V3", "choice")]
    d = designation(uow, "R0003", 2026)
    assert d is not None and (d.village_id, d.chosen_at) == ("G2-T3-V3", datetime(2025, 12, 31, 11, 9))


def test_a_choice_replaces_a_carried_designation(uow: SqlAlchemyUnitOfWork, example_input: Path) -> None:
    load_folder(example_input, uow, year=2026, now=NOW)  # R0008 is carried over from 2025
    before = designation(uow, "R0008", 2026)
    assert before is not None and before.source == Source.CARRIED.value
    submit_choice(choose("R0008", "G2-T3-V1", at=IN_2026_WINDOW, year=2026, for_household=False), uow, now=NOW)
    after = designation(uow, "R0008", 2026)
    assert after is not None and (after.village_id, after.source) == ("G2-T3-V1", "choice")
    load_folder(example_input, uow, year=2026, now=NOW)  # a reload computes with the online choice: no change
    again = designation(uow, "R0008", 2026)
    assert again is not None and (again.village_id, again.choice_id) == ("G2-T3-V1", after.choice_id)


def test_each_adult_chooses_for_themself_and_the_children(uow: SqlAlchemyUnitOfWork) -> None:
    result = submit_choice(choose("R0006"), uow, now=NOW)
    assert result.applied_to == ("R0005", "R0006")
    assert {d.person_id for d in result.designations} == {"R0005", "R0006"}
    child = choice_rows(uow, "R0005")
    assert [(r.chooser_id, r.status) for r in child] == [("R0006", "valid")]
    for other in ("R0003", "R0004", "R0007"):
        assert designation(uow, other) is None


def test_the_head_chooses_for_all_adults(uow: SqlAlchemyUnitOfWork) -> None:
    policy = Policy(enrollment=EnrollmentPolicy(household_mode=HouseholdMode.HEAD_FOR_ALL))
    result = submit_choice(choose("R0003", "G2-T3-V2"), uow, policy=policy, now=NOW)
    assert result.applied_to == HH001
    for pid in HH001:
        d = designation(uow, pid)
        assert d is not None and d.village_id == "G2-T3-V2"
    # another adult then chooses for themself only
    later = choose("R0004", "G1-T1-V3", at=datetime(2026, 11, 4, 8, 0))
    assert submit_choice(later, uow, policy=policy, now=NOW).applied_to == ("R0004",)
    d = designation(uow, "R0006")
    assert d is not None and d.village_id == "G2-T3-V2"


def test_a_member_chooses_for_whom_the_household_rule_allows(uow: SqlAlchemyUnitOfWork) -> None:
    # each adult for themself (default): R0006 may choose for the child R0005, not for the adult R0004
    result = submit_choice(choose("R0005", "G2-T3-V1", chooser_id="R0006", actor="resident:R0006"), uow, now=NOW)
    assert result.accepted and result.applied_to == ("R0005",)
    [row] = choice_rows(uow, "R0005")
    assert (row.person_id, row.chooser_id) == ("R0005", "R0006")
    assert designation(uow, "R0006") is None
    for target, chooser in (("R0004", "R0006"), ("R0005", "R0013")):
        with pytest.raises(ChooserNotAllowed, match=f"{chooser} may not choose for {target}"):
            submit_choice(choose(target, chooser_id=chooser), uow, now=NOW)
    with pytest.raises(UnknownPerson, match="NOBODY"):
        submit_choice(choose("R0005", chooser_id="NOBODY"), uow, now=NOW)
    assert choice_rows(uow, "R0004") == []
    # the head chooses for every member
    head = Policy(enrollment=EnrollmentPolicy(household_mode=HouseholdMode.HEAD_FOR_ALL))
    assert submit_choice(choose("R0004", chooser_id="R0003"), uow, policy=head, now=NOW).applied_to == ("R0004",)
    with pytest.raises(ChooserNotAllowed):
        submit_choice(choose("R0003", chooser_id="R0004"), uow, policy=head, now=NOW)


def test_a_household_choice_skips_a_member_insured_elsewhere(db: TestDb, example_input: Path,  # noqa: F811
                                                               tmp_path: Path) -> None:
    folder = tmp_path / "moved"
    shutil.copytree(example_input, folder)
    persons = (folder / "persons.csv").read_text(encoding="utf-8")
    (folder / "persons.csv").write_text(persons.replace("R0007,513433198910180150,M,1989-10-18,HH001,resident,513433",
                                                        "R0007,513433198910180150,M,1989-10-18,HH001,resident,510727"),
                                        encoding="utf-8")
    unit = SqlAlchemyUnitOfWork(db.url, schema=db.schema)
    load_folder(folder, unit, now=NOW)
    head = Policy(enrollment=EnrollmentPolicy(household_mode=HouseholdMode.HEAD_FOR_ALL))
    result = submit_choice(choose("R0003", "G2-T3-V2"), unit, policy=head, now=NOW)
    assert result.applied_to == ("R0003", "R0004", "R0005", "R0006")
    assert designation(unit, "R0007") is None
    unit.dispose()


def test_unknown_person_raises_and_leaves_nothing(uow: SqlAlchemyUnitOfWork) -> None:
    with pytest.raises(UnknownPerson, match="NOBODY"):
        submit_choice(choose("NOBODY"), uow, now=NOW)
    with uow:
        assert uow.choices.count(channel="web") == 0


def test_choices_cannot_be_changed_or_deleted(uow: SqlAlchemyUnitOfWork) -> None:
    submit_choice(choose("R0013"), uow, now=NOW)
    for statement in ("UPDATE choices SET village_id = 'G1-T1-V1'", "DELETE FROM choices"):
        with pytest.raises(DBAPIError, match="append-only"), uow:
            uow.session.execute(text(statement))
            uow.commit()
    with uow:
        assert uow.session.scalar(select(AuditRow.action).where(AuditRow.person_id == "R0013")) == "choice.accepted"
