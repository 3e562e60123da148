"""The clinician's referral pages (转诊工作台): referrals in and out with one-action status moves, a new referral
(from a patient's record: ``/referrals?person_id=ID``), and the proposed down-referrals. Forms post with the page's
CSRF token and answer with a redirect back to the worklist (post/redirect/get); a refusal is the error page with its
status (403, 404, 409, 422)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import APIRouter, Form, HTTPException, Path, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from yigongti.core.labels import label
from yigongti.platform.accounts import Principal, Role
from yigongti.platform.charts import bar_chart, line_chart
from yigongti.platform.deps import ContextDep, CurrentPrincipal, DbSession, ScopeDep, visible_person
from yigongti.platform.deps import run_use_case as _run
from yigongti.platform.downloads import csv_response
from yigongti.platform.i18n import lang_of, translator
from yigongti.platform.pages import CheckedCsrf, PagePrincipal, render
from yigongti.platform.tables import TableQueryDep, pages_of
from yigongti.referral.analytics import FLOW_ROLES, Flows, flows
from yigongti.referral.domain import DIRECTION_LABELS, KIND_LABELS, STATUS_LABELS, Status
from yigongti.referral.service import (
    RequestReferral,
    WorkItem,
    catalogues_for,
    claims_check,
    data_year,
    move_referral,
    request_referral,
    treated_here,
    worklist,
)
from yigongti.referral.uow import ReferralUnitOfWork

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
_ID = r"^[A-Za-z0-9.\-]+$"


def _staff(principal: Principal) -> Principal:
    if principal.role not in (Role.CLINICIAN, Role.INSTITUTION_ADMIN) or not principal.inst_id:
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            "仅医生和机构管理员可用 / clinicians and institution admins only")
    return principal


def _back(referral_id: int | None = None) -> Response:
    target = "/referrals" + (f"?done={referral_id}#r{referral_id}" if referral_id else "")
    return RedirectResponse(target, status.HTTP_303_SEE_OTHER)


@router.get("/referrals", response_class=HTMLResponse)
def referrals_page(request: Request, ctx: ContextDep, db: DbSession, principal: PagePrincipal, query: TableQueryDep,
                   person_id: Annotated[str, Query(max_length=64)] = "",
                   done: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None) -> Response:
    """转诊工作台 / The worklist: referrals received (to act on) and sent (to follow), newest first; one search box
    and one sort for both tables, each paged (a year of referrals is a long table); at a county-tier institution
    also the data year's first-visit flags and the proposed down-referrals from its claims (each with a one-action
    down-referral to the designated township)."""
    me = _staff(principal)
    now = ctx.clock.now()
    cats = catalogues_for(ctx.policy.referral)
    work = _run(lambda: worklist(ReferralUnitOfWork(db), me, cats, now=now))
    check = _run(lambda: claims_check(ReferralUnitOfWork(db), me, lambda: data_year(ctx.figures.get), cats, now=now))

    def text(item: WorkItem) -> str:
        r = item.referral
        return " ".join((str(r.referral_id), r.person_id, r.diagnosis, r.from_inst_id, r.to_inst_id,
                         work.names.get(r.from_inst_id, ""), work.names.get(r.to_inst_id, ""),
                         STATUS_LABELS.get(r.status, r.status), DIRECTION_LABELS.get(r.direction, r.direction)))

    keys = {n: (lambda i, n=n: getattr(i.referral, n)) for n in ("referral_id", "person_id", "requested_at", "status")}
    incoming, outgoing = pages_of((work.incoming, work.outgoing), query, text=text, keys=keys,
                                  extra={"person_id": person_id})
    return render(request, ctx, "referrals.html", me, work=work, check=check, incoming=incoming, outgoing=outgoing,
                  person_id=person_id, done=done,
                  status_labels=STATUS_LABELS, direction_labels=DIRECTION_LABELS, kind_labels=KIND_LABELS,
                  may_refer=me.role is Role.CLINICIAN, booked=Status.BOOKED, returned=Status.RETURNED)


@router.post("/referrals", response_class=HTMLResponse)
def new_referral(request: Request, ctx: ContextDep, db: DbSession, principal: PagePrincipal, person_scope: ScopeDep,
                 _csrf: CheckedCsrf, person_id: Annotated[str, Form(min_length=1, max_length=64)],
                 to_inst_id: Annotated[str, Form(min_length=1, max_length=64)],
                 direction: Annotated[str, Form(pattern="^(up|down)$")],
                 diagnosis: Annotated[str, Form(min_length=1, max_length=16, pattern=_ID)],
                 reason: Annotated[str, Form(max_length=2000)] = "",
                 from_claim_id: Annotated[str, Form(max_length=64, pattern=r"^[A-Za-z0-9.\-]*$")] = "") -> Response:
    """发起转诊 / One action: refer a person in the clinician's scope."""
    me = _staff(principal)
    if me.role is not Role.CLINICIAN:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "仅医生可发起转诊 / only clinicians refer")
    if not treated_here(lambda: data_year(ctx.figures.get), claim_id=from_claim_id, person_id=person_id.strip(),
                        inst_id=me.inst_id or ""):  # a proposed down-referral names the admission it comes from
        visible_person(request, ctx, db, person_scope, person_id.strip())
    cmd = RequestReferral(person_id=person_id.strip(), from_inst_id=me.inst_id or "", to_inst_id=to_inst_id,
                          direction=direction, diagnosis=diagnosis.upper(), reason=reason.strip(),
                          from_claim_id=from_claim_id or None)
    row = _run(lambda: request_referral(ReferralUnitOfWork(db), me, cmd, now=ctx.clock.now()))
    return _back(row.referral_id)


