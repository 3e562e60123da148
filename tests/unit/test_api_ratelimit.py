"""The login token bucket: a burst, then one attempt per refill period; the sign-in limiter's three buckets."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from starlette.requests import Request
from tests.fakes import FakeClock

from yigongti.platform.login import client_address
from yigongti.platform.ratelimit import LoginLimiter, TokenBucket
from yigongti.platform.settings import Settings


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


def _limiter(clock: FakeClock) -> LoginLimiter:
    return LoginLimiter(burst=5, refill_seconds=60, user_burst=8, user_refill_seconds=60, address_burst=12,
                        address_refill_seconds=10, clock=clock)


def _fail(limiter: LoginLimiter, user: str, address: str, times: int) -> list[int]:
    return [limiter.acquire(user, address) for _ in range(times)]


def test_sixth_wrong_password_from_one_address_waits() -> None:
    limiter = _limiter(FakeClock())
    assert _fail(limiter, "Alice", "10.0.0.1", 5) == [0] * 5
    assert limiter.acquire("alice ", "10.0.0.1") == 60  # case and blanks do not make a new user name
    assert limiter.acquire("alice", "10.0.0.2") == 0


def test_unknown_user_names_from_one_address_are_limited_by_the_address() -> None:
    clock = FakeClock()
    limiter = _limiter(clock)
    answers = [limiter.acquire(f"no-such-user-{i}", "10.0.0.9") for i in range(13)]
    assert answers[:12] == [0] * 12 and answers[12] == 10
    assert limiter.acquire("someone", "10.0.0.10") == 0  # another address is not affected
    clock.t = 10.0
    assert limiter.acquire("no-such-user-99", "10.0.0.9") == 0


def test_user_name_spent_across_addresses_slows_guessing_but_does_not_lock_out_the_owner() -> None:
    limiter = _limiter(FakeClock())
    for i in range(4):  # 8 failures from 4 addresses: the user name's allowance is spent
        assert _fail(limiter, "bob", f"198.51.100.{i}", 2) == [0, 0]
    assert limiter.acquire("bob", "198.51.100.0") == 60  # an address that failed for bob waits
    assert limiter.acquire("bob", "198.51.100.50") == 0  # a clean address may try once ...
    assert limiter.acquire("bob", "198.51.100.50") == 60  # ... then waits as well
    assert limiter.acquire("bob", "203.0.113.5") == 0  # bob at home still signs in
    limiter.succeeded("bob", "203.0.113.5")
    assert limiter.acquire("bob", "203.0.113.5") == 0  # his bucket started afresh


def test_success_gives_the_token_back() -> None:
    limiter = _limiter(FakeClock())
    for _ in range(20):
        assert limiter.acquire("carol", "10.1.1.1") == 0
        limiter.succeeded("carol", "10.1.1.1")
    assert _fail(limiter, "carol", "10.1.1.1", 5) == [0] * 5


def test_concurrent_attempts_are_counted_before_any_is_checked() -> None:
    limiter = LoginLimiter(burst=5, refill_seconds=3600, user_burst=100, user_refill_seconds=3600,
                           address_burst=100, address_refill_seconds=3600)
    barrier = threading.Barrier(50)

    def attempt(_: int) -> int:
        barrier.wait()
        return limiter.acquire("dave", "10.2.2.2")

    with ThreadPoolExecutor(50) as pool:
        answers = list(pool.map(attempt, range(50)))
    assert answers.count(0) == 5


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["u1", "u2", "U1"]), st.sampled_from(["a1", "a2", "a3"]),
                          st.floats(min_value=0, max_value=120), st.booleans()), min_size=1, max_size=80))
def test_failures_stay_within_every_allowance(attempts: list[tuple[str, str, float, bool]]) -> None:
    """Whatever the order: failures counted per (user name, address) <= burst + refills, per address likewise."""
    clock = FakeClock()
    limiter = _limiter(clock)
    pair_failures: Counter[tuple[str, str]] = Counter()
    address_failures: Counter[str] = Counter()
    address_successes: Counter[str] = Counter()
    for user, address, gap, right in attempts:
        clock.t += gap
        if limiter.acquire(user, address):
            continue
        if right:
            limiter.succeeded(user, address)
            pair_failures[(user.lower(), address)] = 0
            address_successes[address] += 1
        else:
            pair_failures[(user.lower(), address)] += 1
            address_failures[address] += 1
    for count in pair_failures.values():
        assert count <= 5 + int(clock.t // 60)
    for address, count in address_failures.items():
        assert count <= 12 + int(clock.t // 10) + address_successes[address]  # a success gives its token back


def _request(peer: str, forwarded: str | None = None) -> Request:
    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded is not None else []
    return Request({"type": "http", "method": "POST", "path": "/login", "headers": headers, "client": (peer, 5555)})


def test_forwarded_for_is_believed_only_from_a_trusted_proxy() -> None:
    proxies = ("10.0.0.0/8", "::1")
    assert client_address(_request("203.0.113.9", "1.2.3.4")) == "203.0.113.9"  # no proxy trusted: ignored
    assert client_address(_request("203.0.113.9", "1.2.3.4"), proxies) == "203.0.113.9"  # not from a proxy
    assert client_address(_request("10.0.0.2", "198.51.100.7"), proxies) == "198.51.100.7"
    # a client's own X-Forwarded-For is passed on before its real address: the nearest untrusted hop counts
    assert client_address(_request("10.0.0.2", "6.6.6.6, 198.51.100.7, 10.0.0.5"), proxies) == "198.51.100.7"
    assert client_address(_request("10.0.0.2", "junk, 198.51.100.7"), proxies) == "198.51.100.7"
    assert client_address(_request("10.0.0.2", "198.51.100.7, junk"), proxies) == "10.0.0.2"
    assert client_address(_request("10.0.0.2"), proxies) == "10.0.0.2"
    assert client_address(_request("::1", "2001:db8::7"), proxies) == "2001:db8::7"


def test_trusted_proxies_setting_is_checked() -> None:
    assert Settings(trusted_proxies=("10.0.0.1", " 192.168.0.0/16")).trusted_proxies == ("10.0.0.1/32",
                                                                                         "192.168.0.0/16")
    with pytest.raises(ValidationError, match="not-an-ip"):
        Settings(trusted_proxies=("not-an-ip",))
