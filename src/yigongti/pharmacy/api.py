"""``/api/pharmacy``: the consortium's one pharmacy (药品统一管理): the catalogue, stock, receipts and issues, shortages
and their dispatch, stock-out alerts.

Thin adapters over ``pharmacy.service``: each route parses, runs one use case in the request's transaction and maps
its refusals to HTTP: not in scope 404, a role that may not act 403, too little stock or a move the workflow does not
have 409, a request contradicting the catalogue 422. No personal data.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, status
from pydantic import BaseModel, Field

from yigongti.pharmacy.domain import Drug as DrugValue
from yigongti.pharmacy.service import (
    cancel_prescription,
    cancel_shortage,
    catalogue,
    deliver_shortage,
    dispatch_shortage,
    dispense_prescription,
    issue,
    moves_of,
    prescriptions_for,
    put_drug,
    receive,
    register_shortage,
    stock_alerts,
    stock_of,
    write_prescription,
)
from yigongti.pharmacy.uow import PharmacyUnitOfWork
from yigongti.platform.deps import ContextDep, CurrentPrincipal, DbSession, ScopeDep, visible_person
from yigongti.platform.deps import run_use_case as _run

__all__ = ["router"]

router = APIRouter(prefix="/api/pharmacy", tags=["pharmacy 药品统一管理"])
_ID = Field(min_length=1, max_length=64)
_ERRORS: dict[int | str, dict[str, Any]] = {404: {"description": "not found or not in your scope / 不存在或无权查看"},
                                            403: {"description": "not allowed for your role / 当前角色无权操作"},
                                            409: {"description": "too little stock, or not allowed by the workflow / "
                                                                 "库存不足或流程不允许"},
                                            422: {"description": "contradicts the catalogue / 与药品目录不符"}}


class DrugIn(BaseModel):
    generic_name: str = Field(min_length=1, max_length=200)
    form: str = Field(min_length=1, max_length=64)
    strength: str = Field(min_length=1, max_length=64)
    unit: str = Field("片", min_length=1, max_length=16)
    essential: bool = False


class DrugOut(DrugIn):
    drug_code: str


class MoveIn(BaseModel):
    inst_id: str = _ID
    drug_code: str = _ID
    quantity: int = Field(ge=1, le=10_000_000)


class StockOut(BaseModel):
    inst_id: str
    drug_code: str
    on_hand: int


class ShortageIn(MoveIn):
    note: str = Field("", max_length=2000)


class ShortageOut(BaseModel):
    shortage_id: int
    status: str


class DispatchIn(BaseModel):
    tracking: str = Field("", max_length=200, description="the delivery's tracking number or note / 配送单号")


class StockLineOut(DrugOut):
    on_hand: int


class AlertOut(BaseModel):
    inst_id: str
    drug_code: str
    generic_name: str
    on_hand: int
    issued: int
    days_left: int




def _uow(db: DbSession) -> PharmacyUnitOfWork:
    return PharmacyUnitOfWork(db)


def _drug_out(d: DrugValue) -> dict[str, object]:
    return {"drug_code": d.drug_code, "generic_name": d.generic_name, "form": d.form, "strength": d.strength,
            "unit": d.unit, "essential": d.essential}


ShortageIdPath = Annotated[int, Path(ge=1, le=2**31 - 1)]
DrugCodePath = Annotated[str, Path(min_length=1, max_length=64)]


@router.get("/drugs", response_model=list[DrugOut])
def get_drugs(db: DbSession, _p: CurrentPrincipal) -> list[DrugOut]:
    """统一药品目录 / The consortium's drug catalogue (any signed-in user)."""
    return [DrugOut.model_validate(_drug_out(d)) for d in catalogue(_uow(db))]


@router.put("/drugs/{drug_code}", status_code=status.HTTP_204_NO_CONTENT, responses=_ERRORS)
def put_drug_route(ctx: ContextDep, db: DbSession, principal: CurrentPrincipal, drug_code: DrugCodePath,
                   body: DrugIn) -> None:
    """Add or change a drug (the consortium admin); ``drug_code`` the national insurance drug code."""
    drug = DrugValue(drug_code, body.generic_name, body.form, body.strength, body.essential, body.unit)
    _run(lambda: put_drug(_uow(db), principal, drug, now=ctx.clock.now()))


