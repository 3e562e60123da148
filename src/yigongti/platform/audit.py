"""Audit of personal data (个人信息访问审计): one append-only row per person read or changed, via the store's
audit repository."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from yigongti.core.audit import AuditRepository
from yigongti.core.labels import label
from yigongti.platform.accounts import Principal

__all__ = ["actor_label", "actor_of", "record"]

_ACTOR = re.compile(r"(.*) \((\w+)\)")


def actor_of(principal: Principal) -> str:
    """Who did it, as stored: ``"name (role)"`` (:func:`actor_label` shows it)."""
    return f"{principal.username} ({principal.role.value})"


def actor_label(actor: str, lang: str = "zh") -> str:
    """A stored :func:`actor_of` as a page shows it: ``"name · 卫健局"`` (the role's label, not its code); any other
    text as it is."""
    m = _ACTOR.fullmatch(actor)
    return f"{m.group(1)} · {label('role', m.group(2), lang)}" if m else actor


def record(db: Session, principal: Principal, *, action: str, person_ids: Iterable[str], at: datetime,
           detail: Mapping[str, Any] | None = None) -> int:
    """Write who, what, when and which person (one row each); returns the number of rows written."""
    repo = AuditRepository(db)
    n = 0
    for pid in dict.fromkeys(person_ids):
        repo.add(actor=actor_of(principal), action=action[:64], at=at, person_id=pid, detail=detail)
        n += 1
    return n
