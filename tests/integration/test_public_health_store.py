"""Report cards in the database agree with the batch: the same claims imported (``yigongti public-health --db``)
give the cards ``infectious_reports.csv`` has, on SQLite and PostgreSQL; importing again changes nothing."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from store_fixtures import TestDb, db  # noqa: F401
from typer.testing import CliRunner

from yigongti.cli import app
from yigongti.core.policy import Policy
from yigongti.datafolder.folder import read_folder
from yigongti.enrollment.loading import load_data
from yigongti.enrollment.uow import SqlAlchemyUnitOfWork
from yigongti.public_health.store import CardRow, DiagnosisRow

HAND = Path(__file__).resolve().parents[1] / "data" / "public-health"
NOW = datetime(2026, 12, 1, 9, 0)


@pytest.fixture
def engine(db: TestDb, example_input: Path) -> Iterator[Engine]:  # noqa: F811
    eng = db.engine()
    load_data(read_folder(example_input), SqlAlchemyUnitOfWork(eng), policy=Policy(), now=NOW)
    yield eng
    eng.dispose()


def test_imported_claims_make_the_batch_cards(engine: Engine, db: TestDb, example_input: Path,  # noqa: F811
                                              tmp_path: Path) -> None:
    persons = sorted(r["person_id"] for r in read_folder(example_input, tables=["persons"])["persons"].to_pylist())
    inst = {"T1": "G1-T1", "H1": "G1-H", "V1": "G2-T3"}
    who = {f"P{i}": persons[i] for i in range(1, 9)}
    folder = tmp_path / "data"
    folder.mkdir()
    text = (HAND / "claims.csv").read_text(encoding="utf-8")
    for old, new in [*who.items(), *inst.items()]:
        text = text.replace(f",{old},", f",{new},")
    text += "K99,NOBODY,G1-T1,outpatient,false,2026-08-01,,20.00,20.00,A00.9,,false\n"
    (folder / "claims.csv").write_text(text, encoding="utf-8")
    target = db.url if db.schema is None else f"{db.url}?options=-csearch_path%3D{db.schema}"
    args = ["public-health", "--data", str(folder), "--year", "2026", "--out", str(tmp_path / "out"), "--db", target]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    said = " ".join(res.output.split())  # the console wraps lines
    assert "10 notifiable claims" in said and "7 cards opened" in said and "2 joined" in said
    assert "1 of unknown persons" in said  # NOBODY is not in the database: counted, not imported
    with (tmp_path / "out" / "infectious_reports.csv").open(encoding="utf-8") as f:
        batch = sorted((r["person_id"], r["inst_id"], r["disease_code"], r["disease_class"], r["diagnosed_at"],
                        r["deadline"]) for r in csv.DictReader(f) if r["person_id"] != "NOBODY")
    with engine.connect() as conn:
        cards = conn.execute(select(CardRow)).all()
        stored = sorted((c.person_id, c.inst_id, c.disease_code, c.disease_class,
                         c.diagnosed_at.isoformat(timespec="seconds"), c.deadline.isoformat(timespec="seconds"))
                        for c in cards)
        assert stored == batch and len(stored) == 7
        assert sum(c.diagnoses for c in cards) == 9  # K02 and K05 joined
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 0 and "9 already imported" in " ".join(again.output.split())
    with engine.connect() as conn:
        assert len(conn.execute(select(DiagnosisRow)).all()) == 9


def test_diagnoses_of_one_person_at_once_join_one_card(engine: Engine, example_input: Path) -> None:
    import threading

    from yigongti.core.policy import PublicHealthPolicy
    from yigongti.platform.accounts import Principal, Role
    from yigongti.public_health.service import catalogue_for, record_diagnosis
    from yigongti.public_health.uow import PublicHealthUnitOfWork

    person = sorted(r["person_id"] for r in read_folder(example_input, tables=["persons"])["persons"].to_pylist())[0]
    doctor = Principal(user_id=1, username="doc", role=Role.CLINICIAN, inst_id="G1-T1")
    policy = PublicHealthPolicy()
    cat = catalogue_for(policy)
    barrier = threading.Barrier(6)
    errors: list[BaseException] = []

    def job(n: int) -> None:
        barrier.wait()
        try:
            record_diagnosis(PublicHealthUnitOfWork(engine), doctor, person_id=person, inst_id="G1-T1",
                             icd10="A00.9", at=datetime(2026, 11, 1, 8, n), catalogue=cat, policy=policy, now=NOW)
        except BaseException as exc:  # noqa: BLE001 - returned to the test
            errors.append(exc)

    threads = [threading.Thread(target=job, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    with engine.connect() as conn:
        cards = conn.execute(select(CardRow).where(CardRow.person_id == person)).all()
    assert len(cards) == 1 and cards[0].diagnoses == 6
    # whatever order they came in, the card's first diagnosis is the earliest, and its deadline runs from there
    assert (cards[0].diagnosed_at, cards[0].deadline) == (datetime(2026, 11, 1, 8, 0), datetime(2026, 11, 1, 10, 0))


def _hand_claims(example_input: Path, tmp_path: Path, name: str) -> Path:
    """The hand-made claims with the example county's persons and institutions (P1.. and T1, H1, V1 replaced)."""
    persons = sorted(r["person_id"] for r in read_folder(example_input, tables=["persons"])["persons"].to_pylist())
    inst = {"T1": "G1-T1", "H1": "G1-H", "V1": "G2-T3"}
    who = {f"P{i}": persons[i] for i in range(1, 9)}
    folder = tmp_path / "data"
    folder.mkdir()
    text = (HAND / name).read_text(encoding="utf-8")
    for old, new in [*who.items(), *inst.items()]:
        text = text.replace(f",{old},", f",{new},")
    (folder / "claims.csv").write_text(text, encoding="utf-8")
    return folder


