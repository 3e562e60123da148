"""The registry's use cases (机构登记): the registry kept in memory, and the read models of the pages and the API.

Consortia and institutions change once a year (a data folder is loaded), while every choice checks against them; a
server thus keeps them in :class:`RegistryCache`, read once per process and per ``ttl_seconds`` (a change reaches a
running server within that time). The pages and the API read the tables through the functions below, on the
request's session: they never query the tables themselves.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from yigongti.core.uow import UnitOfWork
from yigongti.registry.domain import Registry, Tier
from yigongti.registry.store import ConsortiumRow, InstitutionRow, RegistryRepository

__all__ = [
    "DEFAULT_TTL_SECONDS",
    "RegistryCache",
    "consortia",
    "consortium",
    "count_institutions",
    "institution",
    "institution_names",
    "institutions",
    "mapped_institutions",
    "member_ids",
    "names_of",
]

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


def consortia(db: Session) -> list[ConsortiumRow]:
    """Every consortium (医共体), by id."""
    return list(db.scalars(select(ConsortiumRow).order_by(ConsortiumRow.consortium_id)))


def institutions(db: Session, *, consortium_id: str | None = None, tier: str | None = None) -> list[InstitutionRow]:
    """The institutions (医疗机构) by id; only ``consortium_id``'s members and only ``tier``'s when given."""
    stmt = select(InstitutionRow).order_by(InstitutionRow.inst_id)
    if consortium_id is not None:
        stmt = stmt.where(InstitutionRow.consortium_id == consortium_id)
    if tier is not None:
        stmt = stmt.where(InstitutionRow.tier == tier)
    return list(db.scalars(stmt))


def mapped_institutions(db: Session) -> list[InstitutionRow]:
    """The consortia's institutions (every tier but the hospitals outside), as the table holds them (the map)."""
    return list(db.scalars(select(InstitutionRow).where(InstitutionRow.tier != Tier.OUTSIDE)))


def count_institutions(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(InstitutionRow)) or 0


def institution(db: Session, inst_id: str) -> InstitutionRow | None:
    return db.get(InstitutionRow, inst_id)


def consortium(db: Session, consortium_id: str) -> ConsortiumRow | None:
    return db.get(ConsortiumRow, consortium_id)


def member_ids(db: Session, consortium_ids: Iterable[str]) -> set[str]:
    """The ids of the institutions of ``consortium_ids``."""
    ids = list(consortium_ids)
    return set(db.scalars(select(InstitutionRow.inst_id).where(InstitutionRow.consortium_id.in_(ids))))


def institution_names(db: Session) -> dict[str, str]:
    """Every institution's name by its id."""
    return {inst_id: name for inst_id, name in db.execute(select(InstitutionRow.inst_id, InstitutionRow.name))}


def names_of(db: Session, *, inst_ids: Iterable[str], consortium_ids: Iterable[str]) -> dict[str, str]:
    """The names of the named institutions and consortia by id (unknown ids left out; a consortium's name wins
    over an institution's of the same id)."""
    names = {r.inst_id: r.name for r in db.scalars(
        select(InstitutionRow).where(InstitutionRow.inst_id.in_(list(inst_ids))))}
    names.update({r.consortium_id: r.name for r in db.scalars(
        select(ConsortiumRow).where(ConsortiumRow.consortium_id.in_(list(consortium_ids))))})
    return names
