"""The streamed claims check's repeated claim ids (``benefits.service._repeated_claim_ids``): on DuckDB it counts
the ids' 64-bit hashes first (a set of integers, not of texts: the check's peak at a province's 140 M claims) and
counts the ids themselves only when two hashes meet. Its answer must be the exact one on every input: rows != distinct
non-null ids, the ids trimmed when asked."""

from __future__ import annotations

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from yigongti.benefits.service import _repeated_claim_ids
from yigongti.core.engine import connect, register_arrow


def _exact(ids: list[str | None], trim: bool) -> bool:
    seen = {(v.strip(" \u3000") if trim else v) for v in ids if v is not None}
    return len(ids) != len(seen)


_ID = st.one_of(st.none(), st.sampled_from(["A1", "A2", " A1", "A1 ", "\u3000A2", "B", "b", "C" * 20]),
                st.text(alphabet="ABC12 ", min_size=1, max_size=6))


@settings(max_examples=60, deadline=None)
@given(ids=st.lists(_ID, min_size=1, max_size=30), trim=st.booleans())
def test_repeated_claim_ids_is_the_exact_answer(ids: list[str | None], trim: bool) -> None:
    con = connect("duckdb")
    try:
        t = register_arrow(con, pa.table({"claim_id": pa.array(ids, pa.string())}), "claims")
        assert _repeated_claim_ids(t, trim=trim) is _exact(ids, trim)
    finally:
        con.disconnect()


def test_a_repeat_among_many_distinct_ids_is_found() -> None:
    """200,000 distinct ids (their hashes all distinct: the hash shortcut answers) and the same with one repeated
    (the ids are then counted)."""
    con = connect("duckdb")
    try:
        ids = [f"C{i:09d}" for i in range(200_000)]
        assert _repeated_claim_ids(register_arrow(con, pa.table({"claim_id": ids}), "a"), trim=False) is False
        ids[-1] = ids[0]
        assert _repeated_claim_ids(register_arrow(con, pa.table({"claim_id": ids}), "b"), trim=False) is True
    finally:
        con.disconnect()
