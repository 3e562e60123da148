"""The unit of work of referral (转诊工作单元): slots, referrals, the registry, persons and the audit log over one
transaction (``core.uow.UnitOfWork``); it rolls back unless ``commit()`` was called."""

from __future__ import annotations

from typing import Self

from yigongti.core.audit import AuditRepository
from yigongti.core.uow import UnitOfWork
from yigongti.enrollment.store import PersonRepository
from yigongti.referral.store import ReferralRepository, SlotRepository
from yigongti.registry.store import RegistryRepository

__all__ = ["ReferralUnitOfWork"]


class ReferralUnitOfWork(UnitOfWork):
    """The repositories of referral over one session and one transaction."""

    slots: SlotRepository
    referrals: ReferralRepository
    registry: RegistryRepository
    persons: PersonRepository
    audit: AuditRepository

    def __enter__(self) -> Self:
        super().__enter__()
        self.slots = SlotRepository(self.session)
        self.referrals = ReferralRepository(self.session)
        self.registry = RegistryRepository(self.session)
        self.persons = PersonRepository(self.session)
        self.audit = AuditRepository(self.session)
        return self
