"""What the worker processes of the web platform share through the database (共享状态), so that any worker, on any
machine, can answer any request (``serve --workers N``, or several servers on one database):

- the sign-in limiter's buckets (:class:`SharedLoginLimiter`, table ``login_buckets``): the sixth wrong password
  waits whichever worker it reaches, instead of each worker counting its own five;
- the session-signing secret (:func:`shared_secret`, table ``app_secrets``): a session cookie or CSRF token signed
  by one worker is valid at every other; the first server to start stores its secret (``data_dir/secret.key``,
  generated when missing) and every server then signs with the stored one.

Caches kept in each process are validated against the database instead (``core.stamps``, the signed agreements of
the figures, the counts of the care duty lists); see docs/en/capacity.md for the list of every per-process state.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Float, String, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from yigongti.core.db import Base
from yigongti.platform.ratelimit import LoginLimiter, TokenBucket

__all__ = ["LoginBucketRow", "SecretRow", "SharedLoginLimiter", "shared_secret"]

SESSION_SECRET = "session"
_FORGET_AFTER = 86_400.0  # seconds: a bucket untouched this long is full again under every allowed setting


class LoginBucketRow(Base):
    """登录限流 / one token bucket of the sign-in limiter: (bucket kind, user name or '*', address or '*')."""

    __tablename__ = "login_buckets"

    bucket: Mapped[str] = mapped_column(String(8), primary_key=True)
    name: Mapped[str] = mapped_column(String(256), primary_key=True)
    address: Mapped[str] = mapped_column(String(64), primary_key=True)
    tokens: Mapped[float] = mapped_column(Float)  # attempts left (a count, not money)
    at: Mapped[float] = mapped_column(Float)  # Unix time of the level


class SecretRow(Base):
    """应用密钥 / a secret every worker process must share (the session-signing key)."""

    __tablename__ = "app_secrets"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[str] = mapped_column(String(256))


def _insert(session: Session) -> Any:
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def shared_secret(sessions: sessionmaker[Session], fallback: Callable[[], str], *, name: str = SESSION_SECRET) -> str:
    """The secret ``name`` from the database; the first caller stores ``fallback()`` (an existing key file's, so
    sessions signed before the upgrade stay valid), concurrent first callers agree on one."""
    with sessions.begin() as s:
        value = s.scalar(select(SecretRow.value).where(SecretRow.name == name))
        if value:
            return value
        s.execute(_insert(s)(SecretRow).values(name=name, value=fallback()).on_conflict_do_nothing())
        stored = s.scalar(select(SecretRow.value).where(SecretRow.name == name))
        assert stored is not None
        return stored


class SharedLoginLimiter(LoginLimiter):
    """:class:`LoginLimiter`'s policy with its buckets in the database: each attempt is counted in one transaction
    that locks its three bucket rows (in a fixed order: no deadlock), so concurrent attempts through different
    worker processes are counted one after another as they are within one process. The clock is Unix time
    (shared by the processes), not each process's monotonic clock."""

    def __init__(self, sessions: sessionmaker[Session], *, burst: int, refill_seconds: float, user_burst: int,
                 user_refill_seconds: float, address_burst: int, address_refill_seconds: float,
                 clock: Callable[[], float] = time.time) -> None:
        super().__init__(burst=burst, refill_seconds=refill_seconds, user_burst=user_burst,
                         user_refill_seconds=user_refill_seconds, address_burst=address_burst,
                         address_refill_seconds=address_refill_seconds, clock=clock)
        self._sessions = sessions
        self._params = {"burst": burst, "refill_seconds": refill_seconds, "user_burst": user_burst,
                        "user_refill_seconds": user_refill_seconds, "address_burst": address_burst,
                        "address_refill_seconds": address_refill_seconds}

    def _shared(self, username: str, address: str, step: Callable[[LoginLimiter], int | None]) -> int | None:
        """Run ``step`` on a limiter holding the database's levels of the three buckets, and store them back."""
        now = self._clock()
        local = LoginLimiter(**self._params, clock=lambda: now)  # type: ignore[arg-type]
        pair_key, user_key, address_key = self._keys(username, address)
        keys: list[tuple[str, TokenBucket, tuple[str, str]]] = [
            ("address", local.address, address_key), ("pair", local.pair, pair_key), ("user", local.user, user_key)]
        with self._sessions.begin() as s:
            insert = _insert(s)
            for kind, bucket, (name, addr) in keys:  # the rows to lock exist (a full bucket when new)
                s.execute(insert(LoginBucketRow).values(bucket=kind, name=name[:256], address=addr[:64],
                                                        tokens=bucket.burst, at=now).on_conflict_do_nothing())
            t = LoginBucketRow
            for kind, bucket, (name, addr) in keys:
                row = s.execute(select(t.tokens, t.at).where(t.bucket == kind, t.name == name[:256],
                                                             t.address == addr[:64]).with_for_update()).one()
                bucket._state[(name, addr)] = (row.tokens, row.at)
            result = step(local)
            for kind, bucket, (name, addr) in keys:
                tokens, at = bucket._state.get((name, addr), (bucket.burst, now))
                s.execute(update(t).where(t.bucket == kind, t.name == name[:256], t.address == addr[:64])
                          .values(tokens=tokens, at=at).execution_options(synchronize_session=False))
            if random.random() < 0.01:  # noqa: S311 - housekeeping, not security
                s.execute(delete(t).where(t.at < now - _FORGET_AFTER))
        return result

    def acquire(self, username: str, address: str) -> int:
        wait = self._shared(username, address, lambda local: local.acquire(username, address))
        return wait or 0

    def succeeded(self, username: str, address: str) -> None:
        self._shared(username, address, lambda local: local.succeeded(username, address))


