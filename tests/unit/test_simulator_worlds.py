"""Replicates as worlds of one table: keys prefixed and split back exactly."""

from __future__ import annotations

from datetime import date, timedelta

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from yigongti.simulator import engine as g
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


@settings(deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(max_size=6)), max_size=10), st.integers(1, 120),
       st.sampled_from([pa.string(), pa.large_string()]))
def test_prefix_puts_the_tag_before_every_value_and_keeps_nulls(values: list[str | None], n: int,
                                                                 typ: pa.DataType) -> None:
    tag = worlds.prefixes(n)[-1]
    t = pa.table({"person_id": pa.chunked_array([pa.array(values[:3], typ), pa.array(values[3:], typ)]),
                  "name": pa.array(values, typ)})
    out = worlds.prefix(t, tag)
    assert out.column("person_id").to_pylist() == [None if v is None else tag + v for v in values]
    assert out.column("name").to_pylist() == values and out.column("person_id").type == typ


_day = st.dates(date(2024, 1, 1), date(2027, 12, 31))
_claims = st.lists(st.tuples(st.one_of(st.none(), st.text(alphabet="P0129", max_size=4)), _day,
                             st.integers(0, 40), st.integers(0, 10_000)), max_size=6)


def _claims_table(rows: list[tuple[str | None, date, int, int]], prefix: str) -> pa.Table:
    ids = [f"{prefix}{i:03d}" for i in range(len(rows))]
    return pa.table({"claim_id": pa.array(ids, pa.string()),
                     "person_id": pa.array([r[0] for r in rows], pa.string()),
                     "admit_date": pa.array([r[1] for r in rows], pa.date32()),
                     "discharge_date": pa.array([r[1] + timedelta(days=r[2]) for r in rows], pa.date32()),
                     "total_cost": pa.array([r[3] for r in rows], pa.int64()),
                     "referral_from": pa.array([ids[0] if i % 2 and ids else None for i in range(len(rows))],
                                               pa.string())})


@settings(deadline=None)
@given(st.lists(st.tuples(_claims, _claims), min_size=1, max_size=11))
def test_a_year_stacked_from_parts_prefixed_once_is_the_stack_of_each_world_s_two_years(
        years: list[tuple[list[tuple[str | None, date, int, int]], list[tuple[str | None, date, int, int]]]]) -> None:
    """The simulator's batch: each world's claims of this year and last year's (prefixed in the year before, then
    shifted back a year) put together as parts equal the stack of each world's [this year, last year shifted]."""
    pairs = [(_claims_table(now, "S02-"), _claims_table(last, "S01-")) for now, last in years]
    whole = worlds.stack([pa.concat_tables([now, g.shift_back(last)]) for now, last in pairs])
    tags = worlds.prefixes(len(pairs))
    parts = worlds.concat([p for (now, last), tag in zip(pairs, tags, strict=True)
                           for p in (worlds.prefix(now, tag), g.shift_back(worlds.prefix(last, tag)))])
    assert parts.equals(whole)
    assert [w.to_pylist() for w in worlds.split(parts, "claim_id", len(pairs))] == \
        [pa.concat_tables([now, g.shift_back(last)]).to_pylist() for now, last in pairs]


@settings(deadline=None)
@given(st.lists(st.lists(st.one_of(st.none(), st.text(alphabet="县医共体AB#0é", max_size=6)), max_size=6),
                min_size=1, max_size=4),
       st.sampled_from([pa.string(), pa.large_string()]), st.integers(1, 120))
def test_strip_removes_exactly_the_prefix_of_multibyte_keys_in_every_chunk(
        chunks: list[list[str | None]], typ: pa.DataType, n: int) -> None:
    tag = worlds.prefixes(n)[-1]
    col = pa.chunked_array([pa.array([None if v is None else tag + v for v in c], typ) for c in chunks], typ)
    out = worlds.strip(pa.table({"person_id": col, "name": col}), n)
    out.validate(full=True)  # valid UTF-8, offsets in order
    assert out.column("person_id").type == typ
    assert out.column("person_id").to_pylist() == [v for c in chunks for v in c]
    assert out.column("name").to_pylist() == col.to_pylist()  # not a key: left as it is
