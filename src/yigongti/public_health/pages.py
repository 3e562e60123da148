"""Infectious-disease report pages (传染病报告): the public-health staff's alert list (overdue and due-soon cards, by
class, counting down to each legal deadline), a card's page from its diagnosis to its submission, a clinician's form
to record a diagnosis, and the cards missed or late per institution (table and CSV).

Who sees what (the same use cases and refusals as ``/api/public-health``): the alert list and the timeliness table
for the consortium admin (the consortium's public-health staff), the health commission and an institution admin; a
clinician records diagnoses and sees the cards of their institution; a card's page for whoever may handle it (and
the health commission, read only). Every list of cards names persons and is audited by the use case. Forms post
with the page's CSRF token and answer with a redirect (post/redirect/get); a refusal is the error page with its
status (403, 404, 422).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Path, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from yigongti.core.dates import china_time
from yigongti.core.labels import labelled
from yigongti.platform.accounts import Role
from yigongti.platform.deps import ContextDep, DbSession, Official, ScopeDep, visible_person
from yigongti.platform.deps import run_use_case as _run
from yigongti.platform.downloads import csv_response
from yigongti.platform.i18n import lang_of
from yigongti.platform.pages import CheckedCsrf, render
from yigongti.public_health.domain import (
    CLASS_LABELS,
    SITE_KINDS,
    STATUS_LABELS,
    TIMELINESS_LABELS,
    InstitutionTally,
    Timeliness,
    week_start,
)
from yigongti.public_health.service import (
    Alert,
    ClusterItem,
    Exposure,
    SurveillanceWeek,
    alerts,
    card_view,
    catalogue_for,
    check_exposure,
    foodborne_cases,
    foodborne_clusters,
    foodborne_list,
    institution_cards,
    put_stockpile,
    recent_places,
    record_diagnosis,
    record_foodborne,
    record_surveillance,
    stockpile,
    submit_card,
    submit_cluster,
    submit_foodborne,
    surveillance,
    timeliness_by_institution,
    void_card,
)
from yigongti.public_health.uow import PublicHealthUnitOfWork

__all__ = ["DUE_SOON_HOURS", "countdown", "router"]

router = APIRouter(include_in_schema=False)
DUE_SOON_HOURS = 6
"""A pending card due within this many hours is shown as due soon (即将到期): a display choice, not a legal rule."""
OVERSEERS = (Role.CONSORTIUM_ADMIN, Role.HEALTH_COMMISSION, Role.INSTITUTION_ADMIN)
CardIdPath = Annotated[int, Path(ge=1, le=2**31 - 1)]
_ICD = r"^[A-Za-z0-9.\-]+$"
TIMELINESS_COLUMNS = ("inst_id", "name", "cards", "on_time", "late", "missed", "pending", "voided", "timely_rate")


def countdown(deadline: datetime, now: datetime) -> str:
    """``"剩余 3小时20分 / 3 h 20 min left"`` or ``"已超时 1天2小时 / 1 d 2 h overdue"`` (to the minute)."""
    minutes = int((deadline - now).total_seconds() // 60)
    late = minutes < 0
    m = abs(minutes)
    d, h, mm = m // 1440, m % 1440 // 60, m % 60
    zh = (f"{d}天" if d else "") + (f"{h}小时" if h or d else "") + ("" if d else f"{mm}分")
    en = " ".join(p for p in ((f"{d} d" if d else ""), (f"{h} h" if h or d else ""), ("" if d else f"{mm} min")) if p)
    return f"已超时 {zh} / {en} overdue" if late else f"剩余 {zh} / {en} left"


def _state(deadline: datetime, state: Timeliness, now: datetime) -> str:
    """overdue, due_soon or pending (the alert list's three groups)."""
    if state is Timeliness.OVERDUE:
        return "overdue"
    return "due_soon" if (deadline - now).total_seconds() <= DUE_SOON_HOURS * 3600 else "pending"


STATE_LABELS = {"overdue": "超时未报 / overdue", "due_soon": "即将到期 / due soon", "pending": "待报告 / pending"}


@dataclass(frozen=True)
class Row:
    """A card on the list: the card, its disease's label, its group (overdue, due_soon, pending, or how it was
    reported), the time left or overdue."""

    a: Alert
    disease: str
    group: str
    countdown: str


def _uow(db: DbSession) -> PublicHealthUnitOfWork:
    return PublicHealthUnitOfWork(db)


@router.get("/public-health", response_class=HTMLResponse)
def alerts_page(request: Request, ctx: ContextDep, db: DbSession, principal: Official,
                cls: Annotated[str, Query(pattern="^[ABC]?$")] = "",
                note: Annotated[str, Query(max_length=16, pattern=_ICD + "|^$")] = "") -> Response:
    """预警列表 / The cards not yet reported, overdue first then by deadline; a clinician: the form to record a
    diagnosis and the institution's cards of the last 30 days."""
    now = ctx.clock.now()
    ph = ctx.policy.public_health
    cat = catalogue_for(ph)
    clusters: list[ClusterRow] = []
    if principal.role is Role.CLINICIAN:
        items = _run(lambda: institution_cards(_uow(db), principal, now=now))
    elif principal.role in OVERSEERS:
        items = _run(lambda: alerts(_uow(db), principal, now=now))
        clusters = _cluster_rows(_run(lambda: foodborne_clusters(_uow(db), principal, policy=ph, now=now,
                                                                 pending_only=True)), now)
    else:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "仅公共卫生管理人员和医生可用 / public-health staff and "
                                                       "clinicians only")
    rows = []
    for a in items:
        d = cat.get(a.card.disease_code)
        pending = a.state in (Timeliness.PENDING, Timeliness.OVERDUE)
        rows.append(Row(a, d.label if d else a.card.disease_code,
                        _state(a.card.deadline, a.state, now) if pending else a.state.value,
                        countdown(a.card.deadline, now) if pending else ""))
    by_class = {c: sum(1 for r in rows if r.a.card.disease_class == c) for c in "ABC"}
    groups = {g: sum(1 for r in rows if r.group == g) for g in STATE_LABELS}
    shown = [r for r in rows if not cls or r.a.card.disease_class == cls]
    return render(request, ctx, "public_health.html", principal, rows=shown, by_class=by_class, groups=groups,
                  cls=cls, class_labels=CLASS_LABELS, state_labels={**STATE_LABELS, **TIMELINESS_LABELS},
                  clinician=principal.role is Role.CLINICIAN, note=note, due_soon_hours=DUE_SOON_HOURS,
                  hours=(ph.class_a_hours, ph.other_hours), clusters=clusters, places=_places(db, ctx, principal))


