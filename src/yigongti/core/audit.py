"""The audit log of personal data (个人信息访问审计日志): one append-only row per person read or changed."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    DateTime,
    Index,
    Integer,
    String,
    Table,
    Text,
    insert,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from yigongti.core.db import ID_LENGTH as _ID
from yigongti.core.db import Base

__all__ = ["AuditRepository", "AuditRow", "audit_detail"]


class AuditRow(Base):
    """审计日志 / append-only audit log: who did what, when, to which person."""

    __tablename__ = "audit_log"
    __table_args__ = (Index(None, "person_id", "at"),)

    audit_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime, index=True)
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64))
    person_id: Mapped[str | None] = mapped_column(String(_ID))
    detail: Mapped[str | None] = mapped_column(Text)


_INSERT_AUDIT = insert(cast(Table, AuditRow.__table__))


class AuditRepository:
    """The audit log (审计日志): who did what, when, to which person. Append-only."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, *, actor: str, action: str, at: datetime, person_id: str | None = None,
            detail: Mapping[str, Any] | None = None) -> None:
        """Append an entry; ``detail`` is stored as JSON (never put an unmasked ID number in it)."""
        self.session.add(AuditRow(at=at, actor=actor, action=action, person_id=person_id,
                                  detail=audit_detail(detail)))

    def insert(self, *, actor: str, action: str, at: datetime, person_id: str | None = None,
               detail: Mapping[str, Any] | None = None) -> None:
        """:meth:`add`, written at once by one Core statement (no ORM object to flush)."""
        self.session.execute(_INSERT_AUDIT, {"at": at, "actor": actor, "action": action, "person_id": person_id,
                                             "detail": audit_detail(detail)})

    def for_person(self, person_id: str) -> list[AuditRow]:
        return list(self.session.scalars(select(AuditRow).where(AuditRow.person_id == person_id)
                                          .order_by(AuditRow.at, AuditRow.audit_id)))


def audit_detail(detail: Mapping[str, Any] | None) -> str | None:
    """The stored text of an entry's ``detail``: JSON, keys sorted, non-ASCII as is."""
    return json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str) if detail is not None else None


