"""``--engine`` and ``--spark-master``: which Spark master a command uses, and a wrong engine is exit 2."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from yigongti.cli import app
from yigongti.core.engine import (
    DUCKDB_THREADS_ENV,
    SPARK_MASTER_ENV,
    connect,
    duckdb_threads,
    duckdb_threads_here,
    set_duckdb_threads,
    set_spark_master,
    spark_master,
)
from yigongti.simulator.service import process_threads


@pytest.fixture(autouse=True)
def _no_master(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv(SPARK_MASTER_ENV, raising=False)
    set_spark_master(None)
    yield
    set_spark_master(None)


def test_the_master_is_the_option_then_the_environment_then_every_local_core(
        monkeypatch: pytest.MonkeyPatch) -> None:
    assert spark_master() == "local[*]"
    monkeypatch.setenv(SPARK_MASTER_ENV, "spark://10.0.0.1:7077")
    assert spark_master() == "spark://10.0.0.1:7077"
    set_spark_master("spark://127.0.0.1:7078")
    assert spark_master() == "spark://127.0.0.1:7078"
    set_spark_master(None)
    assert spark_master() == "spark://10.0.0.1:7077"


@pytest.mark.parametrize("command", ["enroll", "adjudicate", "appraise", "settle", "run"])
def test_an_unknown_engine_is_refused_before_anything_runs(command: str, example_input: Path,
                                                           tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(app, [command, "--data", str(example_input), "--year", "2026", "--out", str(out),
                                      "--engine", "postgres", "--spark-master", "spark://127.0.0.1:1"])
    assert result.exit_code == 2, result.output
    assert "duckdb or spark" in result.output
    assert not out.exists()
    assert spark_master() == "local[*]"  # a refused command sets no master


def test_adjudicate_keeps_backend_as_the_engines_other_name(example_input: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["adjudicate", "--data", str(example_input), "--year", "2026", "--out",
                                      str(tmp_path), "--backend", "nosuch"])
    assert result.exit_code == 2 and "duckdb or spark" in result.output


def _threads_of_a_connection() -> int:
    con = connect("duckdb")
    try:
        return int(con.raw_sql("SELECT current_setting('threads')").fetchall()[0][0])
    finally:
        con.disconnect()


def test_duckdb_threads_are_the_setting_then_the_environment_then_every_core(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DUCKDB_THREADS_ENV, raising=False)
    set_duckdb_threads(None)
    try:
        assert duckdb_threads() is None
        monkeypatch.setenv(DUCKDB_THREADS_ENV, "3")
        assert duckdb_threads() == 3 and _threads_of_a_connection() == 3
        monkeypatch.setenv(DUCKDB_THREADS_ENV, "many")  # not a positive integer: DuckDB's default
        assert duckdb_threads() is None
        set_duckdb_threads(1)
        assert duckdb_threads() == 1 and _threads_of_a_connection() == 1
        with pytest.raises(ValueError, match="at least 1"):
            set_duckdb_threads(0)
        # the simulator's processes share the cores out, unless the environment says
        monkeypatch.delenv(DUCKDB_THREADS_ENV)
        set_duckdb_threads(None)
        assert [process_threads(n, cores=2) for n in (1, 2, 3)] == [2, 1, 1]
        assert process_threads(2, cores=8) == 4
        monkeypatch.setenv(DUCKDB_THREADS_ENV, "2")
        assert process_threads(2, cores=2) == 2
    finally:
        set_duckdb_threads(None)


def test_threads_here_hold_in_their_block_and_thread_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """A page's simulation run (``simulator.runs``) makes its connections with ``duckdb_threads_here``: one
    thread in that block, whatever the process's setting; another thread, and the same thread after the block, keep
    the process's."""
    import threading

    from yigongti.simulator import runs

    monkeypatch.setenv(DUCKDB_THREADS_ENV, "2")
    seen: dict[str, int | None] = {}

    def other() -> None:
        seen["other"] = _threads_of_a_connection()

    with duckdb_threads_here(runs.RUN_THREADS):
        seen["here"] = _threads_of_a_connection()
        t = threading.Thread(target=other)
        t.start()
        t.join()
    seen["after"] = _threads_of_a_connection()
    assert seen == {"here": 1, "other": 2, "after": 2}
    with pytest.raises(ValueError, match="at least 1"), duckdb_threads_here(0):
        pass