@router.post("/public-health/diagnoses", response_class=HTMLResponse)
def record_page(request: Request, ctx: ContextDep, db: DbSession, principal: Official, person_scope: ScopeDep,
                _csrf: CheckedCsrf, person_id: Annotated[str, Form(min_length=1, max_length=64)],
                icd10: Annotated[str, Form(min_length=1, max_length=16, pattern=_ICD)],
                diagnosed_at: Annotated[str, Form(max_length=32)] = "",
                onset_at: Annotated[str, Form(max_length=32)] = "",
                exposure_place: Annotated[str, Form(max_length=200)] = "",
                suspected_food: Annotated[str, Form(max_length=200)] = "") -> Response:
    """登记诊断 / A clinician records a diagnosis of a person in their scope: a notifiable one opens (or joins) a
    report card, whose page follows; another one says so on the list."""
    if principal.role is not Role.CLINICIAN or not principal.inst_id:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "仅医生可登记诊断 / only clinicians record diagnoses")
    visible_person(request, ctx, db, person_scope, person_id.strip())
    now = ctx.clock.now()
    at = _form_time(diagnosed_at, "diagnosed_at") or now
    exposure = Exposure(_form_time(onset_at, "onset_at"), exposure_place, suspected_food)
    _run(lambda: check_exposure(exposure, at))
    policy = ctx.policy.public_health
    inst_id = principal.inst_id
    r = _run(lambda: record_diagnosis(_uow(db), principal, person_id=person_id.strip(), inst_id=inst_id,
                                      icd10=icd10, at=at, catalogue=catalogue_for(policy), policy=policy, now=now))
    fb = _run(lambda: record_foodborne(_uow(db), principal, person_id=person_id.strip(), inst_id=inst_id,
                                       icd10=icd10, at=at, cases=foodborne_cases(), now=now, exposure=exposure))
    if r.card_id is not None:
        also = f"&fb={fb.card_id}" if fb is not None else ""
        return RedirectResponse(f"/public-health/cards/{r.card_id}?done={'joined' if r.joined else 'new'}{also}",
                                status.HTTP_303_SEE_OTHER)
    if fb is not None:
        return RedirectResponse(f"/public-health/foodborne?done={fb.card_id}#f{fb.card_id}",
                                status.HTTP_303_SEE_OTHER)
    return RedirectResponse(f"/public-health?note={icd10.upper()}", status.HTTP_303_SEE_OTHER)


