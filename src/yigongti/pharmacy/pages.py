"""Pharmacy pages (药品统一管理): stock per institution with the stock-out alerts, a clinic registering a shortage,
the county central pharmacy dispatching it, the clinic confirming the delivery (each state in Chinese), and CSV
downloads of the stock, the alerts and the shortages.

Who sees what (the same use cases and refusals as ``/api/pharmacy``): the consortium admin every member's stock and
shortages; a clinician or institution admin their institution's; the admin of a county-tier institution (the
central pharmacy) also the shortages of every member of its consortium, to dispatch them. No personal data. Forms post
with the page's CSRF token and answer with a redirect back to the page (post/redirect/get); a refusal is the error
page with its status (403, 404, 409, 422).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Path, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from yigongti.core.labels import labelled
from yigongti.pharmacy.domain import RX_LABELS, SHORTAGE_LABELS
from yigongti.pharmacy.service import (
    cancel_prescription,
    cancel_shortage,
    catalogue,
    deliver_shortage,
    dispatch_shortage,
    dispense_prescription,
    issue,
    moves_of,
    overseen,
    prescriptions_for,
    receive,
    register_shortage,
    shortages_for,
    stock_alerts,
    stock_of,
    write_prescription,
)
from yigongti.pharmacy.uow import PharmacyUnitOfWork
from yigongti.platform.accounts import Role
from yigongti.platform.deps import ContextDep, DbSession, Official, ScopeDep, visible_person
from yigongti.platform.deps import run_use_case as _run
from yigongti.platform.downloads import csv_response
from yigongti.platform.i18n import lang_of
from yigongti.platform.pages import CheckedCsrf, render
from yigongti.platform.tables import TableQueryDep, page_of

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
ShortageIdPath = Annotated[int, Path(ge=1, le=2**31 - 1)]
InstQuery = Annotated[str, Query(max_length=64, pattern=r"^[A-Za-z0-9.\-_]*$")]
STOCK_COLUMNS = ("drug_code", "generic_name", "form", "strength", "unit", "essential", "on_hand", "days_left")
ALERT_COLUMNS = ("inst_id", "drug_code", "generic_name", "on_hand", "issued", "days_left")
MOVES_SHOWN = 100
"""Stock moves the pharmacy page shows (newest first; the CSV has up to 5,000)."""
MOVE_COLUMNS = ("move_id", "at", "kind", "drug_code", "generic_name", "quantity", "unit", "actor", "shortage_id")
RX_COLUMNS = ("rx_id", "person_id", "written_inst_id", "written_at", "status", "dispensed_inst_id", "dispensed_at",
              "drugs")
SHORTAGE_COLUMNS = ("shortage_id", "inst_id", "drug_code", "generic_name", "quantity", "unit", "status",
                    "registered_at", "from_inst_id", "tracking", "dispatched_at", "delivered_at")


def _uow(db: DbSession) -> PharmacyUnitOfWork:
    return PharmacyUnitOfWork(db)


def _chosen(db: DbSession, principal: Official, inst_id: str) -> tuple[list[str], str]:
    insts = _run(lambda: overseen(_uow(db), principal))
    if inst_id and inst_id not in insts:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"机构 {inst_id} 不存在或无权查看 / no institution {inst_id} "
                                                       "in your scope")
    chosen = inst_id or (principal.inst_id if principal.inst_id in insts else (insts[0] if insts else ""))
    return insts, chosen or ""


@router.get("/pharmacy", response_class=HTMLResponse)
def pharmacy_page(request: Request, ctx: ContextDep, db: DbSession, principal: Official, query: TableQueryDep,
                  inst_id: InstQuery = "", done: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
                  moved: Annotated[int | None, Query(ge=0, le=10**9)] = None) -> Response:
    """药品 / Stock-out alerts, one institution's stock, the shortages and their dispatch, the shortage form."""
    insts, chosen = _chosen(db, principal, inst_id)
    policy = ctx.policy.pharmacy
    now = ctx.clock.now()
    alerts = _run(lambda: stock_alerts(_uow(db), principal, policy=policy, now=now))
    stock = _run(lambda: stock_of(_uow(db), principal, chosen)) if chosen else []
    shortages = _run(lambda: shortages_for(_uow(db), principal))
    drugs = _run(lambda: catalogue(_uow(db))) if principal.inst_id in insts else []
    moves = _run(lambda: moves_of(_uow(db), principal, chosen, limit=MOVES_SHOWN)) if chosen else []
    left = {a.drug_code: a for a in alerts if a.inst_id == chosen}
    names = ctx.registry.get().institutions if ctx.registry is not None else {}
    shown = page_of(alerts, query, extra={"inst_id": inst_id},
                    text=lambda a: " ".join((a.inst_id, getattr(names.get(a.inst_id), "name", ""), a.drug_code,
                                             a.generic_name)),
                    keys={"inst": lambda a: a.inst_id, "drug": lambda a: a.generic_name, "on_hand": lambda a: a.on_hand,
                          "issued": lambda a: a.issued, "days_left": lambda a: a.days_left})
    return render(request, ctx, "pharmacy.html", principal, insts=insts, chosen=chosen, alerts=shown, stock=stock,
                  left=left, shortages=shortages, drugs=drugs, done=done, labels=SHORTAGE_LABELS, policy=policy,
                  may_register=principal.inst_id in insts, moves=moves, moved=moved,
                  may_move=chosen == principal.inst_id and principal.inst_id in insts)


