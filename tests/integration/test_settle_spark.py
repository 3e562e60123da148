"""The settlement on Spark local mode is identical to DuckDB's, figure for figure."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from test_settle_example import example_folder

from yigongti.budget.service import settle_data
from yigongti.core.engine import Backend, connect
from yigongti.datafolder.folder import read_folder

pytestmark = pytest.mark.spark


@pytest.fixture(scope="session")
def spark() -> Iterator[Backend]:
    pytest.importorskip("pyspark")
    yield connect("spark")


def test_spark_settles_exactly_like_duckdb(spark: Backend, example_input: Path, example_expected: Path,
                                           tmp_path: Path) -> None:
    data = read_folder(example_folder(example_input, example_expected, tmp_path / "county"))
    on_duckdb = settle_data(data, 2026)
    on_spark = settle_data(data, 2026, con=spark)
    for name in ("settlement", "allocation", "ledger", "by_month", "by_tier", "top_diagnoses"):
        assert getattr(on_spark, name).to_pylist() == getattr(on_duckdb, name).to_pylist(), name
    assert on_spark.inputs_hash == on_duckdb.inputs_hash