def _form_time(value: str, field: str) -> datetime | None:
    """A form's date and time (China time), None when empty; 422 naming the field when not a date and time."""
    if not value.strip():
        return None
    try:
        return china_time(datetime.fromisoformat(value.strip()))
    except ValueError:
        raise HTTPException(422, f"{field}: 时间格式应为 YYYY-MM-DDTHH:MM / must be a date and time") from None


def _places(db: DbSession, ctx: ContextDep, principal: Official) -> list[str]:
    """The exposure places of the last cluster window's food-borne cases, for the form's suggestions (one place
    typed alike groups the cases); a clinician only."""
    if principal.role is not Role.CLINICIAN:
        return []
    hours = ctx.policy.public_health.foodborne_cluster_window_hours
    return _run(lambda: recent_places(_uow(db), principal, now=ctx.clock.now(), hours=hours))


@router.get("/public-health/cards/{card_id}", response_class=HTMLResponse)
def card_page(request: Request, ctx: ContextDep, db: DbSession, principal: Official, card_id: CardIdPath,
              done: Annotated[str, Query(pattern="^(new|joined|submitted|voided)?$")] = "",
              fb: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None) -> Response:
    """一张报告卡 / A card from its diagnosis to its submission, with the forms to submit or void it."""
    now = ctx.clock.now()
    view = _run(lambda: card_view(_uow(db), principal, card_id, now=now))
    d = catalogue_for(ctx.policy.public_health).get(view.card.disease_code)
    hours = round((view.card.deadline - view.card.diagnosed_at).total_seconds() / 3600)
    pending = view.state in (Timeliness.PENDING, Timeliness.OVERDUE)
    return render(request, ctx, "infectious_card.html", principal, v=view, c=view.card,
                  disease=d.label if d else view.card.disease_code, hours=hours, done=done, fb=fb,
                  countdown=countdown(view.card.deadline, now) if pending else "",
                  class_labels=CLASS_LABELS, status_labels=STATUS_LABELS, timeliness_labels=TIMELINESS_LABELS)


def _back(card_id: int, done: str) -> Response:
    return RedirectResponse(f"/public-health/cards/{card_id}?done={done}", status.HTTP_303_SEE_OTHER)


@router.post("/public-health/cards/{card_id}/submit", response_class=HTMLResponse)
def submit_page(ctx: ContextDep, db: DbSession, principal: Official, _csrf: CheckedCsrf,
                card_id: CardIdPath) -> Response:
    """网络直报 / Submit the card: on time by its deadline, else late."""
    _run(lambda: submit_card(_uow(db), principal, card_id, now=ctx.clock.now()))
    return _back(card_id, "submitted")


