"""``/api/budget-agreements``: the yearly budget agreement (年度总额预算协议) between the insurance bureau and a
consortium. The bureau (insurance_bureau) proposes, adjusts and signs; the consortium (consortium_admin) views,
comments and accepts; the health commission views. Each sees only the consortia of its scope (404 for another's);
an action the role may not take is 403, one the agreement's state does not allow 409, a bad figure 422.

Amounts are yuan text with 2 decimals (``"57150.00"``); the factors exact decimal text (``"1.05"``)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, status
from pydantic import BaseModel, ConfigDict, Field

from yigongti.budget.agreement import Action, AgreementError, AgreementVersion, parse_factor
from yigongti.budget.agreement_service import NotAllowed, NotVisible, act, agreement_history, agreements_of_year
from yigongti.core.money import format_yuan, parse_yuan
from yigongti.platform.accounts import Principal
from yigongti.platform.deps import ContextDep, CurrentPrincipal, DbSession

__all__ = ["AgreementActionIn", "AgreementVersionOut", "agreement_error", "do_action", "formula_of", "router",
           "version_out"]

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


def agreement_error(exc: Exception) -> HTTPException:
    """The HTTP answer to a refused agreement action."""
    if isinstance(exc, NotAllowed):
        return HTTPException(status.HTTP_403_FORBIDDEN, str(exc))
    if isinstance(exc, NotVisible):
        return HTTPException(status.HTTP_404_NOT_FOUND, str(exc))
    if isinstance(exc, AgreementError) and exc.bad_input:
        return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc))
    return HTTPException(status.HTTP_409_CONFLICT, str(exc))


def formula_of(ctx: ContextDep, consortium_id: str, year: int) -> int | None:
    """The consortium's formula budget (gross, fen) of ``year`` from the platform's settlement of the loaded year,
    or None when that is another year or the consortium has none."""
    figures = ctx.figures.get()
    if figures is None or figures.year != year:
        return None
    b = figures.settlement.formula_budgets.get(consortium_id)
    return None if b is None else int(b.gross)


def _parse(body: AgreementActionIn) -> tuple[Decimal | None, Decimal | None, int | None]:
    try:
        cap = parse_factor(body.capacity, name="capacity") if body.capacity else None
        vol = parse_factor(body.volume, name="volume") if body.volume else None
        amount = parse_yuan(body.amount) if body.amount else None
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"{exc} / 输入有误") from None
    return cap, vol, amount


def do_action(ctx: ContextDep, db: DbSession, principal: Principal, consortium_id: str, year: int, action: Action,
              body: AgreementActionIn) -> AgreementVersion:
    """Parse, call the use case, map its refusals to HTTP (shared by the API and the page)."""
    cap, vol, amount = _parse(body)
    formula = formula_of(ctx, consortium_id, year) if action is Action.PROPOSE else None
    try:
        if action is Action.PROPOSE and formula is None and amount is None:
            agreement_history(db, principal, consortium_id, year)  # 403/404 first, then the missing formula
            raise AgreementError(f"no formula budget of {year} for {consortium_id}: give an amount / "
                                 "无该年度测算预算，请填写金额", bad_input=True)
        return act(db, principal, consortium_id, year, action, at=ctx.clock.now(), policy=ctx.policy.agreement,
                   formula=formula if formula is not None else amount, capacity=cap, volume=vol,
                   amount=amount if action is not Action.PROPOSE or formula is not None else None, note=body.note)
    except (NotAllowed, NotVisible, AgreementError) as exc:
        raise agreement_error(exc) from None


@router.get("", response_model=dict[str, list[AgreementVersionOut]])
def list_agreements(ctx: ContextDep, db: DbSession, principal: CurrentPrincipal,
                    year: Annotated[int | None, Query(ge=1900, le=2200)] = None,
                    ) -> dict[str, list[AgreementVersionOut]]:
    """Every consortium of the caller's scope with its agreement's history for ``year`` (default: this year)."""
    y = year if year is not None else ctx.clock.today().year
    try:
        every = agreements_of_year(db, principal, y)
    except NotAllowed as exc:
        raise agreement_error(exc) from None
    return {c: [version_out(v) for v in history] for c, history in every.items()}


@router.get("/{consortium_id}/{year}", response_model=list[AgreementVersionOut])
def get_agreement(db: DbSession, principal: CurrentPrincipal, consortium_id: ConsortiumPath,
                  year: YearPath) -> list[AgreementVersionOut]:
    """The agreement's history, oldest version first."""
    try:
        return [version_out(v) for v in agreement_history(db, principal, consortium_id, year)]
    except (NotAllowed, NotVisible) as exc:
        raise agreement_error(exc) from None


@router.post("/{consortium_id}/{year}/{action}", response_model=AgreementVersionOut,
             status_code=status.HTTP_201_CREATED)
def post_action(ctx: ContextDep, db: DbSession, principal: CurrentPrincipal, consortium_id: ConsortiumPath,
                year: YearPath, action: Action, body: AgreementActionIn | None = None) -> AgreementVersionOut:
    """Propose (from the formula budget x the factors x the policy's TCM uplift), adjust, comment, accept or sign."""
    return version_out(do_action(ctx, db, principal, consortium_id, year, action, body or AgreementActionIn()))
