"""The unit of work of the workforce (人员工作单元): staff, stints, training, reviews and the audit log over one
transaction."""

from __future__ import annotations

from typing import Self

from yigongti.core.audit import AuditRepository
from yigongti.core.uow import UnitOfWork
from yigongti.workforce.store import WorkforceRepository

__all__ = ["WorkforceUnitOfWork"]


class WorkforceUnitOfWork(UnitOfWork):
    """The repositories of the workforce over one session and one transaction."""

    workforce: WorkforceRepository
    audit: AuditRepository

    def __enter__(self) -> Self:
        super().__enter__()
        self.workforce = WorkforceRepository(self.session)
        self.audit = AuditRepository(self.session)
        return self
