"""The database's workforce of a year in place of a folder's tables (``workforce.engine.with_database``, what the
platform's appraisal reads): each table the database has rows for replaces the folder's, the others stay; staff
joined by id; incomes all from one side; nothing in the database leaves the folder as it is. And the training rule
(``domain.training_met``) as a property."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from yigongti.datafolder.folder import DataFolder
from yigongti.workforce.domain import training_met
from yigongti.workforce.engine import export_arrow, with_database


def _person(sid: str, income: int | None = None, at: str = "T1") -> dict[str, object]:
    return {"staff_id": sid, "name": sid, "title": "junior", "profession": "doctor", "department": None,
            "employer_id": at, "works_at_id": at, "income": income}


FOLDER = DataFolder(Path("."), export_arrow({
    "staff": [_person("F1", 100_00), _person("B1", 200_00)],
    "stationing": [{"staff_id": "F1", "to_inst_id": "T1", "start_date": date(2026, 1, 1), "end_date": None}],
    "prescription_reviews": [{"prescription_id": "OLD", "inst_id": "T1", "staff_id": "F1", "date": date(2026, 2, 1),
                              "score": 10}]}))
EMPTY: dict[str, list[dict[str, object]]] = {"staff": [_person("B1")], "stationing": [], "training": [],
                                             "prescription_reviews": [], "record_checks": []}


def test_nothing_for_the_year_leaves_the_folder_as_it_is() -> None:
    assert with_database(FOLDER, EMPTY) is FOLDER


def test_a_table_with_rows_replaces_the_folders_and_the_others_stay() -> None:
    db = EMPTY | {"prescription_reviews": [{"prescription_id": "NEW", "inst_id": "T1", "staff_id": "B1",
                                            "date": date(2026, 3, 1), "score": 90}],
                  "staff": [_person("B1", None, "T2"), _person("D1")]}
    out = with_database(FOLDER, db)
    assert out["prescription_reviews"].column("prescription_id").to_pylist() == ["NEW"]
    assert out["stationing"].equals(FOLDER["stationing"])  # the database has no stint: the folder's stays
    staff = {r["staff_id"]: r for r in out["staff"].to_pylist()}
    assert set(staff) == {"F1", "B1", "D1"}
    assert staff["B1"]["works_at_id"] == "T2"  # the database's row ...
    assert staff["B1"]["income"] == 200_00 and staff["F1"]["income"] == 100_00  # ... with the folder's incomes


def test_incomes_of_the_year_come_from_the_database_only() -> None:
    out = with_database(FOLDER, EMPTY | {"staff": [_person("B1", 300_00)]})
    staff = {r["staff_id"]: r["income"] for r in out["staff"].to_pylist()}
    assert staff == {"F1": None, "B1": 300_00}  # not a mixture of the two sides


@given(st.decimals(0, 100, places=1), st.decimals(0, 100, places=1), st.decimals(0, 50, places=1))
def test_training_met_is_none_when_not_assessed_and_monotone_in_hours(hours: Decimal, required: Decimal,
                                                                      more: Decimal) -> None:
    met = training_met(hours, required)
    assert (met is None) == (required <= 0)
    if met:
        assert training_met(hours + more, required)
