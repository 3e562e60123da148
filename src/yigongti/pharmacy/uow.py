"""The unit of work of the pharmacy (药品工作单元): drugs, stock, shortages and the audit log over one transaction."""

from __future__ import annotations

from typing import Self

from yigongti.core.audit import AuditRepository
from yigongti.core.uow import UnitOfWork
from yigongti.pharmacy.store import PharmacyRepository

__all__ = ["PharmacyUnitOfWork"]


class PharmacyUnitOfWork(UnitOfWork):
    """The repositories of the pharmacy over one session and one transaction."""

    pharmacy: PharmacyRepository
    audit: AuditRepository

    def __enter__(self) -> Self:
        super().__enter__()
        self.pharmacy = PharmacyRepository(self.session)
        self.audit = AuditRepository(self.session)
        return self
