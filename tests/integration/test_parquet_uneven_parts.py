"""Parquet claims whose parts do not all hold the same columns (an optional column missing from the first part):
DuckDB reads every part's columns by name, as ``check`` does, so a column the first part lacks is neither dropped
from the money nor left unchecked in the others (``core.engine.read_parquet``)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from parquet_parts import claims_in_parquet_parts

from yigongti.budget.year import run_year
from yigongti.core.problems import InvalidInput

_OPTIONAL = ["referral_from", "diagnosis"]


def _first_part(data: Path, *, drop: bool) -> Path:
    """The first part without the optional columns (``drop``) or with them all null: the same claims either way."""
    first = data / "claims" / "part-0.parquet"
    t = pq.read_table(first)
    if drop:
        t = t.drop(_OPTIONAL)
    else:
        for name in _OPTIONAL:
            at = t.column_names.index(name)
            t = t.set_column(at, name, pa.nulls(t.num_rows, t.schema.field(name).type))
    pq.write_table(t, first)
    return data


def test_a_column_the_first_part_lacks_is_read_from_the_others(example_input: Path, tmp_path: Path) -> None:
    """The streamed run (a province's path) of claims whose first part lacks referral_from and diagnosis writes the
    bytes of the same claims with those cells null in the first part; the other parts' referrals and diagnoses
    count (before, DuckDB took the first part's columns and the others' went unread)."""
    even = _first_part(claims_in_parquet_parts(example_input, tmp_path / "even", 3), drop=False)
    uneven = _first_part(claims_in_parquet_parts(example_input, tmp_path / "uneven", 3), drop=True)
    others = pq.read_table(uneven / "claims" / "part-1.parquet")
    assert others.column("referral_from").null_count < others.num_rows  # the second part has referrals
    run_year(even, 2026, tmp_path / "out-even", stream_above=0, fmt="csv")
    run_year(uneven, 2026, tmp_path / "out-uneven", stream_above=0, fmt="csv")
    for name in ("adjudicated.csv", "settlement.csv", "indicators.csv"):
        assert (tmp_path / "out-uneven" / name).read_bytes() == (tmp_path / "out-even" / name).read_bytes(), name


def test_a_bad_cell_in_a_column_the_first_part_lacks_is_refused(example_input: Path, tmp_path: Path) -> None:
    """An unknown referring claim in the second part, whose column the first part lacks, stops the streamed run
    before anything is written, named by file, row and column."""
    data = _first_part(claims_in_parquet_parts(example_input, tmp_path / "uneven", 3), drop=True)
    part = data / "claims" / "part-1.parquet"
    t = pq.read_table(part)
    d = t.to_pydict()
    d["referral_from"][5] = "NOSUCHCLAIM"
    pq.write_table(pa.table(d, schema=t.schema), part)
    with pytest.raises(InvalidInput) as exc:
        run_year(data, 2026, tmp_path / "out", stream_above=0)
    assert [(p.file, p.column) for p in exc.value.problems] == [("claims/", "referral_from")]
    assert not (tmp_path / "out").exists()