def test_imported_food_borne_claims_make_the_batch_reports_once(engine: Engine, db: TestDb,  # noqa: F811
                                                                example_input: Path, tmp_path: Path) -> None:
    """``--db``: the claims on the food-borne list open the reports the batch writes (same person, institution,
    case, diagnosis time, deadline), the joined ones are kept by claim id, and importing again creates nothing."""
    from yigongti.public_health.store import FoodborneCardRow, FoodborneClaimRow

    folder = _hand_claims(example_input, tmp_path, "foodborne-claims.csv")
    with (folder / "claims.csv").open("a", encoding="utf-8") as f:
        f.write("F99,NOBODY,G1-T1,outpatient,false,2026-08-01,,20.00,20.00,A05.9,,false\n")
    target = db.url if db.schema is None else f"{db.url}?options=-csearch_path%3D{db.schema}"
    args = ["public-health", "--data", str(folder), "--year", "2026", "--out", str(tmp_path / "out"), "--db", target]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    said = " ".join(res.output.split())
    assert "8 food-borne claims" in said and "5 reports opened" in said and "2 joined" in said, said
    with (tmp_path / "out" / "foodborne_reports.csv").open(encoding="utf-8") as f:
        batch = sorted((r["person_id"], r["inst_id"], r["case_code"], r["diagnosed_at"], r["deadline"])
                       for r in csv.DictReader(f) if r["person_id"] != "NOBODY")
    with engine.connect() as conn:
        reports = conn.execute(select(FoodborneCardRow)).all()
        stored = sorted((c.person_id, c.inst_id, c.case_code, c.diagnosed_at.isoformat(timespec="seconds"),
                         c.deadline.isoformat(timespec="seconds")) for c in reports)
        assert stored == batch and len(stored) == 5
        assert {c.status for c in reports} == {"pending"} and {c.created_by for c in reports} == {"system:claims"}
        claims = conn.execute(select(FoodborneClaimRow.source_id, FoodborneClaimRow.card_id)).all()
        first = {s: c for s, c in claims}
        assert len(claims) == 7 and first["F01"] == first["F02"] == first["F03"] != first["F04"]
    again = CliRunner().invoke(app, args)
    said = " ".join(again.output.split())
    assert again.exit_code == 0 and "0 reports opened" in said and "7 already imported" in said, said
    with engine.connect() as conn:
        assert len(conn.execute(select(FoodborneCardRow)).all()) == 5
        assert len(conn.execute(select(FoodborneClaimRow)).all()) == 7


def test_an_earlier_food_borne_claim_imported_later_becomes_the_first(engine: Engine, example_input: Path) -> None:
    """Claims imported out of time order: an earlier claim within the window joins the report and becomes its first
    diagnosis (institution and deadline), as for the infectious cards; a later import beyond the window opens one."""
    from yigongti.core.policy import PublicHealthPolicy
    from yigongti.public_health.service import foodborne_cases, import_foodborne_claims
    from yigongti.public_health.store import FoodborneCardRow
    from yigongti.public_health.uow import PublicHealthUnitOfWork

    person = sorted(r["person_id"] for r in read_folder(example_input, tables=["persons"])["persons"].to_pylist())[0]
    policy, cases = PublicHealthPolicy(), foodborne_cases()

    def claim(cid: str, inst: str, day: str) -> dict[str, object]:
        return {"claim_id": cid, "person_id": person, "inst_id": inst, "admit_date": day, "diagnosis": "A08.1"}

    done = import_foodborne_claims(PublicHealthUnitOfWork(engine), [claim("L2", "G1-T1", "2026-09-20")],
                                   cases=cases, policy=policy, now=NOW)
    assert (done.opened, done.joined) == (1, 0)
    done = import_foodborne_claims(PublicHealthUnitOfWork(engine), [claim("L1", "G1-H", "2026-09-01"),
                                                                     claim("L3", "G1-T1", "2026-11-30")],
                                   cases=cases, policy=policy, now=NOW)
    assert (done.opened, done.joined, done.skipped) == (1, 1, 0)
    with engine.connect() as conn:
        reports = conn.execute(select(FoodborneCardRow).where(FoodborneCardRow.person_id == person)
                               .order_by(FoodborneCardRow.diagnosed_at)).all()
    assert [(r.inst_id, r.diagnosed_at, r.deadline) for r in reports] == [
        ("G1-H", datetime(2026, 9, 1), datetime(2026, 9, 3)),
        ("G1-T1", datetime(2026, 11, 30), datetime(2026, 12, 2))]
