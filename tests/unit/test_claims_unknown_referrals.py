"""The streamed claims check's unknown referring claims (``benefits.service._unknown_referrals``): a semi-join of the
claim ids with the few distinct referring ids (its hash table the referring ids, not every claim id: a province's
10 M ids were a third of the check's time), then counts. Its answer must be the exact one on every input: some
non-empty ``referral_from`` names no ``claim_id``, both trimmed when asked."""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yigongti.benefits.service import _unknown_referrals
from yigongti.core.engine import connect, register_arrow

_CELL = st.one_of(st.none(), st.sampled_from(["", " ", "A1", " A1", "A1\u3000", "A2", "B", "b"]),
                  st.text(alphabet="AB12 ", min_size=1, max_size=4))


@pytest.fixture(scope="module")
def con() -> Iterator[object]:
    backend = connect("duckdb", joins_as_written=True)  # as the check's own connection
    yield backend
    backend.disconnect()


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(_CELL, _CELL), min_size=1, max_size=20), trim=st.booleans())
def test_unknown_referrals_is_the_exact_answer(con: object, rows: list[tuple[str | None, str | None]],
                                               trim: bool) -> None:
    def cut(v: str) -> str:
        return v.strip(" \u3000") if trim else v

    ids = {cut(c) for c, _ in rows if c is not None}
    refs = {cut(r) for _, r in rows if r is not None and cut(r) != ""}
    table = pa.table({"claim_id": pa.array([c for c, _ in rows], pa.string()),
                      "referral_from": pa.array([r for _, r in rows], pa.string())})
    t = register_arrow(con, table, "claims")  # type: ignore[arg-type]
    assert _unknown_referrals(t, trim=trim) is bool(refs - ids), (rows, trim)
