"""How many replicates of a year go in one batch: the fewest batches within the limit, of equal size."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from yigongti.simulator.service import batch_size


@given(st.integers(1, 3_000_000), st.integers(1, 200), st.integers(1, 20_000_000))
def test_the_fewest_batches_within_the_limit_of_equal_size(claims: int, replicates: int, limit: int) -> None:
    size = batch_size(claims, replicates, limit)
    most = max(1, min(replicates, limit // (2 * claims)))  # the most replicates whose rows fit (at least one)
    batches = -(-replicates // size)
    assert 1 <= size <= most
    assert batches == -(-replicates // most)  # no more batches than the largest batch would need
    assert replicates - (batches - 1) * size >= size - batches  # the last batch short by less than one a batch


def test_fifty_replicates_of_a_20000_person_county_go_in_two_batches_of_25() -> None:
    assert batch_size(141_550, 50) == 25 and batch_size(141_550, 8) == 8 and batch_size(141_550, 28) == 28
