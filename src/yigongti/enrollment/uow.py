"""The unit of work of designated care (定点诊疗工作单元): the registry, persons, choices, designations and the audit
log over one transaction (``core.uow.UnitOfWork``); it rolls back unless ``commit()`` was called.

    uow = SqlAlchemyUnitOfWork(url)            # or an Engine, or a session factory
    with uow:
        person = uow.persons.get("P1")
        ...
        uow.commit()
"""

from __future__ import annotations

from typing import Self

from yigongti.core.audit import AuditRepository
from yigongti.core.uow import RETRYABLE_SQLSTATES, UnitOfWork, is_retryable
from yigongti.enrollment.store import ChoiceRepository, DesignationRepository, PersonRepository
from yigongti.registry.store import RegistryRepository

__all__ = ["RETRYABLE_SQLSTATES", "SqlAlchemyUnitOfWork", "is_retryable"]


class SqlAlchemyUnitOfWork(UnitOfWork):
    """The repositories of designated care over one session and one transaction."""

    registry: RegistryRepository
    persons: PersonRepository
    choices: ChoiceRepository
    designations: DesignationRepository
    audit: AuditRepository

    def __enter__(self) -> Self:
        super().__enter__()
        self.registry = RegistryRepository(self.session)
        self.persons = PersonRepository(self.session)
        self.choices = ChoiceRepository(self.session)
        self.designations = DesignationRepository(self.session)
        self.audit = AuditRepository(self.session)
        return self