@router.get("/stock", response_model=list[StockLineOut], responses=_ERRORS)
def get_stock(db: DbSession, principal: CurrentPrincipal,
              inst_id: Annotated[str, Query(min_length=1, max_length=64)]) -> list[StockLineOut]:
    """An institution's stock (its staff, its consortium's admin)."""
    return [StockLineOut.model_validate(_drug_out(d) | {"on_hand": n})
            for d, n in _run(lambda: stock_of(_uow(db), principal, inst_id))]


@router.post("/receipts", response_model=StockOut, responses=_ERRORS)
def post_receipt(ctx: ContextDep, db: DbSession, principal: CurrentPrincipal, body: MoveIn) -> StockOut:
    """入库 / Receive stock (the institution's staff)."""
    n = _run(lambda: receive(_uow(db), principal, inst_id=body.inst_id, drug_code=body.drug_code,
                             quantity=body.quantity, now=ctx.clock.now()))
    return StockOut(inst_id=body.inst_id, drug_code=body.drug_code, on_hand=n)


@router.post("/issues", response_model=StockOut, responses=_ERRORS)
def post_issue(ctx: ContextDep, db: DbSession, principal: CurrentPrincipal, body: MoveIn) -> StockOut:
    """发药 / Issue stock (the institution's staff): 409 when fewer are on hand; never below zero."""
    n = _run(lambda: issue(_uow(db), principal, inst_id=body.inst_id, drug_code=body.drug_code,
                           quantity=body.quantity, now=ctx.clock.now()))
    return StockOut(inst_id=body.inst_id, drug_code=body.drug_code, on_hand=n)


@router.post("/shortages", response_model=ShortageOut, status_code=status.HTTP_201_CREATED, responses=_ERRORS)
def post_shortage(ctx: ContextDep, db: DbSession, principal: CurrentPrincipal, body: ShortageIn) -> ShortageOut:
    """缺药登记 / A clinic registers a shortage for the county central pharmacy."""
    row = _run(lambda: register_shortage(_uow(db), principal, inst_id=body.inst_id, drug_code=body.drug_code,
                                         quantity=body.quantity, note=body.note, now=ctx.clock.now()))
    return ShortageOut(shortage_id=row.shortage_id, status=row.status)


@router.post("/shortages/{shortage_id}/dispatch", response_model=ShortageOut, responses=_ERRORS)
def post_dispatch(ctx: ContextDep, db: DbSession, principal: CurrentPrincipal, shortage_id: ShortageIdPath,
                  body: DispatchIn) -> ShortageOut:
    """配送发出 / The consortium's county central pharmacy dispatches from its stock (409 when too little)."""
    _run(lambda: dispatch_shortage(_uow(db), principal, shortage_id, tracking=body.tracking, now=ctx.clock.now()))
    return ShortageOut(shortage_id=shortage_id, status="dispatched")


@router.post("/shortages/{shortage_id}/deliver", response_model=ShortageOut, responses=_ERRORS)
def post_deliver(ctx: ContextDep, db: DbSession, principal: CurrentPrincipal,
                 shortage_id: ShortageIdPath) -> ShortageOut:
    """配送入库 / The clinic confirms the delivery: its stock grows."""
    _run(lambda: deliver_shortage(_uow(db), principal, shortage_id, now=ctx.clock.now()))
    return ShortageOut(shortage_id=shortage_id, status="delivered")


@router.post("/shortages/{shortage_id}/cancel", response_model=ShortageOut, responses=_ERRORS)
def post_cancel(ctx: ContextDep, db: DbSession, principal: CurrentPrincipal,
                shortage_id: ShortageIdPath) -> ShortageOut:
    """The clinic cancels a shortage not yet dispatched."""
    _run(lambda: cancel_shortage(_uow(db), principal, shortage_id, now=ctx.clock.now()))
    return ShortageOut(shortage_id=shortage_id, status="cancelled")


@router.get("/alerts", response_model=list[AlertOut], responses=_ERRORS)
def get_alerts(ctx: ContextDep, db: DbSession, principal: CurrentPrincipal) -> list[AlertOut]:
    """断货预警 / Drugs that run out within ``pharmacy.alert_days`` at the usage of the last ``usage_weeks`` weeks,
    fewest days first (the consortium admin: every member; staff: their institution)."""
    rows = _run(lambda: stock_alerts(_uow(db), principal, policy=ctx.policy.pharmacy, now=ctx.clock.now()))
    return [AlertOut(inst_id=a.inst_id, drug_code=a.drug_code, generic_name=a.generic_name, on_hand=a.on_hand,
                     issued=a.issued, days_left=int(a.days_left)) for a in rows]


