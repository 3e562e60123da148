"""What the worker processes share through the database: the sign-in limiter's buckets and the signing secret."""

from __future__ import annotations

from store_fixtures import TestDb, at_once, db  # noqa: F401

from yigongti.core.db import make_session_factory
from yigongti.platform.shared_state import SharedLoginLimiter, shared_secret

LIMITS = {"burst": 5, "refill_seconds": 60.0, "user_burst": 20, "user_refill_seconds": 60.0, "address_burst": 20,
          "address_refill_seconds": 6.0}


def test_two_limiters_on_one_database_count_together_even_at_once(db: TestDb) -> None:  # noqa: F811
    """Two limiters (two worker processes) and 12 attempts at the same moment: exactly the burst (5) goes ahead, the
    rest wait; a success gives the pair its allowance back for both."""
    engine = db.engine(pool_size=12)
    try:
        now = [1_000_000.0]
        a, b = (SharedLoginLimiter(make_session_factory(engine), clock=lambda: now[0], **LIMITS) for _ in range(2))
        waits = at_once([lambda n=n: (a if n % 2 else b).acquire("Alice", "10.0.0.1") for n in range(12)])
        assert not [w for w in waits if isinstance(w, BaseException)], waits
        assert sorted(waits)[:5] == [0] * 5 and all(w > 0 for w in sorted(waits)[5:])
        assert b.acquire("alice", "10.0.0.1") > 0  # case-blind, and still spent
        assert a.acquire("alice", "10.0.0.2") == 0  # another address has its own pair bucket
        a.succeeded("alice", "10.0.0.1")
        assert b.acquire("alice", "10.0.0.1") == 0
        now[0] += 60 * 5
        assert [a.acquire("bob", "10.0.0.1") for _ in range(5)] == [0] * 5
    finally:
        engine.dispose()


def test_the_first_secret_stored_is_everyone_s(db: TestDb) -> None:  # noqa: F811
    engine = db.engine()
    try:
        sessions = make_session_factory(engine)
        first = shared_secret(sessions, lambda: "k" * 48)
        assert first == "k" * 48
        assert shared_secret(sessions, lambda: "other" * 10) == first  # a second server signs with the same
    finally:
        engine.dispose()
