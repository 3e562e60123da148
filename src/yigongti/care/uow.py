"""The unit of work of care (家庭医生与慢病工作单元): the care tables and the audit log over one transaction."""

from __future__ import annotations

from typing import Self

from yigongti.care.store import CareRepository
from yigongti.core.audit import AuditRepository
from yigongti.core.uow import UnitOfWork

__all__ = ["CareUnitOfWork"]


class CareUnitOfWork(UnitOfWork):
    """The repositories of care over one session and one transaction."""

    care: CareRepository
    audit: AuditRepository

    def __enter__(self) -> Self:
        super().__enter__()
        self.care = CareRepository(self.session)
        self.audit = AuditRepository(self.session)
        return self
