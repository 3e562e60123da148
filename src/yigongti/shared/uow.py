"""The unit of work of the shared health record: one session over the tables of every member's services (referrals,
care, centres), the registry and the audit log (``core.uow.UnitOfWork``)."""

from __future__ import annotations

from typing import Self

from yigongti.core.audit import AuditRepository
from yigongti.core.uow import UnitOfWork
from yigongti.registry.store import RegistryRepository

__all__ = ["RecordUnitOfWork"]


class RecordUnitOfWork(UnitOfWork):
    registry: RegistryRepository
    audit: AuditRepository

    def __enter__(self) -> Self:
        super().__enter__()
        self.registry = RegistryRepository(self.session)
        self.audit = AuditRepository(self.session)
        return self
