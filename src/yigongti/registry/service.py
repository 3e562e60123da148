"""The registry kept in memory (机构登记缓存): one read per process and per ``ttl_seconds``, not one per request.

Consortia and institutions change once a year (a data folder is loaded), while every choice checks against them; a
server thus keeps them here. A change reaches a running server within ``ttl_seconds``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from yigongti.core.uow import UnitOfWork
from yigongti.registry.domain import Registry
from yigongti.registry.store import RegistryRepository

__all__ = ["DEFAULT_TTL_SECONDS", "RegistryCache"]

DEFAULT_TTL_SECONDS = 60.0


class RegistryCache:
    """The whole registry, read through ``sessions`` on first use and again after ``ttl_seconds``; thread-safe."""

    def __init__(self, sessions: sessionmaker[Session], *, ttl_seconds: float = DEFAULT_TTL_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._sessions = sessions
        self._ttl = ttl_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._registry: Registry | None = None
        self._read_at = 0.0

    def get(self) -> Registry:
        registry = self._registry
        if registry is not None and self._clock() - self._read_at < self._ttl:
            return registry
        with self._lock:
            if self._registry is None or self._clock() - self._read_at >= self._ttl:
                # read-only: on SQLite it does not wait for a writer (a request may hold the write lock)
                with UnitOfWork(self._sessions, read_only=True) as uow:
                    self._registry = RegistryRepository(uow.session).get()
                self._read_at = self._clock()
            return self._registry
