"""The per-process cache of bearer tokens: kept for its time-to-live, never past the token's expiry, forgotten on
revocation, off with a time-to-live of 0."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pytest
from tests.fakes import FakeClock

from yigongti.platform.accounts import Principal, Role
from yigongti.platform.tokencache import TokenCache

NOW = datetime(2026, 11, 25, 10)
WHO = Principal(user_id=1, username="r1", role=Role.RESIDENT, person_id="P1", household_id="H1")


def test_kept_for_its_ttl_only() -> None:
    clock = FakeClock(100.0)
    cache = TokenCache(ttl_seconds=5, clock=clock, spread=0)
    assert cache.get("tok", now=NOW) is None
    cache.put("tok", WHO, expires_at=NOW + timedelta(hours=12))
    assert cache.get("tok", now=NOW) == WHO
    assert cache.get("other", now=NOW) is None
    clock.t += 4.9
    assert cache.get("tok", now=NOW) == WHO
    clock.t += 0.2
    assert cache.get("tok", now=NOW) is None


def test_expiries_spread_over_the_last_part_of_the_ttl() -> None:
    # 1,000 tokens seen in the same instant: each kept between half the ttl and all of it, and not all expiring at
    # the same moment (under load they would all be looked up again at once)
    clock = FakeClock(100.0)
    cache = TokenCache(ttl_seconds=10, clock=clock, spread=0.5, rng=random.Random(7).random)
    tokens = [f"tok{i}" for i in range(1000)]
    for tok in tokens:
        cache.put(tok, WHO, expires_at=NOW + timedelta(hours=12))

    def kept() -> int:
        return sum(cache.get(tok, now=NOW) is not None for tok in tokens)

    clock.t = 104.99
    assert kept() == 1000
    clock.t = 107.5
    assert 300 < kept() < 700
    clock.t = 110.0
    assert kept() == 0


def test_spread_outside_zero_to_one_is_refused() -> None:
    with pytest.raises(ValueError, match="spread"):
        TokenCache(ttl_seconds=5, spread=1.5)


def test_never_past_the_token_expiry() -> None:
    cache = TokenCache(ttl_seconds=60, clock=FakeClock(100.0))
    cache.put("tok", WHO, expires_at=NOW + timedelta(seconds=1))
    assert cache.get("tok", now=NOW) == WHO
    assert cache.get("tok", now=NOW + timedelta(seconds=1)) is None


def test_forget_and_off() -> None:
    cache = TokenCache(ttl_seconds=60, clock=FakeClock(100.0))
    cache.put("tok", WHO, expires_at=NOW + timedelta(hours=1))
    cache.forget("tok")
    assert cache.get("tok", now=NOW) is None
    off = TokenCache(ttl_seconds=0)
    off.put("tok", WHO, expires_at=NOW + timedelta(hours=1))
    assert off.get("tok", now=NOW) is None


def test_bounded() -> None:
    cache = TokenCache(ttl_seconds=60, max_entries=3, clock=FakeClock(100.0))
    for n in range(10):
        cache.put(f"t{n}", WHO, expires_at=NOW + timedelta(hours=1))
    assert cache.get("t9", now=NOW) == WHO
    assert sum(cache.get(f"t{n}", now=NOW) is not None for n in range(10)) <= 3
