"""The login token bucket: a burst, then one attempt per refill period, per (username, address)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from tests.fakes import FakeClock

from yigongti.platform.ratelimit import TokenBucket


def test_burst_then_refill() -> None:
    clock = FakeClock()
    bucket = TokenBucket(burst=3, refill_seconds=60, clock=clock)
    key = ("alice", "10.0.0.1")
    for _ in range(3):
        assert bucket.allowed(key)
        bucket.take(key)
    assert not bucket.allowed(key)
    assert bucket.retry_after(key) == 60
    assert bucket.allowed(("alice", "10.0.0.2")) and bucket.allowed(("bob", "10.0.0.1"))
    clock.t = 59.0
    assert not bucket.allowed(key) and bucket.retry_after(key) == 1
    clock.t = 60.0
    assert bucket.allowed(key)
    bucket.reset(key)
    assert bucket.retry_after(key) == 0


@given(st.lists(st.floats(min_value=0, max_value=600), min_size=1, max_size=40), st.integers(1, 6))
def test_never_more_attempts_than_burst_plus_refills(gaps: list[float], burst: int) -> None:
    clock = FakeClock()
    bucket = TokenBucket(burst=burst, refill_seconds=30, clock=clock)
    taken = 0
    for gap in gaps:
        clock.t += gap
        if bucket.allowed(("u", "a")):
            bucket.take(("u", "a"))
            taken += 1
    assert taken <= burst + int(clock.t // 30)