def _back(shortage_id: int) -> Response:
    return RedirectResponse(f"/pharmacy?done={shortage_id}#s{shortage_id}", status.HTTP_303_SEE_OTHER)


@router.post("/pharmacy/shortages", response_class=HTMLResponse)
def register_page(ctx: ContextDep, db: DbSession, principal: Official, _csrf: CheckedCsrf,
                  drug_code: Annotated[str, Form(min_length=1, max_length=64)],
                  quantity: Annotated[int, Form(ge=1, le=10_000_000)],
                  note: Annotated[str, Form(max_length=2000)] = "") -> Response:
    """缺药登记 / The clinic (the signed-in staff's institution) registers a shortage."""
    inst_id = principal.inst_id or ""
    row = _run(lambda: register_shortage(_uow(db), principal, inst_id=inst_id, drug_code=drug_code.strip(),
                                         quantity=quantity, note=note.strip(), now=ctx.clock.now()))
    return _back(row.shortage_id)


@router.post("/pharmacy/shortages/{shortage_id}/dispatch", response_class=HTMLResponse)
def dispatch_page(ctx: ContextDep, db: DbSession, principal: Official, _csrf: CheckedCsrf,
                  shortage_id: ShortageIdPath, tracking: Annotated[str, Form(max_length=200)] = "") -> Response:
    """配送发出 / The central pharmacy dispatches from its stock (409 when it has too few)."""
    _run(lambda: dispatch_shortage(_uow(db), principal, shortage_id, tracking=tracking.strip(),
                                   now=ctx.clock.now()))
    return _back(shortage_id)


@router.post("/pharmacy/shortages/{shortage_id}/deliver", response_class=HTMLResponse)
def deliver_page(ctx: ContextDep, db: DbSession, principal: Official, _csrf: CheckedCsrf,
                 shortage_id: ShortageIdPath) -> Response:
    """配送入库 / The clinic confirms the delivery: its stock grows."""
    _run(lambda: deliver_shortage(_uow(db), principal, shortage_id, now=ctx.clock.now()))
    return _back(shortage_id)


@router.post("/pharmacy/shortages/{shortage_id}/cancel", response_class=HTMLResponse)
def cancel_page(ctx: ContextDep, db: DbSession, principal: Official, _csrf: CheckedCsrf,
                shortage_id: ShortageIdPath) -> Response:
    """The clinic cancels a shortage not yet dispatched."""
    _run(lambda: cancel_shortage(_uow(db), principal, shortage_id, now=ctx.clock.now()))
    return _back(shortage_id)


def _when(value: object) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if hasattr(value, "strftime") else ""