@router.post("/referrals/{referral_id}/move", response_class=HTMLResponse)
def move(ctx: ContextDep, db: DbSession, principal: PagePrincipal, _csrf: CheckedCsrf,
         referral_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
         to: Annotated[str, Form(pattern="^(accepted|declined|booked|arrived|completed|returned|cancelled)$")],
         slot_id: Annotated[int | None, Form(ge=1, le=2**31 - 1)] = None,
         care_plan: Annotated[str, Form(max_length=4000)] = "") -> Response:
    """One action: move the referral (``booked`` takes the slot picked; ``returned`` the care plan)."""
    me = _staff(principal)
    _run(lambda: move_referral(ReferralUnitOfWork(db), me, referral_id, to, policy=ctx.policy.referral,
                               now=ctx.clock.now(), slot_id=slot_id, care_plan=care_plan.strip() or None))
    return _back(referral_id)


# ------------------------------------------------------------------------------------------------ officials' flows

@dataclass(frozen=True)
class FlowTable:
    """A table of the flows page: column keys (labelled from ``core.labels``), rows shown, rows for the CSV."""

    name: str
    title: str
    svg: Markup | None
    columns: tuple[str, ...]
    shown: list[list[str]]
    raw: list[list[object]]


def _official(principal: Principal) -> Principal:
    if principal.role not in FLOW_ROLES:
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            "仅医共体管理中心、医保局和卫健局可查看 / consortium, bureau and commission only")
    return principal


def _direction(code: str, lang: str) -> str:
    zh, _, en = DIRECTION_LABELS.get(code, code).partition(" / ")
    return en if lang == "en" and en else zh


def _flow_tables(found: Flows, t: Callable[[str, str], str], lang: str) -> list[FlowTable]:
    months = [m.month for m in found.months]
    title = t("按月转诊人次（上转、下转）", "Referrals by month, up and down")
    svg = line_chart([m[5:] for m in months], [(t("上转", "up"), [m.up for m in found.months]),
                                               (t("下转", "down"), [m.down for m in found.months])], title=title)
    cols: tuple[str, ...] = ("month", "up", "down", "up_arrived", "down_arrived")
    raw: list[list[object]] = [[m.month, m.up, m.down, m.up_arrived, m.down_arrived] for m in found.months]
    out = [FlowTable("months", title, svg, cols, [[str(v) for v in r] for r in raw], raw)]
    title = t("各层级间转诊流向", "Flows between tiers")

    def pair(f: str, to: str) -> str:
        return f"{label('tier', f, lang)} → {label('tier', to, lang)}"

    bars: Sequence[tuple[str, float]] = [(pair(p.from_tier, p.to_tier), float(p.referrals)) for p in found.tiers]
    svg2 = bar_chart(bars, maximum=max([b for _, b in bars] + [1.0]), title=title) if bars else None
    cols = ("from_tier", "to_tier", "referral_direction", "referrals", "arrived")
    shown = [[label("tier", p.from_tier, lang), label("tier", p.to_tier, lang), _direction(p.direction, lang),
              str(p.referrals), str(p.arrived)] for p in found.tiers]
    raw = [[label("tier", p.from_tier), label("tier", p.to_tier), _direction(p.direction, "zh"), p.referrals,
            p.arrived] for p in found.tiers]
    out.append(FlowTable("tiers", title, svg2, cols, shown, raw))
    title = t("预留号源使用（按接收机构）", "Reserved places by receiving institution")
    cols = ("inst_id", "name", "slots", "capacity", "reserved", "referred", "released", "booked_open",
            "reserve_unused")
    raw = [[c.inst_id, c.name, c.slots, c.capacity, c.reserved, c.referred, c.released, c.booked_open,
            c.reserve_unused] for c in found.capacity]
    out.append(FlowTable("capacity", title, None, cols, [[str(v) for v in r] for r in raw], raw))
    return out


FlowYear = Annotated[int | None, Query(ge=2000, le=2100)]


@router.get("/referral-flows", response_class=HTMLResponse)
def flows_page(request: Request, ctx: ContextDep, db: DbSession, principal: CurrentPrincipal,
               year: FlowYear = None) -> Response:
    """转诊流向 / For officials: referrals between the tiers by month and by tier pair (a chart and its table), and
    the use of the places reserved for referred patients per receiving institution; each table as CSV."""
    me = _official(principal)
    y = year or ctx.clock.today().year
    found = _run(lambda: flows(ReferralUnitOfWork(db), me, year=y))
    lang = lang_of(request)
    return render(request, ctx, "referral_flows.html", me, year=y, found=found,
                  tables=_flow_tables(found, translator(lang), lang))


@router.get("/referral-flows.csv")
def flows_csv(request: Request, ctx: ContextDep, db: DbSession, principal: CurrentPrincipal,
              table: Annotated[Literal["months", "tiers", "capacity"], Query()], year: FlowYear = None) -> Response:
    """One table of the flows page as CSV (headers labelled: ``"上转 up"``)."""
    me = _official(principal)
    y = year or ctx.clock.today().year
    found = _run(lambda: flows(ReferralUnitOfWork(db), me, year=y))
    lang = lang_of(request)
    chosen = next(x for x in _flow_tables(found, translator(lang), lang) if x.name == table)
    return csv_response(f"referral-flows-{table}-{y}.csv", chosen.columns, chosen.raw, lang=lang_of(request))
