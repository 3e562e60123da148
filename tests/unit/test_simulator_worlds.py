"""Replicates as worlds of one table: keys prefixed and split back exactly."""

from __future__ import annotations

import pyarrow as pa
from hypothesis import given
from hypothesis import strategies as st

from yigongti.simulator import worlds


def test_keys_are_the_id_columns_the_county_code_and_the_referral() -> None:
    assert [c for c in ("person_id", "inst_id", "county_code", "referral_from", "id_number", "year", "name")
            if worlds.is_key(c)] == ["person_id", "inst_id", "county_code", "referral_from"]
    assert worlds.prefixes(3) == ["0#", "1#", "2#"] and worlds.prefixes(11)[10] == "10#"


ids = st.lists(st.one_of(st.none(), st.text(alphabet="AB#01", min_size=0, max_size=5)), max_size=8)


@given(st.lists(st.tuples(ids, st.lists(st.integers(-5, 5), max_size=8)), min_size=1, max_size=12))
def test_stack_then_split_gives_each_world_back(parts: list[tuple[list[str | None], list[int]]]) -> None:
    tables = []
    for keys, values in parts:
        n = min(len(keys), len(values))
        tables.append(pa.table({"claim_id": pa.array([f"C{i}" for i in range(n)], pa.string()),
                                "person_id": pa.array(keys[:n], pa.string()),
                                "value": pa.array(values[:n], pa.int64())}))
    stacked = worlds.stack(tables)
    assert stacked.num_rows == sum(t.num_rows for t in tables)
    tags = worlds.prefixes(len(tables))
    assert all(v is None or v[:len(tags[0])] in tags for v in stacked.column("person_id").to_pylist())
    back = worlds.split(stacked, "claim_id", len(tables))
    assert [b.to_pylist() for b in back] == [t.to_pylist() for t in tables]
