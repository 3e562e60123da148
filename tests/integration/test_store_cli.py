"""``yigongti db upgrade|current`` and ``yigongti load`` end to end on real files and databases."""

from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import func, select
from store_fixtures import TestDb, db  # noqa: F401
from typer.testing import CliRunner

from yigongti.cli import app
from yigongti.enrollment.store import ChoiceRow, DesignationRow, PersonRow

runner = CliRunner()


def cli_url(db: TestDb) -> str:  # noqa: F811
    """The URL as a user would type it (a PostgreSQL schema through the connection's options)."""
    if db.schema is None:
        return db.url
    return f"{db.url}?options={quote(f'-csearch_path={db.schema}')}"


def test_upgrade_current_and_load(db: TestDb, example_input: Path) -> None:  # noqa: F811
    url = cli_url(db)
    up = runner.invoke(app, ["db", "upgrade", "--db", url])
    assert up.exit_code == 0, up.output
    cur = runner.invoke(app, ["db", "current", "--db", url])
    assert cur.exit_code == 0 and "up to date" in cur.output
    for _ in range(2):
        res = runner.invoke(app, ["load", "--data", str(example_input), "--db", url, "--year", "2026"])
        assert res.exit_code == 0, res.output
        assert "persons 225" in res.output and "2026: 225 persons designated" in res.output
    engine = db.engine()
    try:
        with engine.connect() as conn:
            assert conn.scalar(select(func.count()).select_from(PersonRow)) == 225
            assert conn.scalar(select(func.count()).select_from(DesignationRow)
                               .where(DesignationRow.year == 2026)) == 225
    finally:
        engine.dispose()


def test_load_of_an_invalid_folder_exits_2_and_names_the_cell(tmp_path: Path, example_input: Path) -> None:
    folder = tmp_path / "bad"
    shutil.copytree(example_input, folder)
    text = (folder / "institutions.csv").read_text(encoding="utf-8")
    (folder / "institutions.csv").write_text(text.replace(",county,2,general,G1,", ",county,7,general,G1,", 1),
                                             encoding="utf-8")
    target = tmp_path / "db.sqlite"
    res = runner.invoke(app, ["load", "--data", str(folder), "--db", str(target)])
    assert res.exit_code == 2
    assert "institutions.csv:2:level" in res.output


def test_choose_records_a_choice_like_the_web(db: TestDb, example_input: Path) -> None:  # noqa: F811
    url = cli_url(db)
    assert runner.invoke(app, ["load", "--data", str(example_input), "--db", url]).exit_code == 0
    base = ["choose", "--db", url, "--year", "2027", "--consortium", "G1", "--township", "G1-T2"]
    ok = runner.invoke(app, [*base, "--person", "R0006", "--village", "G1-T2-V1", "--at", "2026-11-02T10:00"])
    assert ok.exit_code == 0, ok.output
    assert "R0005 2027: G1 / G1-T2 / G1-T2-V1 (choice)" in ok.output
    late = runner.invoke(app, [*base, "--person", "R0006", "--village", "G1-T2-V2", "--at", "2027-01-02"])
    assert late.exit_code == 1 and "outside_window" in late.output
    nested = runner.invoke(app, [*base, "--person", "R0006", "--village", "G1-T1-V1", "--at", "2026-11-03"])
    assert nested.exit_code == 1 and "village_not_under_township" in nested.output
    other = runner.invoke(app, [*base, "--person", "R0004", "--chooser", "R0006", "--village", "G1-T2-V1",
                                "--at", "2026-11-03"])
    assert other.exit_code == 2 and "may not choose for R0004" in other.output
    engine = db.engine()
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(ChoiceRow.person_id, ChoiceRow.status, ChoiceRow.channel)
                                .where(ChoiceRow.year == 2027).order_by(ChoiceRow.choice_id)).all()
    finally:
        engine.dispose()
    assert [tuple(r) for r in rows] == [("R0006", "valid", "cli"), ("R0005", "valid", "cli"),
                                        ("R0006", "refused", "cli"), ("R0006", "refused", "cli")]


def test_db_partitions_lists_and_adds_a_year(db: TestDb) -> None:  # noqa: F811
    url = cli_url(db)
    r = runner.invoke(app, ["db", "partitions", "--db", url])
    if db.kind == "sqlite":
        assert r.exit_code == 2 and "PostgreSQL" in r.output
        return
    assert r.exit_code == 0, r.output
    assert "designations_default" in r.output and "audit_log_default" in r.output
    r = runner.invoke(app, ["db", "partitions", "--year", "2045", "--db", url])
    assert r.exit_code == 0, r.output
    assert "designations_y2045, audit_log_y2045" in r.output
    r = runner.invoke(app, ["db", "partitions", "--year", "2045", "--db", url])
    assert "already there" in r.output
