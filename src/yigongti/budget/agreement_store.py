"""The budget agreements' table (年度总额预算协议): one append-only row per version of a consortium-year's agreement.

Rows are never updated or deleted: the history is the record of who proposed, adjusted, commented, accepted and
signed what, and when. ``(consortium_id, year, version)`` is unique, so two people acting on the same version at
once cannot both append (the second gets a conflict). Money in integer fen; the factors as exact decimal text.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from yigongti.budget.agreement import Action, AgreementVersion, Status
from yigongti.core.db import ID_LENGTH as _ID
from yigongti.core.db import Base

__all__ = ["AgreementRepository", "BudgetAgreementRow"]


class BudgetAgreementRow(Base):
    """年度总额预算协议版本 / one version of a consortium's yearly budget agreement (append-only)."""

    __tablename__ = "budget_agreements"
    __table_args__ = (UniqueConstraint("consortium_id", "year", "version", name="uq_budget_agreements_version"),)

    row_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    consortium_id: Mapped[str] = mapped_column(String(_ID), ForeignKey("consortia.consortium_id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    formula_amount: Mapped[int] = mapped_column(BigInteger)
    capacity: Mapped[str] = mapped_column(String(32))
    volume: Mapped[str] = mapped_column(String(32))
    tcm_uplift: Mapped[str] = mapped_column(String(32))
    amount: Mapped[int] = mapped_column(BigInteger)
    actor: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(DateTime)
    note: Mapped[str] = mapped_column(Text, default="")


def _version(r: BudgetAgreementRow) -> AgreementVersion:
    return AgreementVersion(r.consortium_id, r.year, r.version, Action(r.action), Status(r.status), r.formula_amount,
                            Decimal(r.capacity), Decimal(r.volume), Decimal(r.tcm_uplift), r.amount, r.actor, r.role,
                            r.at, r.note or "")


class AgreementRepository:
    """Append and read agreement versions; the domain sees :class:`AgreementVersion` only."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def history(self, consortium_id: str, year: int) -> list[AgreementVersion]:
        rows = self.session.scalars(select(BudgetAgreementRow).where(
            BudgetAgreementRow.consortium_id == consortium_id, BudgetAgreementRow.year == year)
            .order_by(BudgetAgreementRow.version))
        return [_version(r) for r in rows]

    def of_year(self, year: int) -> dict[str, list[AgreementVersion]]:
        """Every consortium's history for ``year``."""
        out: dict[str, list[AgreementVersion]] = {}
        rows = self.session.scalars(select(BudgetAgreementRow).where(BudgetAgreementRow.year == year)
                                    .order_by(BudgetAgreementRow.consortium_id, BudgetAgreementRow.version))
        for r in rows:
            out.setdefault(r.consortium_id, []).append(_version(r))
        return out

    def append(self, v: AgreementVersion) -> None:
        self.session.add(BudgetAgreementRow(
            consortium_id=v.consortium_id, year=v.year, version=v.version, action=v.action.value,
            status=v.status.value, formula_amount=v.formula_amount, capacity=str(v.capacity), volume=str(v.volume),
            tcm_uplift=str(v.tcm_uplift), amount=v.amount, actor=v.actor, role=v.role, at=v.at, note=v.note))
        self.session.flush()
