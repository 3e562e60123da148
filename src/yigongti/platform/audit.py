"""Audit of personal data (个人信息访问审计): one append-only row per person read or changed, via the store's
audit repository."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from yigongti.core.audit import AuditRepository
from yigongti.platform.accounts import Principal

__all__ = ["actor_of", "record"]


def actor_of(principal: Principal) -> str:
    return f"{principal.username} ({principal.role.value})"


def record(db: Session, principal: Principal, *, action: str, person_ids: Iterable[str], at: datetime,
           detail: Mapping[str, Any] | None = None) -> int:
    """Write who, what, when and which person (one row each); returns the number of rows written."""
    repo = AuditRepository(db)
    n = 0
    for pid in dict.fromkeys(person_ids):
        repo.add(actor=actor_of(principal), action=action[:64], at=at, person_id=pid, detail=detail)
        n += 1
    return n
