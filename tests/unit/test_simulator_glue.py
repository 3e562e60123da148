"""The simulator's glue made cheaper gives the former values: a settlement table's rows split by world in one pass,
a year's claim ids sliced from one column per prefix, a year's claims and their prefixed copy shifted back with one
computation of the dates, the pool's tasks largest first, the prefixes cut as bytes."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, settings
from hypothesis import strategies as st

from yigongti.core.prefixes import rows_by_prefix as _world_rows
from yigongti.core.prefixes import without_prefix
from yigongti.demo.identifiers import sequential_ids
from yigongti.simulator import engine as g
from yigongti.simulator import worlds
from yigongti.simulator.domain import CHRONIC_ICD, icd_in
from yigongti.simulator.service import _largest_first, _Task


def _rows_by_filter(t: pa.Table, by: str, tags: list[str], strip: list[str]) -> list[pa.Table]:
    """The former ``_world_rows``, one filter per world and characters cut: the oracle."""
    width = len(tags[0])
    head = pc.utf8_slice_codeunits(t.column(by), 0, width)
    out = []
    for tag in tags:
        part = t.filter(pc.fill_null(pc.equal(head, tag), False))
        for name in strip:
            part = part.set_column(part.column_names.index(name), name,
                                   pc.utf8_slice_codeunits(part.column(name), width))
        out.append(part)
    return out


keys = st.one_of(st.none(), st.text(alphabet="AB中#", max_size=4))


@settings(deadline=None)
@given(st.integers(1, 12), st.lists(st.tuples(st.integers(-1, 12), keys, keys, st.integers(-9, 9)), max_size=40))
def test_world_rows_in_one_pass_equal_one_filter_per_world(n: int, rows: list[tuple[int, str | None, str | None,
                                                                                      int]]) -> None:
    tags = worlds.prefixes(n)
    # w: the world whose tag the key carries, cut to the batch's width (beyond the batch: of no world, or another's);
    # -1: no tag
    def key(w: int, k: str | None) -> str | None:
        if k is None:
            return None
        return (worlds.prefixes(max(n, w + 1))[w][-len(tags[0]):] if 0 <= w else "") + k
    t = pa.table({"consortium_id": pa.array([key(w, a) for w, a, _, _ in rows], pa.string()),
                  "inst_id": pa.array([None if b is None or w < 0 else tags[0][:-1].replace("0", "9") + "#" + b
                                       for w, _, b, _ in rows], pa.string()),
                  "fund_paid": pa.array([v for *_, v in rows], pa.int64())})
    t = pa.concat_tables([t.slice(0, len(rows) // 2), t.slice(len(rows) // 2)])  # chunked, as the engine's
    got = _world_rows(t, "consortium_id", tags, ["consortium_id", "inst_id"])
    want = _rows_by_filter(t, "consortium_id", tags, ["consortium_id", "inst_id"])
    assert [x.to_pylist() for x in got] == [x.to_pylist() for x in want]
    assert all(x.schema == t.schema for x in got)


@given(st.lists(st.one_of(st.none(), st.text(max_size=6)), max_size=20), st.integers(0, 3), st.integers(1, 3))
def test_prefix_cut_as_bytes_is_the_prefix_cut_as_characters(values: list[str | None], width: int,
                                                             chunks: int) -> None:
    tag = "".join(str(i % 10) for i in range(max(width - 1, 0))) + ("#" if width else "")
    prefixed = [None if v is None else tag + v for v in values]
    col = pa.chunked_array([pa.array(prefixed[i * len(values) // chunks:(i + 1) * len(values) // chunks],
                                     pa.string()) for i in range(chunks)], pa.string())
    got = without_prefix(col, width)
    assert got.type == pa.string() and got.to_pylist() == values
    large = without_prefix(col.cast(pa.large_string()), width)
    assert large.type == pa.large_string() and large.to_pylist() == values


@given(st.lists(st.tuples(st.sampled_from(["S01-", "S02-", "S10-"]), st.integers(0, 3000)), min_size=1,
                max_size=12))
def test_claim_ids_sliced_from_one_column_per_prefix_are_the_sequential_ids(calls: list[tuple[str, int]]) -> None:
    g._CLAIM_IDS.clear()
    for prefix, n in calls:  # growing and shrinking, prefixes interleaved
        got = g._claim_ids(prefix, n)
        want = sequential_ids(prefix, np.arange(1, n + 1, dtype=np.int64), width=9)
        assert got.type == want.type and len(got) == n and got.equals(want)


@settings(deadline=None, max_examples=40)
@given(st.lists(st.tuples(st.integers(0, 3 * 366), st.one_of(st.none(), st.integers(0, 60))), min_size=1,
                max_size=30))
def test_claims_and_their_prefixed_copy_shifted_at_once_are_each_shifted(rows: list[tuple[int, int | None]]) -> None:
    start = date(2027, 1, 1)
    admit = [start + timedelta(days=d) for d, _ in rows]
    t = pa.table({"claim_id": [f"C{i}" for i in range(len(rows))], "person_id": [f"P{i % 3}" for i in range(len(rows))],
                  "admit_date": pa.array(admit, pa.date32()),
                  "discharge_date": pa.array([None if s is None else a + timedelta(days=s)
                                              for a, (_, s) in zip(admit, rows, strict=True)], pa.date32())})
    tagged = worlds.prefix(t, "07#")
    got, got_tagged = g.shift_back_all(t, tagged)
    assert got.to_pylist() == g.shift_back(t).to_pylist()
    assert got_tagged.to_pylist() == g.shift_back(tagged).to_pylist()
    assert got_tagged.schema == tagged.schema


def test_the_pool_takes_the_largest_tasks_first(tmp_path: Path) -> None:
    tasks = []
    for i, (size, count) in enumerate([(300, 10), (280, 10), (310, 10), (280, 10), (100, 40), (0, 5)]):
        folder = tmp_path / f"c{i}"
        folder.mkdir()
        if size:
            (folder / "claims.csv").write_bytes(b"x" * size)
        tasks.append(_Task(i, folder.name, folder, (), 1, 1, count, 1, "duckdb"))
    parquet = tmp_path / "c6" / "claims"  # a Parquet folder: its parts' bytes
    parquet.mkdir(parents=True)
    for k in range(2):
        (parquet / f"part-{k}.parquet").write_bytes(b"x" * 200)
    tasks.append(_Task(6, "c6", tmp_path / "c6", (), 1, 1, 10, 1, "duckdb"))
    # work: 3000, 2800, 3100, 2800, 4000, 0, 4000 (ties in the order of the results)
    assert _largest_first(tasks) == [4, 6, 2, 0, 1, 3, 5]


@given(st.lists(st.one_of(st.none(), st.sampled_from(["", " i10 ", "I10", "J44.1", "E11", "A01", "I15.9", "C50"])),
                max_size=30), st.integers(1, 3))
def test_chronic_diagnoses_by_their_distinct_codes_are_each_codes(codes: list[str | None], chunks: int) -> None:
    col = pa.chunked_array([pa.array(codes[i * len(codes) // chunks:(i + 1) * len(codes) // chunks], pa.string())
                            for i in range(chunks)], pa.string())
    assert g._chronic(col).tolist() == [icd_in(x, CHRONIC_ICD) for x in codes]
