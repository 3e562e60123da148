"""Replicates as worlds of one table: keys prefixed and split back exactly."""

from __future__ import annotations

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from yigongti.simulator import worlds


def test_keys_are_the_id_columns_the_county_code_and_the_referral() -> None:
    assert [c for c in ("person_id", "inst_id", "county_code", "referral_from", "id_number", "year", "name")
            if worlds.is_key(c)] == ["person_id", "inst_id", "county_code", "referral_from"]
    assert worlds.prefixes(3) == ["0#", "1#", "2#"] and worlds.prefixes(11)[10] == "10#"


ids = st.lists(st.one_of(st.none(), st.text(alphabet="AB#01", min_size=0, max_size=5)), max_size=8)


@settings(deadline=None)  # the first call loads Arrow's kernels (seconds on a loaded machine)
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


def _split_by_filter(t: pa.Table, by: str, n: int) -> list[pa.Table]:
    """The former split, one filter per world: the oracle of the one-pass split."""
    which = worlds.world_of(t.column(by), n) if t.num_rows else None
    return [worlds.strip(t.filter(pa.array(which == i)) if which is not None else t, n) for i in range(n)]


@settings(deadline=None)
@given(st.lists(st.lists(st.integers(0, 9), max_size=6), min_size=1, max_size=12), st.randoms(use_true_random=False))
def test_split_of_rows_in_any_order_equals_one_filter_per_world(sizes: list[list[int]], rnd: object) -> None:
    tables = [pa.table({"claim_id": pa.array([f"C{i}" for i in range(len(v))], pa.string()),
                        "value": pa.array(v, pa.int64())}) for v in sizes]
    stacked = worlds.stack(tables)
    order = list(range(stacked.num_rows))
    rnd.shuffle(order)  # type: ignore[attr-defined]
    shuffled = stacked.take(pa.array(order, pa.int64()))
    got = worlds.split(shuffled, "claim_id", len(tables))
    assert [g.to_pylist() for g in got] == [w.to_pylist() for w in _split_by_filter(shuffled, "claim_id",
                                                                                      len(tables))]