@router.post("/public-health/cards/{card_id}/void", response_class=HTMLResponse)
def void_page(ctx: ContextDep, db: DbSession, principal: Official, _csrf: CheckedCsrf, card_id: CardIdPath,
              reason: Annotated[str, Form(min_length=1, max_length=2000)]) -> Response:
    """订正排除 / Void the card (the diagnosis was revised), with the reason."""
    _run(lambda: void_card(_uow(db), principal, card_id, reason=reason.strip(), now=ctx.clock.now()))
    return _back(card_id, "voided")


KindQuery = Annotated[str, Query(pattern="^(infectious|foodborne)$")]
"""Which reports the timeliness table counts: the infectious cards or the food-borne case reports."""


def _tally(ctx: ContextDep, db: DbSession, principal: Official, year: int | None,
           kind: str = "infectious") -> tuple[int, list[InstitutionTally]]:
    y = year or ctx.clock.today().year
    if principal.role not in OVERSEERS:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "仅公共卫生管理人员可查看 / public-health staff only")
    tallies = _run(lambda: timeliness_by_institution(_uow(db), principal, year=y, now=ctx.clock.now(),
                                                     foodborne=kind == "foodborne"))
    return y, sorted(tallies, key=lambda t: (-(t.missed + t.late), t.inst_id))


def _rate(t: InstitutionTally) -> str:
    rate = t.timely_rate
    return "" if rate is None else f"{rate * 100:.1f}"


@router.get("/public-health/timeliness", response_class=HTMLResponse)
def timeliness_page(request: Request, ctx: ContextDep, db: DbSession, principal: Official,
                    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
                    kind: KindQuery = "infectious") -> Response:
    """报告及时性 / Per institution the year's cards: on time, late, missed (overdue, not reported), pending,
    the institutions with the most missed and late cards first."""
    y, tallies = _tally(ctx, db, principal, year, kind)
    total = InstitutionTally("")
    for t in tallies:
        for f in ("cards", "on_time", "late", "missed", "pending", "voided"):
            setattr(total, f, getattr(total, f) + getattr(t, f))
    return render(request, ctx, "infectious_timeliness.html", principal, year=y, tallies=tallies, total=total,
                  rate=_rate, kind=kind)


@router.get("/public-health/timeliness.csv")
def timeliness_csv(request: Request, ctx: ContextDep, db: DbSession, principal: Official,
                   year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
                   kind: KindQuery = "infectious") -> Response:
    """The same table as CSV (labelled headers, no personal data)."""
    y, tallies = _tally(ctx, db, principal, year, kind)
    names = ctx.registry.get().institutions if ctx.registry is not None else {}

    def name(inst_id: str) -> str:
        inst = names.get(inst_id)
        return inst.name if inst is not None else ""

    return csv_response(f"{kind}-timeliness-{y}.csv", TIMELINESS_COLUMNS,
                        ([t.inst_id, name(t.inst_id), t.cards, t.on_time, t.late, t.missed, t.pending, t.voided,
                          _rate(t)] for t in tallies), lang=lang_of(request))


@router.get("/public-health/foodborne", response_class=HTMLResponse)
def foodborne_page(request: Request, ctx: ContextDep, db: DbSession, principal: Official,
                   done: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
                   cluster: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None) -> Response:
    """食源性疾病病例报告 / The food-borne clusters at the top (not reported first, counting down), then the case
    reports: pending ones first (overdue first, counting down), then the year's reported ones; a report button where
    the reader may report."""
    _readers(principal)
    now = ctx.clock.now()
    cases = foodborne_cases()
    items = _run(lambda: foodborne_list(_uow(db), principal, now=now))
    clusters = _cluster_rows(_run(lambda: foodborne_clusters(_uow(db), principal, policy=ctx.policy.public_health,
                                                             now=now)), now)
    rows = []
    for i in items:
        case = cases.get(i.card.case_code)
        pending = i.state in (Timeliness.PENDING, Timeliness.OVERDUE)
        rows.append((i, case.label if case else i.card.case_code,
                     _state(i.card.deadline, i.state, now) if pending else i.state.value,
                     countdown(i.card.deadline, now) if pending else ""))
    return render(request, ctx, "foodborne.html", principal, rows=rows, done=done, hours=cases.report_hours,
                  state_labels={**STATE_LABELS, **TIMELINESS_LABELS}, cases=cases.cases,
                  pending=sum(1 for r in rows if r[2] in STATE_LABELS), clusters=clusters, cluster=cluster,
                  policy=ctx.policy.public_health,
                  cluster_counts={g: sum(1 for k in clusters if k.group == g)
                                  for g in ("overdue", "due_soon", "pending", "on_time", "late")})


