"""``write_csv_parts``: a table written part after part (a province's rows streamed from the engine) is the same file,
byte for byte, as the table written at once (the old ``write_table``, kept here as the oracle)."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yigongti.datafolder.folder import _to_text, write_csv_parts, write_table
from yigongti.datafolder.schema import TABLES

_texts = st.one_of(st.none(), st.just(""), st.text(max_size=6), st.sampled_from(["=1+1", "-3.5", "@x", 'a"b', "a,b"]))
_rows = st.lists(st.tuples(_texts, st.one_of(st.none(), st.integers(-10**9, 10**9)),
                           st.one_of(st.none(), st.dates(dt.date(1990, 1, 1), dt.date(2100, 1, 1))),
                           st.one_of(st.none(), st.booleans())), max_size=30)


def _table(rows: list[tuple[object, ...]]) -> pa.Table:
    cols = list(zip(*rows, strict=True)) if rows else [(), (), (), ()]
    return pa.table({"claim_id": pa.array(cols[0], pa.string()), "fund_paid": pa.array(cols[1], pa.int64()),
                     "admit_date": pa.array(cols[2], pa.date32()), "unreasonable": pa.array(cols[3], pa.bool_())})


def _written_at_once(table: pa.Table, folder: Path) -> bytes:
    by_name = {c.name: c for c in TABLES["adjudicated"].columns}
    text = pa.table({n: _to_text(by_name.get(n), table.column(n)) for n in table.column_names})
    pacsv.write_csv(text, folder / "oracle.csv", write_options=pacsv.WriteOptions(quoting_style="needed"))
    return (folder / "oracle.csv").read_bytes()


@settings(max_examples=60, deadline=None)
@given(_rows, st.lists(st.integers(0, 30), max_size=4))
def test_parts_make_the_file_of_the_whole(rows: list[tuple[object, ...]], cuts: list[int]) -> None:
    table = _table(rows)
    bounds = sorted({0, table.num_rows, *(min(c, table.num_rows) for c in cuts)})
    parts = [table.slice(a, b - a) for a, b in zip(bounds, bounds[1:], strict=False)] or [table]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        expected = _written_at_once(table, folder)
        assert write_csv_parts(iter(parts), folder / "parts", "adjudicated").read_bytes() == expected
        assert write_table(table, folder / "whole", "adjudicated").read_bytes() == expected
        assert [p.name for p in (folder / "parts").iterdir()] == ["adjudicated.csv"]  # no temporary file left


def test_a_failing_part_leaves_no_file(tmp_path: Path) -> None:
    def parts() -> object:
        yield _table([("C1", 100, None, True)])
        raise RuntimeError("the engine stopped")

    try:
        write_csv_parts(parts(), tmp_path, "adjudicated")  # type: ignore[arg-type]
    except RuntimeError:
        pass
    assert list(tmp_path.iterdir()) == []


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.dates()), max_size=40), st.sampled_from([pa.date32(), pa.date64()]))
def test_dates_are_written_as_strftime_wrote_them(days: list[dt.date | None], typ: pa.DataType) -> None:
    """Dates go out as ISO text by a cast (15x faster than pc.strftime): the same text for every date of years
    1-9999, and nulls stay null (empty cells)."""
    arr = pa.chunked_array([pa.array(days, pa.date32()).cast(typ)])
    assert _to_text(None, arr).to_pylist() == [None if d is None else d.isoformat() for d in days]


def test_a_failed_parquet_write_leaves_no_temporary_file(tmp_path: Path) -> None:
    """write_table's Parquet: when the file cannot be put in place (here a folder holds its name), the error is raised
    and no temporary file is left in the folder, hidden or not; what was there is untouched."""
    (tmp_path / "adjudicated.parquet").mkdir()
    (tmp_path / "adjudicated.parquet" / "keep.txt").write_text("x")
    with pytest.raises(OSError):
        write_table(pa.table({"claim_id": ["C1"], "fund_paid": pa.array([150], pa.int64())}), tmp_path, "adjudicated",
                    fmt="parquet")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adjudicated.parquet"]
    assert (tmp_path / "adjudicated.parquet" / "keep.txt").read_text() == "x"
