"""The unit of work of public health (公共卫生工作单元): report cards, persons and the audit log over one transaction
(``core.uow.UnitOfWork``); it rolls back unless ``commit()`` was called."""

from __future__ import annotations

from typing import Self

from yigongti.core.audit import AuditRepository
from yigongti.core.uow import UnitOfWork
from yigongti.enrollment.store import PersonRepository
from yigongti.public_health.store import CardsRepository, ReadinessRepository

__all__ = ["PublicHealthUnitOfWork"]


class PublicHealthUnitOfWork(UnitOfWork):
    """The repositories of public health over one session and one transaction."""

    cards: CardsRepository
    persons: PersonRepository
    audit: AuditRepository
    readiness: ReadinessRepository

    def __enter__(self) -> Self:
        super().__enter__()
        self.cards = CardsRepository(self.session)
        self.persons = PersonRepository(self.session)
        self.audit = AuditRepository(self.session)
        self.readiness = ReadinessRepository(self.session)
        return self
