"""Batch enrollment on Spark local mode gives exactly DuckDB's tables (designations, refusals, messages)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from yigongti.core.engine import Backend, connect
from yigongti.core.policy import Policy
from yigongti.datafolder.folder import read_folder
from yigongti.enrollment.engine import enroll_tables

pytestmark = pytest.mark.spark


@pytest.fixture(scope="session")
def spark() -> Iterator[Backend]:
    pytest.importorskip("pyspark")
    yield connect("spark")  # getOrCreate: the one session of the test run


def test_spark_enrolls_exactly_like_duckdb(spark: Backend, example_input: Path) -> None:
    data = read_folder(example_input, tables=["institutions", "consortia", "persons", "choices", "designations"])
    args = {"persons": data["persons"], "institutions": data["institutions"], "consortia": data["consortia"],
            "choices": data.get("choices"), "designations": data.get("designations"), "year": 2026,
            "window": Policy().enrollment.window(2026)}
    on_spark = enroll_tables(spark, **args)  # type: ignore[arg-type]
    duck = connect("duckdb")
    on_duckdb = enroll_tables(duck, **args)  # type: ignore[arg-type]
    duck.disconnect()
    for name in ("designations", "refused", "unassigned", "stale_carried"):
        assert getattr(on_spark, name).to_pylist() == getattr(on_duckdb, name).to_pylist(), name
    assert on_spark.designations.num_rows == 225 and on_spark.refused.num_rows == 33
