"""The measures run unchanged on Spark (local mode) and equal DuckDB's on the hand-built county."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from yigongti.appraisal.engine import MeasureInputs, MeasureResult, compute_measures
from yigongti.appraisal.indicator_sets import load_indicator_set
from yigongti.budget.service import load_adjudicated
from yigongti.core.engine import Backend, connect
from yigongti.datafolder.folder import read_folder
from yigongti.datafolder.schema import APPRAISAL_TABLES

HERE = Path(__file__).parent / "appraisal_county"


@pytest.fixture(scope="module")
def spark() -> Iterator[Backend]:
    pytest.importorskip("pyspark")
    con = connect("spark")
    yield con


def _run(con: Backend | None) -> MeasureResult:
    data = read_folder(HERE)
    iset = load_indicator_set()
    extra = {t.name: data[t.name] for t in APPRAISAL_TABLES if data.get(t.name) is not None}
    inputs = MeasureInputs(data["institutions"], data["consortia"], data["persons"], data["designations"],
                           data["claims"], load_adjudicated(HERE, data["claims"]), extra)
    return compute_measures(inputs, year=2026, params=iset.parameters, wanted=iset.needed_measures(), con=con)


@pytest.mark.spark
def test_spark_measures_equal_duckdb(spark: Backend) -> None:
    on_duckdb, on_spark = _run(None), _run(spark)
    assert on_spark.available == on_duckdb.available
    assert on_spark.as_dict() == on_duckdb.as_dict()
    assert on_duckdb.as_dict()[("consortium", "A")]["fund_res"] == 1_086_000
