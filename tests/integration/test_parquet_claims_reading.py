"""The engine reads a Parquet claims file as the Arrow reader does (结算清单 Parquet 读取一致): whatever encoding each
column has (money as float, decimal or text; dates as date or text; flags as booleans or text; ids and
codes padded with ASCII or Unicode spaces), every cell the check passes is read to the same typed value on the
streamed path (``benefits.service._parquet_claims``) as on the in-memory path (``datafolder.folder.parse_table``).
Twice a padded cell passed the check and was read as written by the engine, so a province's money differed from the
county's: this property keeps the two readings one."""

from __future__ import annotations

import datetime as dt
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yigongti.benefits.service import _parquet_claims
from yigongti.core.engine import connect
from yigongti.datafolder.folder import parse_table
from yigongti.datafolder.schema import CLAIMS

EXAMPLE = Path(__file__).resolve().parents[1] / "data" / "county-2026" / "input" / "claims.csv"
ROWS = 24
_TEXT_COLUMNS = ("claim_id", "person_id", "inst_id", "setting", "diagnosis", "referral_from")
_PADS = ("{}", " {}", "{}  ", "\t{}", "\u3000{}", "{}\u00a0", "\u2003{}\u3000")
_TRUE = ("true", "1", "是", "T", "yes", "Y")
_FALSE = ("false", "0", "否", "f", "no", "N", "")


def _rows() -> dict[str, list[str]]:
    table = pcsv.read_csv(EXAMPLE, convert_options=pcsv.ConvertOptions(
        column_types={c.name: pa.string() for c in CLAIMS.columns}, strings_can_be_null=False))
    # the first rows, and every inpatient row's kind among them (discharge dates, referrals)
    return {name: table.column(name).to_pylist()[:ROWS] for name in table.column_names}


RAW = _rows()


@st.composite
def _encoded(draw: st.DrawFn) -> pa.Table:
    """The example's claims with each column in an encoding a province's Parquet may hold, cells padded at random."""
    cols: dict[str, pa.Array] = {}
    for name in _TEXT_COLUMNS:
        pads = draw(st.lists(st.sampled_from(_PADS), min_size=ROWS, max_size=ROWS))
        cols[name] = pa.array([p.format(v) if v else v for p, v in zip(pads, RAW[name], strict=True)], pa.string())
    for name in ("total_cost", "covered_cost"):
        kind = draw(st.sampled_from(["float", "decimal", "text", "padded text"]))
        values = [Decimal(v) for v in RAW[name]]
        if kind == "float":
            cols[name] = pa.array([float(v) for v in values], pa.float64())
        elif kind == "decimal":
            cols[name] = pa.array(values, pa.decimal128(18, 2))
        else:
            pad = " {} " if kind == "padded text" else "{}"
            cols[name] = pa.array([pad.format(v) for v in values], pa.string())
    for name in ("admit_date", "discharge_date"):
        kind = draw(st.sampled_from(["date", "text", "padded text"]))  # a timestamp is refused by both
        days = [dt.date.fromisoformat(v) if v else None for v in RAW[name]]
        if kind == "date":
            cols[name] = pa.array(days, pa.date32())
        else:
            pad = "\u3000{}" if kind == "padded text" else "{}"
            cols[name] = pa.array([pad.format(v) if v else "" for v in RAW[name]], pa.string())
    for name in ("emergency", "unreasonable"):
        kind = draw(st.sampled_from(["bool", "text", "missing"]))
        flags = [v == "true" for v in RAW[name]]
        if kind == "bool":
            cols[name] = pa.array(flags, pa.bool_())
        elif kind == "text":
            words = [draw(st.sampled_from(_TRUE if f else _FALSE)) for f in flags]
            pads = draw(st.lists(st.sampled_from(_PADS[:4]), min_size=ROWS, max_size=ROWS))
            cols[name] = pa.array([p.format(w) for p, w in zip(pads, words, strict=True)], pa.string())
    return pa.table(cols)


def _plain(v: Any) -> Any:
    if isinstance(v, dt.datetime):
        return v.date()
    return v


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_encoded())
def test_the_engine_reads_parquet_claims_as_the_arrow_reader_does(table: pa.Table) -> None:
    typed, problems = parse_table(CLAIMS, table, file="claims.parquet")
    assert not [p for p in problems if not p.warning], problems  # every encoding drawn is a valid one
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "claims.parquet"
        pq.write_table(table, path)
        con = connect("duckdb")
        try:
            read = _parquet_claims(con, path).order_by("claim_id").to_pyarrow()
        finally:
            con.disconnect()
    typed = typed.sort_by("claim_id")
    for col in CLAIMS.columns:
        expected = [_plain(v) for v in typed.column(col.name).to_pylist()]
        got = [_plain(v) for v in read.column(col.name).to_pylist()]
        if col.name in ("diagnosis", "referral_from", "discharge_date"):  # an empty optional cell: '' or null alike
            expected = [v if v != "" else None for v in expected]
            got = [v if v != "" else None for v in got]
        assert got == expected, (col.name, got, expected)
