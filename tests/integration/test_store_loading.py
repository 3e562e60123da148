"""Loading a data folder into the database: counts, idempotency, all-or-nothing, statuses, designations."""

from __future__ import annotations

import csv
import re
import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session
from store_fixtures import TestDb, db  # noqa: F401

from yigongti.core.bulk import BulkWriteError, scrub_id_numbers
from yigongti.core.problems import InvalidInput
from yigongti.enrollment.loading import load_folder
from yigongti.enrollment.store import ChoiceRow, DesignationRow, PersonRow
from yigongti.enrollment.uow import SqlAlchemyUnitOfWork
from yigongti.registry.store import ConsortiumRow, InstitutionRow

NOW = datetime(2026, 1, 5, 8, 0)
TABLES = (ConsortiumRow, InstitutionRow, PersonRow, ChoiceRow, DesignationRow)


@pytest.fixture
def engine(db: TestDb) -> Iterator[Engine]:  # noqa: F811
    eng = db.engine()
    yield eng
    eng.dispose()


def snapshot(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table, in key order."""
    out = {}
    with engine.connect() as conn:
        for model in TABLES:
            table = model.__table__
            out[table.name] = [tuple(r) for r in conn.execute(select(table).order_by(*table.primary_key.columns))]
    return out


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def test_loading_the_example_twice_gives_the_same_rows(engine: Engine, example_input: Path) -> None:
    report = load_folder(example_input, SqlAlchemyUnitOfWork(engine), now=NOW)
    assert report.rows == {"institutions": 42, "consortia": 3, "persons": 225, "choices": 101, "designations": 27}
    assert report.database == {"consortia": 3, "institutions": 42, "persons": 225, "choices": 101,
                               "designations": 27}
    first = snapshot(engine)
    again = load_folder(example_input, SqlAlchemyUnitOfWork(engine), now=datetime(2026, 2, 1, 8, 0))
    assert again.database == report.database
    assert snapshot(engine) == first  # not even a timestamp changed


def test_persons_keep_id_numbers_and_households(engine: Engine, example_input: Path) -> None:
    load_folder(example_input, SqlAlchemyUnitOfWork(engine), now=NOW)
    with engine.connect() as conn:
        row = conn.execute(select(PersonRow).where(PersonRow.person_id == "R0005")).one()
    assert (row.id_number, row.household_id, row.birth_date.isoformat(), row.household_head) == (
        "51343320150516010X", "HH001", "2015-05-16", False)


def test_choice_statuses_match_the_batch_refusals(engine: Engine, example_input: Path, tmp_path: Path) -> None:
    report = load_folder(example_input, SqlAlchemyUnitOfWork(engine), year=2026, now=NOW)
    with engine.connect() as conn:
        refused = conn.execute(select(ChoiceRow.person_id, ChoiceRow.chosen_at, ChoiceRow.refusal_code)
                               .where(ChoiceRow.status == "refused")).all()
        valid = conn.scalar(select(text("count(*)")).select_from(ChoiceRow).where(ChoiceRow.status == "valid"))
    assert len(refused) == report.refused_choices == 33
    assert valid == 68
    codes = {code for _, _, code in refused}
    assert codes == {"outside_window", "township_not_member", "village_not_under_township"}


def test_designations_for_the_year_match_the_worked_example(engine: Engine, example_input: Path,
                                                            example_expected: Path) -> None:
    report = load_folder(example_input, SqlAlchemyUnitOfWork(engine), year=2026, now=NOW)
    assert report.designated == 225
    with engine.connect() as conn:
        got = [tuple(r) for r in conn.execute(
            select(DesignationRow.person_id, DesignationRow.year, DesignationRow.consortium_id,
                   DesignationRow.township_id, DesignationRow.village_id, DesignationRow.source)
            .where(DesignationRow.year == 2026).order_by(DesignationRow.person_id))]
    expected = [(r["person_id"], int(r["year"]), r["consortium_id"], r["township_id"], r["village_id"], r["source"])
                for r in read_csv(example_expected / "designations.csv")]
    assert got == sorted(expected)


def test_a_folder_with_problems_loads_nothing(engine: Engine, example_input: Path, tmp_path: Path) -> None:
    folder = tmp_path / "bad"
    shutil.copytree(example_input, folder)
    lines = (folder / "persons.csv").read_text(encoding="utf-8").splitlines()
    lines[5] = lines[5].replace(",F,", ",X,", 1)
    (folder / "persons.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InvalidInput) as info:
        load_folder(folder, SqlAlchemyUnitOfWork(engine), now=NOW)
    assert any(p.file == "persons.csv" and p.row == 6 and p.column == "sex" for p in info.value.problems)
    assert all(rows == [] for rows in snapshot(engine).values())


def test_a_failure_half_way_rolls_everything_back(engine: Engine, db: TestDb,  # noqa: F811
                                                   example_input: Path) -> None:
    # the database itself refuses the designations (last step of the load): nothing before it may remain
    with engine.begin() as conn:
        if db.kind == "sqlite":
            conn.exec_driver_sql("CREATE TRIGGER no_designations BEFORE INSERT ON designations "
                                 "BEGIN SELECT RAISE(ABORT, 'refused by test'); END")
        else:
            conn.exec_driver_sql("CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                                 "RAISE EXCEPTION 'refused by test'; END $$")
            conn.exec_driver_sql("CREATE TRIGGER no_designations BEFORE INSERT ON designations "
                                 "FOR EACH ROW EXECUTE FUNCTION refuse()")
    with pytest.raises(BulkWriteError, match="refused by test"):
        load_folder(example_input, SqlAlchemyUnitOfWork(engine), now=NOW)
    assert all(rows == [] for rows in snapshot(engine).values())


def test_a_refused_row_is_reported_without_its_id_number(engine: Engine, example_input: Path) -> None:
    with engine.begin() as conn:  # a check the input validation does not know: persons born before 1940 refused
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("CREATE TRIGGER no_old BEFORE INSERT ON persons WHEN NEW.birth_date < '1940-01-01' "
                                 "BEGIN SELECT RAISE(ABORT, 'too old'); END")
        else:
            conn.exec_driver_sql("ALTER TABLE persons ADD CONSTRAINT no_old CHECK (birth_date >= '1940-01-01')")
    with pytest.raises(BulkWriteError, match="persons") as info:
        load_folder(example_input, SqlAlchemyUnitOfWork(engine), now=NOW)
    message = str(info.value)
    assert not re.search(r"[0-9]{17}[0-9X]", message), message
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_scrub_masks_id_numbers_only() -> None:
    text = "Failing row contains (R0021, 513433193906240437, M, 1939-06-24, 51343319840726017X, 12345)."
    assert scrub_id_numbers(text) == ("Failing row contains (R0021, 5134**********0437, M, 1939-06-24, "
                                      "5134**********017X, 12345).")


def test_a_changed_folder_updates_rows_and_adds_new_choices(engine: Engine, example_input: Path,
                                                            tmp_path: Path) -> None:
    load_folder(example_input, SqlAlchemyUnitOfWork(engine), now=NOW)
    folder = tmp_path / "next"
    shutil.copytree(example_input, folder)
    persons = (folder / "persons.csv").read_text(encoding="utf-8")
    (folder / "persons.csv").write_text(persons.replace("R0013,513433194811170274,M,1948-11-17,HH004,resident",
                                                        "R0013,513433194811170274,M,1948-11-17,HH004,employee"),
                                        encoding="utf-8")
    with (folder / "choices.csv").open("a", encoding="utf-8") as f:
        f.write("R0013,2026,G1,G1-T1,G1-T1-V1,2025-12-01T10:00:00\n")
        f.write("R0013,2026,G1,G1-T1,G1-T1-V1,2025-12-01T10:00:00\n")  # an identical second row is a second choice
    report = load_folder(folder, SqlAlchemyUnitOfWork(engine), now=NOW)
    assert report.database["choices"] == 103 and report.database["persons"] == 225
    with engine.connect() as conn:
        assert conn.scalar(select(PersonRow.insurance).where(PersonRow.person_id == "R0013")) == "employee"
    assert load_folder(folder, SqlAlchemyUnitOfWork(engine), now=NOW).database["choices"] == 103


def test_household_head_column_is_read_when_present(engine: Engine, example_input: Path, tmp_path: Path) -> None:
    folder = tmp_path / "heads"
    shutil.copytree(example_input, folder)
    lines = (folder / "persons.csv").read_text(encoding="utf-8").splitlines()
    out = [lines[0] + ",household_head"] + [ln + (",是" if ln.startswith("R0006,") else ",") for ln in lines[1:]]
    (folder / "persons.csv").write_text("\n".join(out) + "\n", encoding="utf-8")
    load_folder(folder, SqlAlchemyUnitOfWork(engine), now=NOW)
    with engine.connect() as conn:
        heads = conn.scalars(select(PersonRow.person_id).where(PersonRow.household_head.is_(True))).all()
    assert heads == ["R0006"]


def test_a_bad_household_head_value_is_a_problem(engine: Engine, example_input: Path, tmp_path: Path) -> None:
    folder = tmp_path / "heads"
    shutil.copytree(example_input, folder)
    lines = (folder / "persons.csv").read_text(encoding="utf-8").splitlines()
    out = [lines[0] + ",household_head"] + [ln + (",maybe" if ln.startswith("R0006,") else ",0") for ln in lines[1:]]
    (folder / "persons.csv").write_text("\n".join(out) + "\n", encoding="utf-8")
    with pytest.raises(InvalidInput) as info:
        load_folder(folder, SqlAlchemyUnitOfWork(engine), now=NOW)
    assert [(p.row, p.column) for p in info.value.problems] == [(7, "household_head")]


def _with_lives_away(example_input: Path, folder: Path, away: set[str]) -> Path:
    shutil.copytree(example_input, folder)
    lines = (folder / "persons.csv").read_text(encoding="utf-8").splitlines()
    out = [lines[0] + ",lives_away"] + [ln + (",是" if ln.split(",")[0] in away else ",") for ln in lines[1:]]
    (folder / "persons.csv").write_text("\n".join(out) + "\n", encoding="utf-8")
    return folder


def _designations(engine: Engine, year: int) -> dict[str, tuple[str, str, str, str]]:
    with engine.connect() as conn:
        return {r[0]: tuple(r[1:]) for r in conn.execute(  # type: ignore[misc]
            select(DesignationRow.person_id, DesignationRow.consortium_id, DesignationRow.township_id,
                   DesignationRow.village_id, DesignationRow.source).where(DesignationRow.year == year))}


def test_persons_living_away_get_no_default_designation_as_in_the_batch(engine: Engine, example_input: Path,
                                                                        tmp_path: Path) -> None:
    """常年外出: R0203 chose nothing (nearest by default before), R0134 chose: the first gets no designation and
    counts in no head count, the second keeps their choice; the database agrees with ``yigongti enroll``."""
    from yigongti.core.policy import Policy
    from yigongti.datafolder.folder import read_folder
    from yigongti.enrollment.portal import head_counts
    from yigongti.enrollment.service import enroll_data

    load_folder(example_input, SqlAlchemyUnitOfWork(engine), year=2026, now=NOW)
    before = _designations(engine, 2026)
    assert before["R0203"][3] == "nearest" and before["R0134"][3] == "choice"
    with Session(engine) as s:
        counts_before = head_counts(s, year=2026)
    folder = _with_lives_away(example_input, tmp_path / "away", {"R0203", "R0134"})
    report = load_folder(folder, SqlAlchemyUnitOfWork(engine), year=2026, now=NOW)  # loaded over the first load
    after = _designations(engine, 2026)
    assert "R0203" not in after and after["R0134"] == before["R0134"]
    assert report.designated == 224
    with Session(engine) as s:
        away = s.scalars(select(PersonRow.person_id).where(PersonRow.lives_away.is_(True))
                         .order_by(PersonRow.person_id)).all()
        counts_after = head_counts(s, year=2026)
    assert away == ["R0134", "R0203"]
    g1, town, village = before["R0203"][:3]
    assert {k: counts_before[k] - counts_after.get(k, 0) for k in counts_before if
            counts_before[k] != counts_after.get(k, 0)} == {g1: 1, town: 1, village: 1}
    batch = enroll_data(read_folder(folder), 2026, Policy()).designations.to_pylist()
    assert after == {r["person_id"]: (r["consortium_id"], r["township_id"], r["village_id"], r["source"])
                     for r in batch}


def test_lives_away_goes_back_out_with_the_export(engine: Engine, example_input: Path, tmp_path: Path) -> None:
    from yigongti.enrollment.exporting import export_folder

    load_folder(_with_lives_away(example_input, tmp_path / "away", {"R0007"}), SqlAlchemyUnitOfWork(engine), now=NOW)
    export_folder(SqlAlchemyUnitOfWork(engine), tmp_path / "out")
    rows = {r["person_id"]: r["lives_away"] for r in read_csv(tmp_path / "out" / "persons.csv")}
    assert {p for p, v in rows.items() if v.lower() in ("true", "1")} == {"R0007"}