@router.post("/public-health/foodborne/{card_id}/submit", response_class=HTMLResponse)
def foodborne_submit(ctx: ContextDep, db: DbSession, principal: Official, _csrf: CheckedCsrf,
                     card_id: CardIdPath) -> Response:
    """报告 / Report the food-borne case: on time by its deadline, else late."""
    _run(lambda: submit_foodborne(_uow(db), principal, card_id, now=ctx.clock.now()))
    return RedirectResponse(f"/public-health/foodborne?done={card_id}#f{card_id}", status.HTTP_303_SEE_OTHER)


# --- Food-borne clusters (食源性聚集性病例) ---

CLUSTER_COLUMNS = ("cluster_id", "exposure_place", "cases", "cases_in_scope", "institutions", "suspected_foods",
                   "first_at", "last_at", "formed_at", "deadline", "state", "submitted_at", "submitted_by",
                   "cases_since_report")


@dataclass(frozen=True)
class ClusterRow:
    """A cluster on a list: the item, its group (overdue, due_soon, pending, on_time, late) and the time left."""

    k: ClusterItem
    group: str
    countdown: str


def _cluster_rows(items: list[ClusterItem], now: datetime) -> list[ClusterRow]:
    out = []
    for k in items:
        pending = k.state in (Timeliness.PENDING, Timeliness.OVERDUE)
        out.append(ClusterRow(k, _state(k.deadline, k.state, now) if pending else k.state.value,
                              countdown(k.deadline, now) if pending else ""))
    return out


def _readers(principal: Official) -> None:
    if principal.role is not Role.CLINICIAN and principal.role not in OVERSEERS:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "仅公共卫生管理人员和医生可用 / public-health staff and "
                                                       "clinicians only")


@router.post("/public-health/foodborne/clusters/{card_id}/submit", response_class=HTMLResponse)
def cluster_submit(ctx: ContextDep, db: DbSession, principal: Official, _csrf: CheckedCsrf,
                   card_id: CardIdPath) -> Response:
    """报告聚集性病例 / The consortium's public-health staff report the cluster (any of its cases' id): on time by
    its deadline, else late."""
    _run(lambda: submit_cluster(_uow(db), principal, card_id, policy=ctx.policy.public_health, now=ctx.clock.now()))
    return RedirectResponse(f"/public-health/foodborne?cluster={card_id}#k{card_id}", status.HTTP_303_SEE_OTHER)


@router.get("/public-health/foodborne/clusters.csv")
def clusters_csv(request: Request, ctx: ContextDep, db: DbSession, principal: Official) -> Response:
    """The clusters of the last year as CSV (no personal data: places, counts, institutions, times, report)."""
    _readers(principal)
    now = ctx.clock.now()
    rows = _cluster_rows(_run(lambda: foodborne_clusters(_uow(db), principal, policy=ctx.policy.public_health,
                                                         now=now)), now)
    names = ctx.registry.get().institutions if ctx.registry is not None else {}
    labels = {**STATE_LABELS, **TIMELINESS_LABELS}

    def when(t: datetime | None) -> str:
        return t.isoformat(timespec="minutes") if t is not None else ""

    return csv_response("foodborne-clusters.csv", CLUSTER_COLUMNS, (
        [r.k.cluster.cluster_id, r.k.place, r.k.total, len(r.k.cases),
         "; ".join(f"{names[i].name} {i}" if i in names else i for i in r.k.inst_ids), "; ".join(r.k.foods),
         when(r.k.cluster.first_at), when(r.k.cluster.last_at), when(r.k.cluster.formed_at), when(r.k.deadline),
         f"{labels[r.group]} {r.group}", when(r.k.report.submitted_at if r.k.report else None),
         r.k.report.submitted_by if r.k.report else "", r.k.new_since_report] for r in rows),
        lang=lang_of(request))


