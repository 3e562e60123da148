"""Whether an adjudication covers the year of the claims: the first of the year's claims tried before the rest."""

from __future__ import annotations

from datetime import date

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from yigongti.appraisal.service import _covers


@settings(deadline=None)
@given(st.lists(st.tuples(st.sampled_from([2025, 2026]), st.booleans()), max_size=8),
       st.lists(st.sampled_from(["X1", "X2"]), max_size=2))
def test_covers_when_any_claim_of_the_year_was_adjudicated(claims: list[tuple[int, bool]], others: list[str]) -> None:
    ids = [f"C{i}" for i in range(len(claims))]
    table = pa.table({"claim_id": pa.array(ids, pa.string()),
                      "admit_date": pa.array([date(y, 3, 1) for y, _ in claims], pa.date32())})
    done = pa.table({"claim_id": pa.array([i for i, (_, a) in zip(ids, claims, strict=True) if a] + others,
                                          pa.string())})
    expected = any(y == 2026 and a for y, a in claims)  # some claim of 2026 among the adjudicated ones
    assert _covers(done, table, 2026) is expected
