"""Login rate limiting (登录限流): in-process token buckets, per (user name, address), per user name and per address.

The policy of :class:`LoginLimiter` (each bucket: ``burst`` failures at once, one more every ``refill`` seconds):

- per user name and client address (``login_burst``, default 5, then one a minute): the sixth wrong password for
  a user name from one address waits;
- per client address, whatever the user name (``login_address_burst``, default 20, then one every 6 s): guessing
  many user names, known or not, from one address waits too;
- per user name, from every address together (``login_user_burst``, default 20, then one a minute): once spent,
  the user name is not locked, it is slowed down: only an address without a failure for it still counted (its
  own bucket full) may try, once; so guessing from many addresses gets one try per address and minute, while the
  user signing in from their own address still gets in.

Every attempt is counted before the password is checked, in one step under a lock (:meth:`LoginLimiter.acquire`):
concurrent attempts cannot all pass one check before any of them is counted. A successful sign-in gives its token
back (and clears its (user name, address) bucket). This class keeps the buckets in its process; the web app uses
``platform.shared_state.SharedLoginLimiter``, the same policy with the buckets in the database (shared by workers).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

__all__ = ["LoginLimiter", "TokenBucket"]

ANY = "*"  # the key part standing for "every user name" or "every address"


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

    @property
    def burst(self) -> float:
        return self._burst

    def _level(self, key: tuple[str, str], now: float) -> float:
        tokens, at = self._state.get(key, (self._burst, now))
        return min(self._burst, tokens + (now - at) / self._refill)

    def _set(self, key: tuple[str, str], tokens: float, now: float) -> None:
        if tokens >= self._burst:
            self._state.pop(key, None)
            return
        if key not in self._state and len(self._state) >= self._max_keys:
            self._state.clear()
        self._state[key] = (max(0.0, tokens), now)

    def _wait(self, level: float, target: float = 1.0) -> float:
        """Seconds until a bucket at ``level`` holds ``target`` tokens."""
        return max(0.0, (target - level) * self._refill)

    def allowed(self, key: tuple[str, str]) -> bool:
        """Whether an attempt for ``key`` may go ahead now (at least one token left)."""
        with self._lock:
            return self._level(key, self._clock()) >= 1.0

    def take(self, key: tuple[str, str]) -> None:
        """Spend a token (a failed attempt)."""
        with self._lock:
            now = self._clock()
            self._set(key, self._level(key, now) - 1.0, now)

    def try_take(self, key: tuple[str, str]) -> int:
        """Spend a token if there is one, in one step: 0, else the seconds until there is one."""
        with self._lock:
            now = self._clock()
            level = self._level(key, now)
            if level < 1.0:
                return max(1, math.ceil(self._wait(level)))
            self._set(key, level - 1.0, now)
            return 0

    def retry_after(self, key: tuple[str, str]) -> int:
        """Seconds until the next attempt is allowed."""
        with self._lock:
            missing = 1.0 - self._level(key, self._clock())
        return max(0, int(missing * self._refill + 0.999))

    def reset(self, key: tuple[str, str]) -> None:
        with self._lock:
            self._state.pop(key, None)


class LoginLimiter:
    """The three buckets of sign-in attempts (see the module docstring); user names are compared case-blind."""

    def __init__(self, *, burst: int, refill_seconds: float, user_burst: int, user_refill_seconds: float,
                 address_burst: int, address_refill_seconds: float,
                 clock: Callable[[], float] = time.monotonic, max_keys: int = 100_000) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self.pair = TokenBucket(burst=burst, refill_seconds=refill_seconds, clock=clock, max_keys=max_keys)
        self.user = TokenBucket(burst=user_burst, refill_seconds=user_refill_seconds, clock=clock,
                                max_keys=max_keys)
        self.address = TokenBucket(burst=address_burst, refill_seconds=address_refill_seconds, clock=clock,
                                   max_keys=max_keys)

    @staticmethod
    def _keys(username: str, address: str) -> tuple[tuple[str, str], tuple[str, str], tuple[str, str]]:
        name = username.strip().lower()
        return (name, address), (name, ANY), (ANY, address)

    def acquire(self, username: str, address: str) -> int:
        """Count an attempt before it is checked: 0 when it may go ahead (counted as a failure until
        :meth:`succeeded`), else the seconds to wait (nothing counted)."""
        pair_key, user_key, address_key = self._keys(username, address)
        with self._lock:
            now = self._clock()
            pair = self.pair._level(pair_key, now)
            user = self.user._level(user_key, now)
            address_level = self.address._level(address_key, now)
            waits = []
            if address_level < 1.0:
                waits.append(self.address._wait(address_level))
            if pair < 1.0:
                waits.append(self.pair._wait(pair))
            if user < 1.0 and pair < self.pair.burst:  # the user name is spent: only a clean address may try
                waits.append(min(self.user._wait(user), self.pair._wait(pair, self.pair.burst)))
            if waits:
                return max(1, math.ceil(max(waits)))
            self.pair._set(pair_key, pair - 1.0, now)
            self.user._set(user_key, user - 1.0, now)
            self.address._set(address_key, address_level - 1.0, now)
            return 0

    def succeeded(self, username: str, address: str) -> None:
        """The attempt was right: its (user name, address) bucket starts afresh, the others get their token back."""
        pair_key, user_key, address_key = self._keys(username, address)
        with self._lock:
            now = self._clock()
            self.pair._set(pair_key, self.pair.burst, now)
            self.user._set(user_key, self.user._level(user_key, now) + 1.0, now)
            self.address._set(address_key, self.address._level(address_key, now) + 1.0, now)