class MoveOut(BaseModel):
    move_id: int
    at: datetime
    kind: str = Field(description="receipt 入库, issue 发药, dispatch 配送发出, delivery 配送入库")
    drug_code: str
    generic_name: str
    quantity: int
    actor: str
    shortage_id: int | None


class RxLineIn(BaseModel):
    drug_code: str = _ID
    quantity: int = Field(ge=1, le=100_000)


class RxIn(BaseModel):
    person_id: str = _ID
    lines: list[RxLineIn] = Field(min_length=1, max_length=20)
    note: str = Field("", max_length=2000)


class RxOut(BaseModel):
    rx_id: int
    person_id: str
    written_inst_id: str
    written_at: datetime
    status: str = Field(description="written 待取药, dispensed 已发药, cancelled 已作废")
    dispensed_inst_id: str | None
    dispensed_at: datetime | None
    lines: list[RxLineIn]


@router.get("/moves", response_model=list[MoveOut], responses=_ERRORS)
def get_moves(db: DbSession, principal: CurrentPrincipal,
              inst_id: Annotated[str, Query(min_length=1, max_length=64)],
              limit: Annotated[int, Query(ge=1, le=5000)] = 200) -> list[MoveOut]:
    """出入库记录 / An institution's latest stock moves, newest first (its staff, its consortium's admin)."""
    rows = _run(lambda: moves_of(_uow(db), principal, inst_id, limit=limit))
    return [MoveOut(move_id=m.move_id, at=m.at, kind=m.kind, drug_code=m.drug_code, generic_name=g,
                    quantity=m.quantity, actor=m.actor, shortage_id=m.shortage_id) for m, g, _ in rows]


@router.get("/prescriptions", response_model=list[RxOut], responses=_ERRORS)
def get_prescriptions(ctx: ContextDep, db: DbSession, principal: CurrentPrincipal) -> list[RxOut]:
    """处方流转 / The consortium's prescriptions to dispense and those written or dispensed at the caller's
    institution in the last 30 days (staff of a member; audited)."""
    views = _run(lambda: prescriptions_for(_uow(db), principal, now=ctx.clock.now()))
    return [RxOut(rx_id=v.row.rx_id, person_id=v.row.person_id, written_inst_id=v.row.written_inst_id,
                  written_at=v.row.written_at, status=v.row.status, dispensed_inst_id=v.row.dispensed_inst_id,
                  dispensed_at=v.row.dispensed_at,
                  lines=[RxLineIn(drug_code=c, quantity=q) for c, _, q, _, _ in v.lines]) for v in views]


@router.post("/prescriptions", status_code=status.HTTP_201_CREATED, responses=_ERRORS)
def post_prescription(request: Request, ctx: ContextDep, db: DbSession, person_scope: ScopeDep,
                      body: RxIn) -> dict[str, int]:
    """开处方 / A clinician writes a prescription at their institution for a person in their scope (404 otherwise)."""
    principal = person_scope.principal
    visible_person(request, ctx, db, person_scope, body.person_id)
    rx_id = _run(lambda: write_prescription(_uow(db), principal, person_id=body.person_id,
                                            lines=[(x.drug_code, x.quantity) for x in body.lines], note=body.note,
                                            now=ctx.clock.now()))
    return {"rx_id": rx_id}


@router.post("/prescriptions/{rx_id}/dispense", responses=_ERRORS)
def post_dispense(ctx: ContextDep, db: DbSession, principal: CurrentPrincipal,
                  rx_id: ShortageIdPath) -> dict[str, object]:
    """发药 / Dispense at the caller's institution from its stock: every line or none; once only (409 after)."""
    at = _run(lambda: dispense_prescription(_uow(db), principal, rx_id, now=ctx.clock.now()))
    return {"rx_id": rx_id, "status": "dispensed", "dispensed_inst_id": at}


@router.post("/prescriptions/{rx_id}/cancel", responses=_ERRORS)
def post_cancel_rx(ctx: ContextDep, db: DbSession, principal: CurrentPrincipal,
                   rx_id: ShortageIdPath) -> dict[str, object]:
    """作废 / The writing institution cancels a prescription not yet dispensed."""
    _run(lambda: cancel_prescription(_uow(db), principal, rx_id, now=ctx.clock.now()))
    return {"rx_id": rx_id, "status": "cancelled"}
