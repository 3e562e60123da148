"""The enrollment's cheaper paths give what the plain definitions give (properties): a blank id (null, or nothing once
stripped) told by its first character before any strip; head counts and movement per unit summed from the persons
counted once per cell or pair of designations, as if counted person by person."""

from __future__ import annotations

from collections import Counter
from datetime import date

import ibis
import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from yigongti.core.engine import to_arrow
from yigongti.core.policy import Policy
from yigongti.enrollment.engine import _blank
from yigongti.enrollment.headcount import (
    MOVEMENT_SCHEMA,
    ages_on_jan_1,
    band_labels,
    head_counts,
    movement_summary,
    movement_tables,
)

MIN_AGES = [b.min_age for b in Policy().capitation.age_bands]
_cell = st.one_of(st.none(), st.sampled_from(["", " ", "\t", "\n \r", "\x0b\x0c", " V1", "V1 ", "V 1", "\u3000",
                                              "\u3000V1", "平武", "\x00", "V1"]), st.text(max_size=3))


@settings(max_examples=80, deadline=None)
@given(st.lists(_cell, min_size=1, max_size=12))
def test_blank_is_null_or_nothing_once_stripped(values: list[str | None]) -> None:
    t = ibis.memtable(pa.table({"v": pa.array(values, pa.string())}))
    got = to_arrow(t.select(fast=_blank(t.v), plain=t.v.isnull() | (t.v.strip() == "")))
    assert got.column("fast").to_pylist() == got.column("plain").to_pylist(), values


_units = st.tuples(st.sampled_from(["C1", "C2"]), st.sampled_from(["T1", "T2", "U1"]),
                   st.sampled_from(["V1", "V2", "W1"]))


@settings(max_examples=60, deadline=None)
@given(prev=st.dictionaries(st.sampled_from("abcdefghij"), _units, max_size=10),
       cur=st.dictionaries(st.sampled_from("abcdefghij"), _units, max_size=10))
def test_movement_summary_is_the_person_by_person_count(prev: dict[str, tuple[str, str, str]],
                                                        cur: dict[str, tuple[str, str, str]]) -> None:
    def table(d: dict[str, tuple[str, str, str]]) -> pa.Table:
        rows = sorted(d.items())
        return pa.table({"person_id": pa.array([p for p, _ in rows], pa.string()),
                         **{c: pa.array([u[k] for _, u in rows], pa.string())
                            for k, c in enumerate(["consortium_id", "township_id", "village_id"])}})

    got = {(r["level"], r["unit_id"], r["consortium_id"]): (r["previous"], r["current"], r["gained"], r["lost"],
                                                            r["net"])
           for r in movement_summary(table(prev), table(cur)).to_pylist()}
    want: dict[tuple[str, str, str], list[int]] = {}
    for k, level in enumerate(["consortium", "township", "village"]):
        for person in set(prev) | set(cur):
            before, after = prev.get(person), cur.get(person)
            moved = before is None or after is None or before[k] != after[k]
            if before is not None:
                row = want.setdefault((level, before[k], before[0]), [0, 0, 0, 0])
                row[0] += 1
                row[3] += moved
            if after is not None:
                row = want.setdefault((level, after[k], after[0]), [0, 0, 0, 0])
                row[1] += 1
                row[2] += moved
    assert got == {key: (p, c, g, lost, c - p) for key, (p, c, g, lost) in want.items()}


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(_units, st.dates(date(1930, 1, 1), date(2026, 12, 31)),
                          st.sampled_from(["resident", "employee"])), max_size=12))
def test_head_counts_are_the_person_by_person_count(people: list[tuple[tuple[str, str, str], date, str]]) -> None:
    ids = [f"p{i}" for i in range(len(people))]
    designations = pa.table({"person_id": pa.array(ids, pa.string()),
                             **{c: pa.array([u[k] for u, _, _ in people], pa.string())
                                for k, c in enumerate(["consortium_id", "township_id", "village_id"])}})
    persons = pa.table({"person_id": pa.array(ids, pa.string()),
                        "birth_date": pa.array([b for _, b, _ in people], pa.date32()),
                        "insurance": pa.array([i for _, _, i in people], pa.string())})
    got = Counter({(r["level"], r["unit_id"], r["consortium_id"], r["age_band"], r["insurance"]): r["enrollees"]
                   for r in head_counts(designations, persons, year=2026, min_ages=MIN_AGES).to_pylist()})
    labels = band_labels(MIN_AGES)
    ages = ages_on_jan_1(persons.column("birth_date"), 2026)
    want: Counter[tuple[str, str, str, str, str]] = Counter()
    for (unit, born, insurance), age in zip(people, ages.tolist(), strict=True):
        if born > date(2026, 1, 1):
            continue
        band = labels[max(n for n, a in enumerate(MIN_AGES) if age >= a)]
        for k, level in enumerate(["consortium", "township", "village"]):
            want[(level, unit[k], unit[0], band, insurance)] += 1
    assert got == want


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(-2**40, 2**40), st.integers(0, 3), st.integers(-3, 3)), max_size=30))
def test_one_sort_of_combined_keys_is_lexsort(rows: list[tuple[int, int, int]]) -> None:
    """enrollment.engine._ordered: the order of np.lexsort (stable), by one sort when the keys fit and by lexsort
    when they do not (the first key's range here is 2^41)."""
    from yigongti.enrollment.engine import _ordered

    keys = tuple(np.array([r[i] for r in rows], dtype=np.int64) for i in range(3))
    assert _ordered(keys).tolist() == np.lexsort(keys).tolist()
    assert _ordered(keys[1:]).tolist() == np.lexsort(keys[1:]).tolist()


@settings(max_examples=60, deadline=None)
@given(prev=st.dictionaries(st.sampled_from("abcdefghij"), _units, max_size=10),
       cur=st.dictionaries(st.sampled_from("abcdefghij"), _units, max_size=10))
def test_movements_from_the_pair_counts_are_the_person_by_person_count(
        prev: dict[str, tuple[str, str, str]], cur: dict[str, tuple[str, str, str]]) -> None:
    """movement_tables: the movements counted from the persons per pair of designations (one pass, shared with the
    summary) are the persons moved, counted one by one; the summary is movement_summary's."""
    def table(d: dict[str, tuple[str, str, str]]) -> pa.Table:
        rows = sorted(d.items())
        return pa.table({"person_id": pa.array([p for p, _ in rows], pa.string()),
                         **{c: pa.array([u[k] for _, u in rows], pa.string())
                            for k, c in enumerate(["consortium_id", "township_id", "village_id"])}})

    flows, summary = movement_tables(table(prev), table(cur))
    want: Counter[tuple[str, ...]] = Counter()
    for person in set(prev) | set(cur):
        before, after = prev.get(person), cur.get(person)
        if before is None or after is None or before[2] != after[2]:
            want[(*(before or ("", "", "")), *(after or ("", "", "")))] += 1
    got = {tuple(r[c] for c in MOVEMENT_SCHEMA.names[:6]): r["persons"] for r in flows.to_pylist()}
    assert got == dict(want)
    assert [r["persons"] for r in flows.to_pylist()] == sorted(want.values(), reverse=True)
    def rows(t: pa.Table) -> list[tuple[object, ...]]:  # (a unit under two consortia here: its rows in any order)
        return sorted(tuple(r.values()) for r in t.to_pylist())

    assert rows(summary) == rows(movement_summary(table(prev), table(cur)))