@router.get("/pharmacy/stock.csv")
def stock_csv(request: Request, ctx: ContextDep, db: DbSession, principal: Official,
              inst_id: InstQuery = "") -> Response:
    """库存 / One institution's stock as CSV, with the days it lasts at the recent usage."""
    _, chosen = _chosen(db, principal, inst_id)
    alerts = _run(lambda: stock_alerts(_uow(db), principal, policy=ctx.policy.pharmacy, now=ctx.clock.now()))
    left = {a.drug_code: a.days_left for a in alerts if a.inst_id == chosen}
    stock = _run(lambda: stock_of(_uow(db), principal, chosen)) if chosen else []
    return csv_response(f"stock-{chosen}.csv", STOCK_COLUMNS,
                        ([d.drug_code, d.generic_name, d.form, d.strength, d.unit, "是" if d.essential else "否", n,
                          left.get(d.drug_code, "")] for d, n in stock), lang=lang_of(request))


@router.get("/pharmacy/alerts.csv")
def alerts_csv(request: Request, ctx: ContextDep, db: DbSession, principal: Official) -> Response:
    """断货预警 / The stock-out alerts of every institution in scope as CSV."""
    alerts = _run(lambda: stock_alerts(_uow(db), principal, policy=ctx.policy.pharmacy, now=ctx.clock.now()))
    return csv_response("stock-alerts.csv", ALERT_COLUMNS,
                        ([a.inst_id, a.drug_code, a.generic_name, a.on_hand, a.issued, a.days_left] for a in alerts),
                        lang=lang_of(request))


@router.get("/pharmacy/shortages.csv")
def shortages_csv(request: Request, db: DbSession, principal: Official) -> Response:
    """缺药登记 / The shortages in scope as CSV, each status as its Chinese label with the code."""
    rows = _run(lambda: shortages_for(_uow(db), principal))
    return csv_response("shortages.csv", SHORTAGE_COLUMNS, (
        [v.row.shortage_id, v.row.inst_id, v.row.drug_code, v.generic_name, v.row.quantity, v.unit,
         f"{SHORTAGE_LABELS.get(v.row.status, v.row.status).split(' / ')[0]} {v.row.status}",
         _when(v.row.registered_at), v.row.from_inst_id or "", v.row.tracking or "", _when(v.row.dispatched_at),
         _when(v.row.delivered_at)] for v in rows), lang=lang_of(request))


@router.post("/pharmacy/moves", response_class=HTMLResponse)
def move_page(ctx: ContextDep, db: DbSession, principal: Official, _csrf: CheckedCsrf,
              kind: Annotated[str, Form(pattern="^(receipt|issue)$")],
              drug_code: Annotated[str, Form(min_length=1, max_length=64)],
              quantity: Annotated[int, Form(ge=1, le=10_000_000)]) -> Response:
    """入库 / 发药: the signed-in staff's institution receives or issues stock (409 when too little on hand)."""
    inst_id = principal.inst_id or ""
    use_case = receive if kind == "receipt" else issue
    left = _run(lambda: use_case(_uow(db), principal, inst_id=inst_id, drug_code=drug_code.strip(),
                                 quantity=quantity, now=ctx.clock.now()))
    return RedirectResponse(f"/pharmacy?moved={left}#moves", status.HTTP_303_SEE_OTHER)


@router.get("/pharmacy/moves.csv")
def moves_csv(request: Request, db: DbSession, principal: Official, inst_id: InstQuery = "") -> Response:
    """出入库记录 / One institution's latest stock moves (up to 5,000) as CSV: who, when, what."""
    _, chosen = _chosen(db, principal, inst_id)
    moves = _run(lambda: moves_of(_uow(db), principal, chosen, limit=5000)) if chosen else []
    return csv_response(f"stock-moves-{chosen}.csv", MOVE_COLUMNS, (
        [m.move_id, _when(m.at), labelled("stock_move", m.kind), m.drug_code, g, m.quantity, u, m.actor,
         m.shortage_id or ""] for m, g, u in moves), lang=lang_of(request))


