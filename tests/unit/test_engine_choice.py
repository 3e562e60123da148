"""``--engine`` and ``--spark-master``: which Spark master a command uses, and a wrong engine is exit 2."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from yigongti.cli import app
from yigongti.core.engine import SPARK_MASTER_ENV, set_spark_master, spark_master


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
