"""The whole year in one command (enroll -> adjudicate -> appraise -> settle) on the worked example and the demo."""

from __future__ import annotations

import csv
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import yigongti.budget.year as year_module
from yigongti.budget.year import PARKED_TABLES, policy_with_scores, run_year
from yigongti.cli import app
from yigongti.core.engine import Backend, memtable_names
from yigongti.core.policy import Policy
from yigongti.core.problems import InvalidInput
from yigongti.datafolder.crosschecks import CROSS_COLUMNS
from yigongti.datafolder.folder import read_folder
from yigongti.datafolder.schema import INPUT_TABLES


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def test_example_year_matches_expected_outputs(example_input: Path, example_expected: Path, tmp_path: Path) -> None:
    result = run_year(example_input, 2026, tmp_path)
    got = {r["person_id"]: r for r in _rows(tmp_path / "designations.csv")}
    for exp in _rows(example_expected / "designations.csv"):
        assert {k: got[exp["person_id"]][k] for k in exp} == exp
    got_adj = {r["claim_id"]: r for r in _rows(tmp_path / "adjudicated.csv")}
    for exp in _rows(example_expected / "adjudicated.csv"):
        row = got_adj[exp["claim_id"]]
        assert [row[k] for k in ("network_status", "deductible", "fund_paid", "patient_paid", "rule")] == \
            [exp[k] for k in ("network_status", "deductible", "fund_paid", "patient_paid", "rule")]
    got_settle = {r["consortium_id"]: r for r in _rows(tmp_path / "settlement.csv")}
    for exp in _rows(example_expected / "settlement.csv"):
        assert {k: got_settle[exp["consortium_id"]][k] for k in exp} == exp
    assert (tmp_path / "indicators.csv").is_file() and (tmp_path / "scores.csv").is_file()
    assert result.designated == len(got)


def test_scores_from_appraisal_are_overridden_by_the_policy() -> None:
    policy = Policy.model_validate({"settlement": {"scores": {"G1": "50"}}})
    merged = policy_with_scores(policy, {"G1": Decimal(95), "G2": Decimal(70)})
    assert merged.settlement.scores == {"G1": Decimal(50), "G2": Decimal(70)}


