"""The PostgreSQL pool tests a connection idle for a while before use, and replaces a dead one (``core.db``)."""

from __future__ import annotations

import pytest
from sqlalchemy import event, text
from store_fixtures import PG_URL, pg_unreachable

from yigongti.core.db import make_engine

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module", autouse=True)
def _needs_postgres() -> None:
    reason = pg_unreachable()
    if reason:
        pytest.skip(reason)


def _backend_pid(engine: object) -> int:
    with engine.connect() as conn:  # type: ignore[attr-defined]
        return int(conn.execute(text("select pg_backend_pid()")).scalar_one())


def test_a_connection_killed_while_idle_is_replaced() -> None:
    engine = make_engine(PG_URL, pool_size=1, ping_after_idle=0.0)  # every checkout counts as after idle
    admin = make_engine(PG_URL)
    try:
        first = _backend_pid(engine)
        with admin.begin() as conn:
            conn.execute(text("select pg_terminate_backend(:pid)"), {"pid": first})
        second = _backend_pid(engine)  # would raise without the test on checkout
        assert second != first
    finally:
        engine.dispose()
        admin.dispose()


def test_a_busy_connection_is_not_pinged() -> None:
    engine = make_engine(PG_URL, pool_size=1, ping_after_idle=3600.0)
    statements: list[str] = []
    try:
        first = _backend_pid(engine)
        @event.listens_for(engine, "before_cursor_execute")
        def _count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
            statements.append(statement)

        assert _backend_pid(engine) == first  # the same pooled connection, one statement, no ping
        assert statements == ["select pg_backend_pid()"]
    finally:
        engine.dispose()
