"""The registry kept per process: read once, again after its time-to-live; readable while a request holds SQLite's
write lock (the choice route checks a choice inside the request's transaction)."""

from __future__ import annotations

from store_fixtures import TestDb, db  # noqa: F401

from yigongti.core.db import make_session_factory
from yigongti.registry.service import RegistryCache
from yigongti.registry.store import ConsortiumRow


class FakeClock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_read_once_then_again_after_the_ttl(db: TestDb) -> None:  # noqa: F811
    engine = db.engine()
    sessions = make_session_factory(engine)
    clock = FakeClock()
    cache = RegistryCache(sessions, ttl_seconds=60, clock=clock)
    try:
        assert cache.get().consortia == {}
        with sessions.begin() as s:  # holds the write lock on SQLite until the block ends
            s.add(ConsortiumRow(consortium_id="G1", name="一号", county_code="999999", lead_inst_id="C1"))
            s.flush()
            clock.t = 59.0
            assert cache.get().consortia == {}  # kept
            clock.t = 61.0
            assert cache.get().consortia == {}  # read again, without waiting: the change is not committed yet
        clock.t = 122.0
        assert set(cache.get().consortia) == {"G1"}
    finally:
        engine.dispose()
