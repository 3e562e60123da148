"""The per-process cache of bearer tokens: kept for its time-to-live, never past the token's expiry, forgotten on
revocation, off with a time-to-live of 0."""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.fakes import FakeClock

from yigongti.api.tokencache import TokenCache
from yigongti.service.accounts import Principal, Role

NOW = datetime(2026, 11, 25, 10)
WHO = Principal(user_id=1, username="r1", role=Role.RESIDENT, person_id="P1", household_id="H1")


def test_kept_for_its_ttl_only() -> None:
    clock = FakeClock(100.0)
    cache = TokenCache(ttl_seconds=5, clock=clock)
    assert cache.get("tok", now=NOW) is None
    cache.put("tok", WHO, expires_at=NOW + timedelta(hours=12))
    assert cache.get("tok", now=NOW) == WHO
    assert cache.get("other", now=NOW) is None
    clock.t += 4.9
    assert cache.get("tok", now=NOW) == WHO
    clock.t += 0.2
    assert cache.get("tok", now=NOW) is None


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
