"""``/api/budget-agreements``: the yearly budget agreement (年度总额预算协议) between the insurance bureau and a
consortium. The bureau (insurance_bureau) proposes, adjusts and signs; the consortium (consortium_admin) views,
comments and accepts; the health commission views. Each sees only the consortia of its scope (404 for another's);
an action the role may not take is 403, one the agreement's state does not allow 409, a bad figure 422.

Amounts are yuan text with 2 decimals (``"57150.00"``); the factors exact decimal text (``"1.05"``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, status
from pydantic import BaseModel, ConfigDict, Field

from yigongti.budget.agreement import Action, AgreementVersion
from yigongti.budget.agreement_service import act_on_text, agreement_history, agreements_of_year
from yigongti.budget.analytics import formula_budget
from yigongti.core.money import format_yuan
from yigongti.platform.deps import ContextDep, CurrentPrincipal, DbSession, run_use_case

__all__ = ["AgreementActionIn", "AgreementVersionOut", "router", "version_out"]

router = APIRouter(prefix="/api/budget-agreements", tags=["budget 预算协议"])

ConsortiumPath = Annotated[str, Path(min_length=1, max_length=64)]
YearPath = Annotated[int, Path(ge=1900, le=2200)]


class AgreementVersionOut(BaseModel):
    """One version of an agreement (协议版本): what was done, by whom, when, and the figures after it."""

    consortium_id: str
    year: int
    version: int
    action: str
    status: str
    formula_amount: str
    capacity: str
    volume: str
    tcm_uplift: str
    amount: str
    actor: str
    role: str
    at: datetime
    note: str


class AgreementActionIn(BaseModel):
    """提出/调整/意见/接受/签订 / the figures of an action: factors (proposal, adjustment), a negotiated amount in
    yuan (adjustment; it wins over the factors), a note (any action)."""

    model_config = ConfigDict(extra="forbid")
    capacity: str | None = Field(None, max_length=20, description='capacity factor, e.g. "1.02"')
    volume: str | None = Field(None, max_length=20, description='volume factor, e.g. "0.98"')
    amount: str | None = Field(None, max_length=20, description='negotiated gross budget in yuan, e.g. "57000.00"')
    note: str = Field("", max_length=2000)


def version_out(v: AgreementVersion) -> AgreementVersionOut:
    return AgreementVersionOut(
        consortium_id=v.consortium_id, year=v.year, version=v.version, action=v.action.value, status=v.status.value,
        formula_amount=format_yuan(v.formula_amount), capacity=str(v.capacity), volume=str(v.volume),
        tcm_uplift=str(v.tcm_uplift), amount=format_yuan(v.amount), actor=v.actor, role=v.role, at=v.at,
        note=v.note)


@router.get("", response_model=dict[str, list[AgreementVersionOut]])
def list_agreements(ctx: ContextDep, db: DbSession, principal: CurrentPrincipal,
                    year: Annotated[int | None, Query(ge=1900, le=2200)] = None,
                    ) -> dict[str, list[AgreementVersionOut]]:
    """Every consortium of the caller's scope with its agreement's history for ``year`` (default: this year)."""
    y = year if year is not None else ctx.clock.today().year
    every = run_use_case(lambda: agreements_of_year(db, principal, y))
    return {c: [version_out(v) for v in history] for c, history in every.items()}


@router.get("/{consortium_id}/{year}", response_model=list[AgreementVersionOut])
def get_agreement(db: DbSession, principal: CurrentPrincipal, consortium_id: ConsortiumPath,
                  year: YearPath) -> list[AgreementVersionOut]:
    """The agreement's history, oldest version first."""
    return [version_out(v) for v in run_use_case(lambda: agreement_history(db, principal, consortium_id, year))]


@router.post("/{consortium_id}/{year}/{action}", response_model=AgreementVersionOut,
             status_code=status.HTTP_201_CREATED)
def post_action(ctx: ContextDep, db: DbSession, principal: CurrentPrincipal, consortium_id: ConsortiumPath,
                year: YearPath, action: Action, body: AgreementActionIn | None = None) -> AgreementVersionOut:
    """Propose (from the formula budget x the factors x the policy's TCM uplift), adjust, comment, accept or sign."""
    b = body or AgreementActionIn()
    formula = formula_budget(ctx.figures.get(), consortium_id, year) if action is Action.PROPOSE else None
    return version_out(run_use_case(lambda: act_on_text(
        db, principal, consortium_id, year, action, at=ctx.clock.now(), policy=ctx.policy.agreement,
        formula=formula, capacity=b.capacity, volume=b.volume, amount=b.amount, note=b.note)))
