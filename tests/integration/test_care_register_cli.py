"""``yigongti care register``: chronic patients registered in the database from the folder's claims (I10-I15,
E10-E14), the earliest claim kept, on SQLite and PostgreSQL; a second run changes nothing."""

from __future__ import annotations

import csv
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import text
from store_fixtures import TestDb, db  # noqa: F401
from typer.testing import CliRunner

from yigongti.care.domain import disease_of_icd
from yigongti.cli import app
from yigongti.core.policy import CarePolicy


def _expected(example_input: Path) -> dict[tuple[str, str], tuple[str, str]]:
    persons = {r["person_id"] for r in csv.DictReader((example_input / "persons.csv").open(encoding="utf-8"))}
    out: dict[tuple[str, str], tuple[str, str]] = {}
    for r in csv.DictReader((example_input / "claims.csv").open(encoding="utf-8")):
        dis = disease_of_icd(r["diagnosis"], CarePolicy()) if r["diagnosis"] else None
        if dis is None or r["person_id"] not in persons:
            continue
        key = (r["person_id"], dis.value)
        if key not in out or (r["admit_date"], r["inst_id"]) < out[key]:
            out[key] = (r["admit_date"], r["inst_id"])
    return out


def test_register_from_the_claims(db: TestDb, example_input: Path) -> None:  # noqa: F811
    url = db.url if db.schema is None else f"{db.url}?options={quote(f'-csearch_path={db.schema}')}"
    runner = CliRunner()
    assert runner.invoke(app, ["load", "--data", str(example_input), "--db", url]).exit_code == 0
    first = runner.invoke(app, ["care", "register", "--data", str(example_input), "--db", url])
    assert first.exit_code == 0, first.output
    expected = _expected(example_input)
    assert f"{len(expected)} 新登记" in first.output
    again = runner.invoke(app, ["care", "register", "--data", str(example_input), "--db", url])
    assert again.exit_code == 0 and "0 新登记" in again.output
    engine = db.engine()
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT person_id, disease, registered_on, inst_id, source FROM care_registry"))
            got = {(p, d): (str(on), i) for p, d, on, i, s in rows if s == "claim"}
    finally:
        engine.dispose()
    assert got == expected