# --- Surveillance and the emergency stockpile (监测预警与应急物资) ---

SURVEILLANCE_COLUMNS = ("inst_id", "name", "site_kind", "syndrome", "week", "cases", "threshold", "threshold_basis",
                        "warning")
STOCKPILE_COLUMNS = ("inst_id", "name", "item_code", "item_name", "category", "batch", "quantity", "unit", "minimum",
                     "expires_on", "flags")
SURVEILLANCE_WEEKS = 4
"""Weeks the surveillance page shows (the thresholds read further back)."""


def _surveillance(ctx: ContextDep, db: DbSession, principal: Official, until: date | None) -> list[SurveillanceWeek]:
    end = until or ctx.clock.today()
    return _run(lambda: surveillance(_uow(db), principal, policy=ctx.policy.public_health, until=end,
                                     weeks=SURVEILLANCE_WEEKS))


def _writable(ctx: ContextDep, principal: Official) -> list[str]:
    """The institutions whose counts and stockpile the principal may record (staff: their own; consortium admin: its
    members)."""
    if principal.role in (Role.CLINICIAN, Role.INSTITUTION_ADMIN) and principal.inst_id:
        return [principal.inst_id]
    if principal.role is Role.CONSORTIUM_ADMIN and principal.consortium_id and ctx.registry is not None:
        return sorted(i for i, inst in ctx.registry.get().institutions.items()
                      if inst.consortium_id == principal.consortium_id)
    return []


@router.get("/public-health/surveillance", response_class=HTMLResponse)
def surveillance_page(request: Request, ctx: ContextDep, db: DbSession, principal: Official,
                      until: Annotated[date | None, Query()] = None,
                      done: Annotated[str, Query(max_length=32, pattern=r"^[0-9\-]*$")] = "") -> Response:
    """症状监测 / The weekly counts of the fever clinics and sentinel sites in scope, warnings first, each with its
    threshold; the form to record a week (institution staff, the consortium admin)."""
    rows = _surveillance(ctx, db, principal, until)
    policy = ctx.policy.public_health
    return render(request, ctx, "surveillance.html", principal, rows=rows, policy=policy, done=done,
                  warnings=sum(1 for r in rows if r.warning), writable=_writable(ctx, principal),
                  site_kinds=SITE_KINDS, this_week=week_start(ctx.clock.today()))


@router.post("/public-health/surveillance", response_class=HTMLResponse)
async def surveillance_record(request: Request, ctx: ContextDep, db: DbSession, principal: Official,
                              _csrf: CheckedCsrf,
                              inst_id: Annotated[str, Form(min_length=1, max_length=64)],
                              site_kind: Annotated[str, Form(pattern="^(fever_clinic|sentinel)$")],
                              week: Annotated[date, Form()]) -> Response:
    """Record a site's week: one field ``n_<syndrome>`` per syndrome (empty: not counted)."""
    form = await request.form()
    counts: dict[str, int] = {}
    for code in ctx.policy.public_health.syndromes:
        raw = str(form.get(f"n_{code}") or "").strip()
        if raw:
            if not raw.isdigit() or len(raw) > 7:
                raise HTTPException(422, f"n_{code}: a count of cases / 病例数")
            counts[code] = int(raw)
    _run(lambda: record_surveillance(_uow(db), principal, inst_id=inst_id, site_kind=site_kind, week=week,
                                     counts=counts, policy=ctx.policy.public_health, now=ctx.clock.now()))
    return RedirectResponse(f"/public-health/surveillance?done={week_start(week).isoformat()}",
                            status.HTTP_303_SEE_OTHER)


