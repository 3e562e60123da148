"""Bearer tokens checked recently (令牌缓存), so that a client posting many requests is looked up once.

Each worker process keeps its own: a token found valid is trusted for ``ttl_seconds`` at most (and never past its
expiry); revoking it through this process (``DELETE /api/token``) forgets it here at once, other worker processes
forget it within ``ttl_seconds``. Invalid tokens are not kept. ``ttl_seconds = 0`` turns the cache off.

Each entry is kept for a random part of ``ttl_seconds``, between ``(1 - spread)`` and all of it: tokens first seen
together (every client at the opening of the switch window) then expire at different moments, not all at once,
which under load made every client's token be looked up again in the same second, every ``ttl_seconds``.
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
from collections.abc import Callable
from datetime import datetime

from yigongti.platform.accounts import Principal

__all__ = ["TokenCache"]


class TokenCache:
    """token -> (principal, token expiry), each entry kept at most ``ttl_seconds`` (at least ``(1 - spread)`` of it);
    at most ``max_entries``."""

    def __init__(self, *, ttl_seconds: float, max_entries: int = 100_000, spread: float = 0.5,
                 clock: Callable[[], float] = time.monotonic, rng: Callable[[], float] = random.random) -> None:
        if not 0 <= spread <= 1:
            raise ValueError(f"spread must be between 0 and 1, not {spread}")
        self.ttl_seconds = ttl_seconds
        self.max_entries = max_entries
        self.spread = spread
        self._clock = clock
        self._rng = rng
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[Principal, datetime, float]] = {}

    @staticmethod
    def _key(token: str) -> str:
        return hashlib.sha256(token.encode("utf-8")).hexdigest()  # no raw token kept in memory

    def get(self, token: str, *, now: datetime) -> Principal | None:
        """The principal of a token found valid less than ``ttl_seconds`` ago and not expired at ``now``."""
        if self.ttl_seconds <= 0:
            return None
        key = self._key(token)
        entry = self._entries.get(key)
        if entry is None:
            return None
        principal, expires_at, kept_until = entry
        if expires_at <= now or self._clock() >= kept_until:
            with self._lock:
                self._entries.pop(key, None)
            return None
        return principal

    def put(self, token: str, principal: Principal, *, expires_at: datetime) -> None:
        if self.ttl_seconds <= 0:
            return
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()  # rare: start over rather than track ages
            kept = self.ttl_seconds * (1 - self.spread * self._rng())
            self._entries[self._key(token)] = (principal, expires_at, self._clock() + kept)

    def forget(self, token: str) -> None:
        with self._lock:
            self._entries.pop(self._key(token), None)
