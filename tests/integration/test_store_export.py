"""Exporting the database to a data folder: online choices reach the batch commands; a round trip keeps every row."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pyarrow.compute as pc
from store_fixtures import TestDb, db  # noqa: F401
from typer.testing import CliRunner

from yigongti.cli import app
from yigongti.core.policy import Policy
from yigongti.datafolder.folder import read_folder
from yigongti.enrollment.choices import SubmitChoice, submit_choice
from yigongti.enrollment.exporting import export_folder
from yigongti.enrollment.loading import load_folder
from yigongti.enrollment.service import enroll_data
from yigongti.enrollment.uow import SqlAlchemyUnitOfWork

NOW = datetime(2025, 12, 1, 9, 0)


def test_online_choices_reach_the_batch_enrollment(db: TestDb, example_input: Path,  # noqa: F811
                                                   tmp_path: Path) -> None:
    uow = SqlAlchemyUnitOfWork(db.url, schema=db.schema)
    load_folder(example_input, uow, now=NOW)
    # R0006 chooses for themself and the child R0005; R0013 chooses twice, the later wins; R0022 is refused
    submit_choice(SubmitChoice("R0006", 2026, "G2", "G2-T3", "G2-T3-V1", NOW), uow, now=NOW)
    submit_choice(SubmitChoice("R0013", 2026, "G1", "G1-T1", "G1-T1-V1", NOW), uow, now=NOW)
    submit_choice(SubmitChoice("R0013", 2026, "G1", "G1-T2", "G1-T2-V2", NOW.replace(hour=10)), uow, now=NOW)
    refused = submit_choice(SubmitChoice("R0022", 2026, "G1", "G1-T1", "G1-T2-V1", NOW), uow, now=NOW)
    assert not refused.accepted

    rows = export_folder(SqlAlchemyUnitOfWork(db.url, schema=db.schema, read_only=True), tmp_path / "out")
    assert rows["choices"] == 101 + 5 and rows["persons"] == 225
    data = read_folder(tmp_path / "out")  # the export is a valid data folder
    result = enroll_data(data, 2026, Policy())
    des = {r["person_id"]: r for r in result.designations.to_pylist()}
    with uow:
        for pid in ("R0005", "R0006", "R0013"):
            online = uow.designations.get(pid, 2026)
            assert online is not None
            batch = des[pid]
            assert (batch["consortium_id"], batch["township_id"], batch["village_id"], batch["source"]) == (
                online.consortium_id, online.township_id, online.village_id, "choice"), pid
    assert des["R0013"]["village_id"] == "G1-T2-V2"
    assert "R0022" in pc.unique(result.refused.column("person_id")).to_pylist()
    uow.dispose()


def test_export_then_load_into_an_empty_database_keeps_every_row(db: TestDb, example_input: Path,  # noqa: F811
                                                                  tmp_path: Path) -> None:
    uow = SqlAlchemyUnitOfWork(db.url, schema=db.schema)
    first = load_folder(example_input, uow, year=2026, now=NOW)
    export_folder(uow, tmp_path / "a")
    other = f"sqlite:///{tmp_path / 'other.sqlite'}"
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade", "--db", other]).exit_code == 0
    res = runner.invoke(app, ["load", "--data", str(tmp_path / "a"), "--db", other])
    assert res.exit_code == 0, res.output
    again = load_folder(tmp_path / "a", SqlAlchemyUnitOfWork(other), now=NOW)
    assert again.database == first.database
    res = runner.invoke(app, ["db", "export", "--db", other, "--out", str(tmp_path / "b"), "--without-id-numbers"])
    assert res.exit_code == 0, res.output
    for name in ("institutions", "consortia", "choices", "designations"):
        assert (tmp_path / "a" / f"{name}.csv").read_bytes() == (tmp_path / "b" / f"{name}.csv").read_bytes(), name
    persons_b = read_folder(tmp_path / "b", tables=["persons"])["persons"]
    assert persons_b.column("id_number").null_count == 225
    uow.dispose()