@router.get("/public-health/surveillance.csv")
def surveillance_csv(request: Request, ctx: ContextDep, db: DbSession, principal: Official,
                     until: Annotated[date | None, Query()] = None) -> Response:
    """The same weeks as CSV (labelled headers; the syndrome and site as label and code)."""
    rows = _surveillance(ctx, db, principal, until)
    names = ctx.registry.get().institutions if ctx.registry is not None else {}
    return csv_response("surveillance.csv", SURVEILLANCE_COLUMNS, (
        [r.inst_id, names[r.inst_id].name if r.inst_id in names else "", labelled("site_kind", r.site_kind),
         labelled("syndrome", r.syndrome), r.week.isoformat(), r.cases, r.threshold.threshold, r.threshold.basis,
         "是 yes" if r.warning else "否 no"] for r in rows), lang=lang_of(request))


@router.get("/public-health/stockpile", response_class=HTMLResponse)
def stockpile_page(request: Request, ctx: ContextDep, db: DbSession, principal: Official,
                   done: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None) -> Response:
    """应急物资储备 / The emergency stockpile in scope, flagged lines (below minimum, expired, expiring) first; the
    form to set a line (institution staff, the consortium admin)."""
    lines = _run(lambda: stockpile(_uow(db), principal, policy=ctx.policy.public_health, today=ctx.clock.today()))
    return render(request, ctx, "stockpile.html", principal, lines=lines, done=done,
                  flagged=sum(1 for x in lines if x.flags), writable=_writable(ctx, principal),
                  warn_days=ctx.policy.public_health.stockpile_warn_days)


@router.post("/public-health/stockpile", response_class=HTMLResponse)
def stockpile_put(ctx: ContextDep, db: DbSession, principal: Official, _csrf: CheckedCsrf,
                  inst_id: Annotated[str, Form(min_length=1, max_length=64)],
                  item_code: Annotated[str, Form(min_length=1, max_length=64)],
                  item_name: Annotated[str, Form(min_length=1, max_length=200)],
                  category: Annotated[str, Form(min_length=1, max_length=32)],
                  unit: Annotated[str, Form(min_length=1, max_length=16)],
                  batch: Annotated[str, Form(min_length=1, max_length=64)],
                  quantity: Annotated[int, Form(ge=0, le=100_000_000)],
                  minimum: Annotated[int, Form(ge=0, le=100_000_000)],
                  expires_on: Annotated[date | None, Form()] = None) -> Response:
    """Set a stockpile line (its quantity, minimum and expiry)."""
    line_id = _run(lambda: put_stockpile(_uow(db), principal, inst_id=inst_id, item_code=item_code,
                                         item_name=item_name, category=category, unit=unit, batch=batch,
                                         quantity=quantity, minimum=minimum, expires_on=expires_on,
                                         now=ctx.clock.now()))
    return RedirectResponse(f"/public-health/stockpile?done={line_id}#l{line_id}", status.HTTP_303_SEE_OTHER)


@router.get("/public-health/stockpile.csv")
def stockpile_csv(request: Request, ctx: ContextDep, db: DbSession, principal: Official) -> Response:
    """The stockpile as CSV, each flag as its label and code."""
    lines = _run(lambda: stockpile(_uow(db), principal, policy=ctx.policy.public_health, today=ctx.clock.today()))
    names = ctx.registry.get().institutions if ctx.registry is not None else {}
    return csv_response("stockpile.csv", STOCKPILE_COLUMNS, (
        [x.row.inst_id, names[x.row.inst_id].name if x.row.inst_id in names else "", x.row.item_code,
         x.row.item_name, x.row.category, x.row.batch, x.row.quantity, x.row.unit, x.row.minimum,
         x.row.expires_on.isoformat() if x.row.expires_on else "",
         "; ".join(labelled("stock_flag", f) for f in x.flags)] for x in lines), lang=lang_of(request))
