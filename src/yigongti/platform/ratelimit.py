"""Login rate limiting (登录限流): an in-process token bucket per (username, client address)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

__all__ = ["TokenBucket"]


class TokenBucket:
    """``burst`` attempts at once, one more every ``refill_seconds``; only failures need to :meth:`take`."""

    def __init__(self, *, burst: int, refill_seconds: float, clock: Callable[[], float] = time.monotonic,
                 max_keys: int = 100_000) -> None:
        self._burst = float(burst)
        self._refill = refill_seconds
        self._clock = clock
        self._max_keys = max_keys
        self._state: dict[tuple[str, str], tuple[float, float]] = {}
        self._lock = threading.Lock()

    def _level(self, key: tuple[str, str], now: float) -> float:
        tokens, at = self._state.get(key, (self._burst, now))
        return min(self._burst, tokens + (now - at) / self._refill)

    def allowed(self, key: tuple[str, str]) -> bool:
        """Whether an attempt for ``key`` may go ahead now (at least one token left)."""
        with self._lock:
            return self._level(key, self._clock()) >= 1.0

    def take(self, key: tuple[str, str]) -> None:
        """Spend a token (a failed attempt)."""
        with self._lock:
            now = self._clock()
            if len(self._state) >= self._max_keys:
                self._state.clear()
            self._state[key] = (max(0.0, self._level(key, now) - 1.0), now)

    def retry_after(self, key: tuple[str, str]) -> int:
        """Seconds until the next attempt is allowed."""
        with self._lock:
            missing = 1.0 - self._level(key, self._clock())
        return max(0, int(missing * self._refill + 0.999))

    def reset(self, key: tuple[str, str]) -> None:
        with self._lock:
            self._state.pop(key, None)
