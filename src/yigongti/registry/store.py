"""The registry's tables (机构登记表) and repository: consortia and institutions.

The domain never sees the row classes: :class:`RegistryRepository` returns the domain's :class:`Registry`.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import (
    CheckConstraint,
    Float,
    ForeignKey,
    Integer,
    String,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from yigongti.core.bulk import count_rows as _count
from yigongti.core.db import ID_LENGTH as _ID
from yigongti.core.db import Base
from yigongti.registry.domain import Consortium, Institution, Registry, Tier

__all__ = ["ConsortiumRow", "InstitutionRow", "RegistryRepository"]


class ConsortiumRow(Base):
    """医共体 / a county medical community. ``lead_inst_id`` is checked by the registry rules, not by a foreign key
    (consortia and institutions refer to each other)."""

    __tablename__ = "consortia"

    consortium_id: Mapped[str] = mapped_column(String(_ID), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    county_code: Mapped[str] = mapped_column(String(6), index=True)
    lead_inst_id: Mapped[str] = mapped_column(String(_ID))


class InstitutionRow(Base):
    """医疗机构 / an institution: a consortium member (county, township, village tier) or an outside hospital."""

    __tablename__ = "institutions"
    __table_args__ = (
        CheckConstraint("tier IN ('county', 'township', 'village', 'outside')", name="tier"),
        CheckConstraint("level BETWEEN 0 AND 3", name="level"),
    )

    inst_id: Mapped[str] = mapped_column(String(_ID), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    tier: Mapped[str] = mapped_column(String(16))
    level: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32))
    consortium_id: Mapped[str | None] = mapped_column(
        String(_ID), ForeignKey("consortia.consortium_id"), index=True)
    parent_id: Mapped[str | None] = mapped_column(String(_ID), index=True)
    county_code: Mapped[str] = mapped_column(String(6), index=True)
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)


def _institution(row: InstitutionRow) -> Institution:
    return Institution(row.inst_id, row.name, Tier(row.tier), row.level, row.kind, row.consortium_id, row.parent_id,
                       row.county_code, row.lon, row.lat)


def _consortium(row: ConsortiumRow) -> Consortium:
    return Consortium(row.consortium_id, row.name, row.county_code, row.lead_inst_id)


class RegistryRepository:
    """The registry (机构登记): consortia and institutions."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self) -> Registry:
        """The whole registry."""
        insts = self.session.scalars(select(InstitutionRow).order_by(InstitutionRow.inst_id))
        cons = self.session.scalars(select(ConsortiumRow).order_by(ConsortiumRow.consortium_id))
        return Registry.of((_institution(r) for r in insts), (_consortium(r) for r in cons))

    def subset(self, *, consortium_ids: Iterable[str], inst_ids: Iterable[str]) -> Registry:
        """The named consortia and institutions only (what checking one choice needs); unknown ids are left out."""
        c_ids = sorted({c for c in consortium_ids if c})
        i_ids = sorted({i for i in inst_ids if i})
        insts: list[InstitutionRow] = list(self.session.scalars(
            select(InstitutionRow).where(InstitutionRow.inst_id.in_(i_ids)))) if i_ids else []
        cons: list[ConsortiumRow] = list(self.session.scalars(
            select(ConsortiumRow).where(ConsortiumRow.consortium_id.in_(c_ids)))) if c_ids else []
        return Registry.of((_institution(r) for r in insts), (_consortium(r) for r in cons))

    def counts(self) -> dict[str, int]:
        return {"consortia": _count(self.session, ConsortiumRow), "institutions": _count(self.session, InstitutionRow)}


