"""The unit of work of the shared centres: orders, persons and the audit log over one transaction
(``core.uow.UnitOfWork``); it rolls back unless ``commit()`` was called."""

from __future__ import annotations

from typing import Self

from yigongti.centres.store import OrderRepository
from yigongti.core.audit import AuditRepository
from yigongti.core.uow import UnitOfWork
from yigongti.enrollment.store import PersonRepository

__all__ = ["CentresUnitOfWork"]


class CentresUnitOfWork(UnitOfWork):
    orders: OrderRepository
    persons: PersonRepository
    audit: AuditRepository

    def __enter__(self) -> Self:
        super().__enter__()
        self.orders = OrderRepository(self.session)
        self.persons = PersonRepository(self.session)
        self.audit = AuditRepository(self.session)
        return self