def test_appraisal_scores_drive_p4p_without_a_scores_table(example_input: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(example_input, data)
    (data / "scores.csv").unlink()
    run_year(data, 2026, tmp_path / "out", reports=False)
    settle = _rows(tmp_path / "out" / "settlement.csv")
    scores = {r["unit_id"]: r for r in _rows(tmp_path / "out" / "scores.csv")}
    for row in settle:
        assert row["grade"] != "pending"
        assert Decimal(row["score"]) == Decimal(scores[row["consortium_id"]]["score"])


def test_demo_then_run_on_a_small_county(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = CliRunner().invoke(app, ["demo", "--out", str(out), "--persons", "3000", "--seed", "7"])
    assert result.exit_code == 0, result.output
    assert (out / "policy.toml").is_file()
    settle = _rows(out / "results-2026" / "settlement.csv")
    assert len(settle) == 2 and all(r["grade"] != "pending" for r in settle)
    check = CliRunner().invoke(app, ["check", str(out)])
    assert check.exit_code == 0, check.output


def test_a_province_s_parquet_claims_stream_through_run_with_the_same_files(tmp_path: Path) -> None:
    """Parquet claims above ``stream_above`` are never held in memory (checked, adjudicated into adjudicated.csv,
    appraised and settled in the engine): every file written is byte for byte the in-memory path's."""
    data = tmp_path / "demo"
    made = CliRunner().invoke(app, ["demo", "--out", str(data), "--persons", "3000", "--seed", "5", "--counties", "2",
                                    "--format", "parquet", "--no-run"])
    assert made.exit_code == 0, made.output
    assert (data / "claims").is_dir()
    whole = run_year(data, 2026, tmp_path / "memory", stream_above=10**12, fmt="csv")
    streamed = run_year(data, 2026, tmp_path / "streamed", stream_above=0, fmt="csv")
    assert streamed.settlement.streamed and not whole.settlement.streamed
    assert (streamed.designated, streamed.claims) == (whole.designated, whole.claims) and streamed.claims > 0
    files = sorted(p.name for p in (tmp_path / "memory").iterdir())
    assert files == sorted(p.name for p in (tmp_path / "streamed").iterdir())
    assert {"adjudicated.csv", "settlement.csv", "indicators.csv", "appraisal.html", "appraisal.xlsx"} <= set(files)
    for name in files:
        if name == "reports":
            continue
        assert (tmp_path / "streamed" / name).read_bytes() == (tmp_path / "memory" / name).read_bytes(), name


def test_run_checks_a_province_s_claims_before_writing_anything(tmp_path: Path) -> None:
    data = tmp_path / "demo"
    made = CliRunner().invoke(app, ["demo", "--out", str(data), "--persons", "2000", "--seed", "3",
                                    "--format", "parquet", "--no-run"])
    assert made.exit_code == 0, made.output
    part = sorted((data / "claims").glob("*.parquet"))[0]
    _plant(part, "person_id", 0, "nobody")
    with pytest.raises(InvalidInput) as caught:
        run_year(data, 2026, tmp_path / "out", stream_above=0)
    assert any(p.column == "person_id" and part.name in p.message for p in caught.value.problems)
    assert not (tmp_path / "out").exists()


def _plant(file: Path, column: str, row: int, value: str) -> None:
    """Write ``value`` into one cell of a Parquet file (a text column)."""
    table = pq.read_table(file)
    values = table.column(column).to_pylist()
    values[row] = value
    pq.write_table(table.set_column(table.column_names.index(column), column, pa.array(values)), file)


def _province(tmp_path: Path, persons: int = 3000) -> Path:
    data = tmp_path / "demo"
    made = CliRunner().invoke(app, ["demo", "--out", str(data), "--persons", str(persons), "--seed", "5",
                                    "--counties", "2", "--format", "parquet", "--no-run"])
    assert made.exit_code == 0, made.output
    return data


def test_a_streamed_run_holds_neither_the_appraisal_tables_nor_the_choices_while_it_adjudicates(
        tmp_path: Path) -> None:
    """The tables only the appraisal reads are parked on disk after the check, and what only enrollment read is let
    go once the designations are made: the Arrow memory held when the adjudication starts is below the folder's
    tables (but the claims) as read, by at least the follow-ups and the choices."""
    data = _province(tmp_path)
    tables = [t for t in INPUT_TABLES if t != "claims"]
    folder = read_folder(data, tables=tables)
    read = sum(t.nbytes for t in folder.tables.values())
    released = folder["followups"].nbytes + folder["choices"].nbytes
    assert released > read // 4  # the demo's follow-ups and choices are a good part of what is read
    del folder
    held: dict[str, int] = {}
    base = pa.total_allocated_bytes()
    run_year(data, 2026, tmp_path / "out", stream_above=0,
             step=lambda name: held.setdefault(name, pa.total_allocated_bytes() - base))
    assert list(held) == ["check", "enroll", "adjudicate", "appraise", "settle"]
    assert held["adjudicate"] < read - released, (held, read, released)
    assert (tmp_path / "out" / "indicators.csv").is_file()


def test_a_streamed_run_reports_the_problems_of_every_table_as_check_does(tmp_path: Path) -> None:
    """A parked table is checked at the check step all the same: its problems and the other tables' come together,
    those ``read_folder`` raises, before anything is written."""
    data = _province(tmp_path, persons=2000)
    _plant(data / "followups.parquet", "date", 3, "2026-02-30")
    _plant(sorted((data / "persons").glob("*.parquet"))[0], "sex", 1, "?")
    with pytest.raises(InvalidInput) as expected:
        read_folder(data, tables=[t for t in INPUT_TABLES if t != "claims"])
    with pytest.raises(InvalidInput) as caught:
        run_year(data, 2026, tmp_path / "out", stream_above=0)
    assert caught.value.problems == expected.value.problems
    assert {p.file.split("/")[0] for p in caught.value.problems} >= {"followups.parquet", "persons"}
    # a parked table is checked on its own: that is the same check only while no check across tables reads it
    assert not set(CROSS_COLUMNS) & set(PARKED_TABLES)
    assert not (tmp_path / "out").exists()


def test_a_streamed_run_appraises_without_reading_the_tables_of_persons_back(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The parked tables of persons (follow-ups, contracts, ...) are read by the appraisal's engine from their files:
    the Arrow memory held when the appraisal starts is above that of the adjudication by the other parked tables
    (surveys, ...: read back) and less than half the follow-ups (it was by all of them, read back). The outputs are
    those of the in-memory path (tests above)."""
    data = _province(tmp_path)
    parked = read_folder(data, tables=list(PARKED_TABLES)).tables
    followups = parked["followups"].nbytes
    others = sum(t.nbytes for name, t in parked.items()
                 if name not in ("followups", "contracts", "deaths", "referrals"))
    del parked
    held: dict[str, int] = {}
    base = pa.total_allocated_bytes()
    appraise = year_module.appraise_data

    def appraise_data(*args: object, **kwargs: object) -> object:  # the real one, with what is held when it starts
        held["appraise_data"] = pa.total_allocated_bytes() - base
        return appraise(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(year_module, "appraise_data", appraise_data)
    run_year(data, 2026, tmp_path / "out", stream_above=0,
             step=lambda name: held.setdefault(name, pa.total_allocated_bytes() - base))
    assert held["appraise_data"] < held["adjudicate"] + others + followups // 2, (held, others, followups)
    assert (tmp_path / "out" / "indicators.csv").is_file()


def test_a_streamed_run_reports_unknown_ids_of_a_parked_table_as_the_in_memory_run_does(tmp_path: Path) -> None:
    """An id of a table the engine reads from its parked file that names no person or institution: the same problems
    (file, row, column, message) as the in-memory path's, and nothing of the appraisal written."""
    data = _province(tmp_path, persons=2000)
    _plant(data / "followups.parquet", "person_id", 4, "nobody")
    _plant(data / "contracts.parquet", "inst_id", 0, "nowhere")
    with pytest.raises(InvalidInput) as expected:
        run_year(data, 2026, tmp_path / "in-memory", stream_above=10**9)
    with pytest.raises(InvalidInput) as caught:
        run_year(data, 2026, tmp_path / "streamed", stream_above=0)
    assert caught.value.problems == expected.value.problems
    assert sorted((p.file, p.row, p.column) for p in caught.value.problems) == [
        ("contracts.csv", 2, "inst_id"), ("followups.csv", 6, "person_id")]
    assert all("nobody" in p.message or "nowhere" in p.message for p in caught.value.problems)
    assert not (tmp_path / "streamed" / "indicators.csv").exists()


def test_a_streamed_run_s_connection_lets_go_of_each_step_s_in_memory_tables(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The run's one DuckDB connection lives from the check to the settlement: the in-memory tables the
    adjudication and the appraisal register on it (persons, designations, scope maps, for this year and last) are let
    go at the end of each step (they were held until the connection closed: 43 tables, 280 MB of Arrow at 1 M
    persons when the settlement started); and the connection hands DuckDB's freed pages back as it goes. Same files
    (tests above)."""
    data = _province(tmp_path)
    cons: list[Backend] = []
    connect = year_module.connect

    def keep(*args: Any, **kwargs: Any) -> Backend:
        con = connect(*args, **kwargs)
        cons.append(con)
        return con

    monkeypatch.setattr(year_module, "connect", keep)
    registered: dict[str, set[str]] = {}

    purges: list[bool] = []

    def purging(con: Backend) -> bool:
        return bool(con.con.execute("SELECT current_setting('allocator_background_threads')").fetchall()[0][0])

    def step(name: str) -> None:
        registered[name] = memtable_names(cons[0]) if cons else set()
        purges.extend(purging(con) for con in cons)

    run_year(data, 2026, tmp_path / "out", stream_above=0, step=step)
    assert registered["settle"] <= registered["adjudicate"], registered
    # the freed memory of DuckDB's queries is handed back as the run goes (jemalloc's background threads; DuckDB's
    # default keeps it: 0.7 GB after a group-by of 10 M rows, measured), from the run's check on
    assert len(cons) == 1 and purges == [True] * 4, purges
    other = connect("duckdb")
    try:
        assert not purging(other)  # the run's own setting, not every connection's
    finally:
        other.disconnect()
    assert (tmp_path / "out" / "indicators.csv").is_file()


def test_a_streamed_run_s_claims_check_leaves_nothing_on_the_run_s_connection(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The check of a province's claims runs on a DuckDB connection of its own, under the check's memory limit
    (``YIGONGTI_CHECK_MEMORY``, as ``yigongti check``'s key store), closed when it is over: the run's connection, which
    lives to the settlement under the steps' limit, holds nothing of it (the persons' ids the check copied stayed
    there to the end: 10 M ids at 10 M persons), and what the check's queries used is let go before the enrollment
    (1.0 GB resident after the check at 1 M persons, 0.0 with it)."""
    import yigongti.benefits.service as benefits_module

    data = _province(tmp_path)
    mine: list[tuple[Backend, dict[str, Any]]] = []
    cons: list[Backend] = []
    connect = benefits_module.connect
    run_connect = year_module.connect

    def keep(*args: Any, **kwargs: Any) -> Backend:
        con = connect(*args, **kwargs)
        mine.append((con, kwargs))
        return con

    def keep_run(*args: Any, **kwargs: Any) -> Backend:
        con = run_connect(*args, **kwargs)
        cons.append(con)
        return con

    monkeypatch.setattr(benefits_module, "connect", keep)
    monkeypatch.setattr(year_module, "connect", keep_run)
    monkeypatch.setenv("YIGONGTI_CHECK_MEMORY", "300MB")
    tables: dict[str, list[str]] = {}
    limits: dict[str, str] = {}

    def step(name: str) -> None:
        if cons:
            tables[name] = sorted(str(r[0]) for r in cons[0].con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE NOT internal").fetchall())
            limits[name] = str(cons[0].con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0])

    run_year(data, 2026, tmp_path / "out", stream_above=0, step=step)
    assert tables["enroll"] == [], tables  # chk_persons and chk_institutions were there, to the settlement
    assert len(mine) == 1 and mine[0][1]["memory_limit"] == "300MB"
    with pytest.raises(Exception, match="(?i)closed"):
        mine[0][0].con.execute("SELECT 1")
    assert len(set(limits.values())) == 1 and "GiB" in limits["enroll"]  # the run's own limit (4GB), not the check's
    assert (tmp_path / "out" / "indicators.csv").is_file()


def test_a_streamed_run_allocates_arrow_memory_from_the_c_library_and_puts_the_pool_back(tmp_path: Path) -> None:
    """Arrow's default pool (mimalloc) keeps the pages its reader threads allocated once they are freed: 150-330 MB
    more resident in each step of a run at 1 M persons than with the C library's heap, which ``release_memory``
    hands back between steps (measured, benchmarks/RESULTS.md). Every step of a streamed run allocates from the
    system pool; the process's pool is put back after it, also when the run fails."""
    data = _province(tmp_path)
    before = pa.default_memory_pool().backend_name
    pools: dict[str, str] = {}
    run_year(data, 2026, tmp_path / "out", stream_above=0,
             step=lambda name: pools.__setitem__(name, pa.default_memory_pool().backend_name))
    assert pools == {name: "system" for name in year_module.STEPS}, pools
    assert pa.default_memory_pool().backend_name == before

    def fails(name: str) -> None:
        if name == "adjudicate":
            raise RuntimeError("stopped")

    with pytest.raises(RuntimeError, match="stopped"):
        run_year(data, 2026, tmp_path / "out2", stream_above=0, step=fails)
    assert pa.default_memory_pool().backend_name == before


def test_a_streamed_run_s_measures_read_this_year_s_claims_from_the_adjudication_s_spill(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """This year's measures read the year's claims from the spill (it carries the claims' columns), not the claims
    joined with it by claim_id; last year's (not in the spill) read the claims. The files are the in-memory path's
    (test above)."""
    import yigongti.appraisal.service as appraisal_service
    from yigongti.appraisal.engine import ADJUDICATED_CLAIM_COLUMNS, MeasureInputs

    data = _province(tmp_path)
    passes: dict[int, tuple[bool, bool]] = {}
    measures = appraisal_service.compute_measures

    def compute_measures(inputs: MeasureInputs, **kwargs: Any) -> Any:  # the real one, with what it was given
        adj = inputs.adjudicated
        passes[kwargs["year"]] = (inputs.adjudicated_claims,
                                  adj is not None and set(ADJUDICATED_CLAIM_COLUMNS) <= set(adj.columns))
        return measures(inputs, **kwargs)

    monkeypatch.setattr(appraisal_service, "compute_measures", compute_measures)
    run_year(data, 2026, tmp_path / "out", stream_above=0)
    assert passes[2026] == (True, True)
    assert passes.get(2025, (False, False))[0] is False