@router.get("/pharmacy/prescriptions", response_class=HTMLResponse)
def prescriptions_page(request: Request, ctx: ContextDep, db: DbSession, principal: Official,
                       done: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None) -> Response:
    """处方流转 / The consortium's prescriptions waiting to be dispensed (dispensable here, from this institution's
    stock) and those written or dispensed here in the last 30 days; a clinician's form to write one."""
    views = _run(lambda: prescriptions_for(_uow(db), principal, now=ctx.clock.now()))
    drugs = _run(lambda: catalogue(_uow(db))) if principal.role is Role.CLINICIAN else []
    return render(request, ctx, "prescriptions.html", principal, views=views, done=done, labels=RX_LABELS,
                  drugs=drugs, open_count=sum(1 for v in views if v.row.status == "written"))


@router.post("/pharmacy/prescriptions", response_class=HTMLResponse)
def write_page(request: Request, ctx: ContextDep, db: DbSession, principal: Official, person_scope: ScopeDep,
               _csrf: CheckedCsrf,
               person_id: Annotated[str, Form(min_length=1, max_length=64)],
               drug_code: Annotated[list[str], Form(min_length=1, max_length=20)],
               quantity: Annotated[list[str], Form(min_length=1, max_length=20)],
               note: Annotated[str, Form(max_length=2000)] = "") -> Response:
    """开处方 / A clinician writes a prescription (pairs of drug and quantity; an empty pair is skipped) for a person
    in their scope (404 otherwise: existence is not disclosed)."""
    visible_person(request, ctx, db, person_scope, person_id.strip())
    lines: list[tuple[str, int]] = []
    for code, q in zip(drug_code, quantity, strict=False):
        if code.strip() and q.strip():
            if not q.strip().isdigit() or len(q.strip()) > 6:
                raise HTTPException(422, "quantity: a whole number / 数量须为整数")
            lines.append((code.strip()[:64], int(q)))
    rx_id = _run(lambda: write_prescription(_uow(db), principal, person_id=person_id.strip(), lines=lines,
                                            note=note.strip(), now=ctx.clock.now()))
    return RedirectResponse(f"/pharmacy/prescriptions?done={rx_id}#rx{rx_id}", status.HTTP_303_SEE_OTHER)


@router.post("/pharmacy/prescriptions/{rx_id}/dispense", response_class=HTMLResponse)
def dispense_page(ctx: ContextDep, db: DbSession, principal: Official, _csrf: CheckedCsrf,
                  rx_id: ShortageIdPath) -> Response:
    """发药 / Dispense from this institution's stock (409 when already dispensed or too little on hand)."""
    _run(lambda: dispense_prescription(_uow(db), principal, rx_id, now=ctx.clock.now()))
    return RedirectResponse(f"/pharmacy/prescriptions?done={rx_id}#rx{rx_id}", status.HTTP_303_SEE_OTHER)


@router.post("/pharmacy/prescriptions/{rx_id}/cancel", response_class=HTMLResponse)
def cancel_rx_page(ctx: ContextDep, db: DbSession, principal: Official, _csrf: CheckedCsrf,
                   rx_id: ShortageIdPath) -> Response:
    """作废 / The writing institution cancels a prescription not yet dispensed."""
    _run(lambda: cancel_prescription(_uow(db), principal, rx_id, now=ctx.clock.now()))
    return RedirectResponse(f"/pharmacy/prescriptions?done={rx_id}#rx{rx_id}", status.HTTP_303_SEE_OTHER)


@router.get("/pharmacy/prescriptions.csv")
def prescriptions_csv(request: Request, ctx: ContextDep, db: DbSession, principal: Official) -> Response:
    """The same prescriptions as CSV (the drugs as ``code×quantity`` separated by ``;``)."""
    views = _run(lambda: prescriptions_for(_uow(db), principal, now=ctx.clock.now()))
    return csv_response("prescriptions.csv", RX_COLUMNS, (
        [v.row.rx_id, v.row.person_id, v.row.written_inst_id, _when(v.row.written_at),
         labelled("rx_status", v.row.status), v.row.dispensed_inst_id or "", _when(v.row.dispensed_at),
         "; ".join(f"{code}×{q}" for code, _, q, _, _ in v.lines)] for v in views), lang=lang_of(request))
