"""The simulator's cheaper column work gives the former values: shift_back per distinct date, ids taken in Arrow."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, settings
from hypothesis import strategies as st

from yigongti.simulator import engine as g


def _shift_back_per_row(claims: pa.Table) -> pa.Table:
    """The former shift_back, every row through numpy's datetime64: the oracle."""
    admit = np.asarray(claims.column("admit_date").to_numpy(zero_copy_only=False), dtype="datetime64[D]")
    month = admit.astype("datetime64[M]")
    day = (admit - month.astype("datetime64[D]")).astype(np.int64)
    earlier = month - 12
    length = ((earlier + 1).astype("datetime64[D]") - earlier.astype("datetime64[D]")).astype(np.int64)
    new = earlier.astype("datetime64[D]") + np.minimum(day, length - 1).astype("timedelta64[D]")
    out = claims.set_column(claims.column_names.index("admit_date"), "admit_date", pa.array(new, pa.date32()))
    dis = claims.column("discharge_date")
    stay = pc.days_between(claims.column("admit_date"), dis)
    shifted = pc.add(pa.array(new, pa.date32()).cast(pa.timestamp("s")), pc.multiply(
        stay.cast(pa.int64()), 86400).cast(pa.duration("s"))).cast(pa.date32())
    return out.set_column(out.column_names.index("discharge_date"), "discharge_date", shifted)


days = st.integers(0, 3 * 366)  # 2027-01-01 .. 2029-12-31: a leap year inside


@settings(deadline=None, max_examples=60)
@given(st.lists(st.tuples(days, st.one_of(st.none(), st.integers(0, 90))), min_size=1, max_size=40),
       st.integers(1, 3))
def test_shift_back_per_distinct_date_equals_per_row(rows: list[tuple[int, int | None]], chunks: int) -> None:
    start = date(2027, 1, 1)
    admit = [start + timedelta(days=d) for d, _ in rows]
    dis = [None if s is None else a + timedelta(days=s) for a, (_, s) in zip(admit, rows, strict=True)]
    t = pa.table({"claim_id": [f"C{i}" for i in range(len(rows))], "admit_date": pa.array(admit, pa.date32()),
                  "discharge_date": pa.array(dis, pa.date32())})
    t = pa.concat_tables([t.slice(i * len(rows) // chunks, (i + 1) * len(rows) // chunks - i * len(rows) // chunks)
                          for i in range(chunks)])  # chunked columns as a concatenated table has them
    got, want = g.shift_back(t), _shift_back_per_row(t)
    assert got.schema == want.schema
    assert got.to_pylist() == want.to_pylist()


@given(st.lists(st.integers(-4, 3), max_size=30))
def test_ids_taken_in_arrow_are_numpys_indexing(at: list[int]) -> None:
    ids = np.array(["T01", "V001", "C1", "X9"])
    got = g._ids_at(ids, np.array(at, dtype=np.int64))
    assert got.type == pa.string()
    assert got.to_pylist() == ids[np.array(at, dtype=np.int64)].tolist()
