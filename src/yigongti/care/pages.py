"""The family doctor's pages (家庭医生工作台) and the officials' control-rate dashboard (慢病控制率), Chinese first.

* ``/care``: the signed-in family doctor's day on a phone: the worklists of their panel (overdue, due this week,
  uncontrolled at the last visit, lost to follow-up), each patient one tap from the follow-up form; an institution
  admin picks one of the institution's GPs (``?gp=``).
* ``/care/persons/{id}``: a patient's chronic diseases with the control status of the last reading and the trend of
  blood pressure and fasting glucose (server-side SVG, its figures in a table beside it); the patient's long
  prescriptions and, for a clinician, the form issuing one (``POST /care/persons/{id}/long-prescription``: disease
  and days; refused with the reason shown).
* ``/care/persons/{id}/followup``: the one-screen follow-up form (BP, fasting glucose, HbA1c, medicines, the next
  date; prefilled with today, the medicines of the last visit and the next date by the norm). Checked on the server:
  a refusal re-shows the form with the reason in Chinese (422); a saved follow-up goes back to the worklist
  (post/redirect/get).
* ``/care/gp-pay``: every GP's pay for the year (家庭医生薪酬: contracted heads, quality, rural allowance) for the
  official's consortia, each component in yuan; ``/care/gp-pay.csv`` downloads it.
* ``/care/key``: the family doctor's key-population services due and overdue today (65+, children 0-6, pregnant
  women, tuberculosis, severe mental disorders), each recorded done with one tap (``POST
  /care/persons/{id}/key-service``).
* ``/care/duties``: each member's public-health duty list (公共卫生责任清单) for the key populations with the
  completion rates, drilled down consortium -> township centre -> village clinic; ``/care/duties.csv`` downloads it.
  The lists are kept between requests (:class:`~yigongti.care.service.DutyCache`) until a register, service or
  designation is written.
* ``/care/dashboard``: the standardized-management and control rates by month, for the official's consortia,
  drilled down consortium -> township centre -> village clinic like ``/dashboard``, with the table per village
  clinic; ``/care/dashboard.csv`` downloads a table with labelled headers.

The same use cases as ``/api/care`` (and the same refusals); every page naming a person checks the scope (404
outside it) and is audited.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from yigongti.care.domain import Disease, Worklist, add_months
from yigongti.care.schedules import SCHEDULED
from yigongti.care.service import (
    GP_PAY_READERS,
    DutyCache,
    DutyFigures,
    DutyView,
    GpPayView,
    RecordFollowup,
    RecordService,
    db_gp_pay,
    db_measures,
    doctor_day,
    duty_view,
    followup_history,
    gps_of,
    issue_long_prescription,
    key_worklist,
    long_prescriptions_of,
    person_status,
    record_followup,
    record_service,
)
from yigongti.care.uow import CareUnitOfWork
from yigongti.core.labels import label
from yigongti.core.money import format_yuan
from yigongti.core.policy import CarePolicy
from yigongti.platform import audit
from yigongti.platform.accounts import Principal, Role
from yigongti.platform.charts import PALETTE, line_chart, map_chart
from yigongti.platform.deps import (
    ContextDep,
    DbSession,
    Official,
    PersonIdPath,
    ScopeDep,
    require_roles,
    visible_person,
)
from yigongti.platform.deps import run_use_case as _run
from yigongti.platform.downloads import csv_response
from yigongti.platform.i18n import lang_of, translator
from yigongti.platform.pages import CheckedCsrf, PagePrincipal, render
from yigongti.platform.scope import consortia_in_scope
from yigongti.registry import service as registry

__all__ = ["FormIn", "check_form", "router"]

router = APIRouter(include_in_schema=False)
Id = Annotated[str | None, Query(max_length=40, pattern=r"^[A-Za-z0-9_.\-]+$")]
DiseaseQ = Annotated[Literal["hypertension", "diabetes"], Query()]
YearQ = Annotated[int | None, Query(ge=2000, le=2100)]
RATE_COLUMNS = ("registered", "under_management", "standardized_rate", "control_rate", "missed_visit_rate",
                "lost_rate")


def _staff(principal: Principal) -> Principal:
    if principal.role not in (Role.CLINICIAN, Role.INSTITUTION_ADMIN) or not principal.inst_id:
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            "仅家庭医生和机构管理员可用 / family doctors and institution admins only")
    return principal


def _age(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


# ------------------------------------------------------------------------------------------ the doctor's day

def _seats(db: Any, me: Principal, gp: int | None) -> tuple[list[Any], int | None]:
    """The GP seats an institution admin picks from and the one shown (the first by default); a doctor's own panel
    only (``gp`` ignored)."""
    seats = _run(lambda: gps_of(CareUnitOfWork(db), me)) if me.role is Role.INSTITUTION_ADMIN else []
    if me.role is Role.INSTITUTION_ADMIN and gp is None and seats:
        gp = seats[0].member_id
    if me.role is Role.CLINICIAN:
        gp = None
    return seats, gp


@router.get("/care", response_class=HTMLResponse)
def care_day(request: Request, ctx: ContextDep, db: DbSession, principal: PagePrincipal, person_scope: ScopeDep,
             gp: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
             done: Annotated[str, Query(max_length=64, pattern=r"^[A-Za-z0-9_.\-]*$")] = "") -> Response:
    """家庭医生工作台 / The family doctor's worklists for today."""
    me = _staff(principal)
    today = ctx.clock.today()
    seats, gp = _seats(db, me, gp)
    try:
        day = doctor_day(CareUnitOfWork(db), me, gp_member_id=gp, today=today, policy=ctx.policy.care,
                         condition=person_scope.condition)
    except LookupError as exc:  # NotFound: no GP seat (a clinician who is not a team's GP) or not one of ours
        if gp is not None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
        return render(request, ctx, "care_day.html", me, day=None, seats=seats, gp=gp, done=done, no_seat=str(exc),
                      worklists=list(Worklist), ages={})
    if day.persons:
        audit.record(db, me, action="GET /care", person_ids=sorted(day.persons), at=ctx.clock.now())
    ages = {pid: _age(p.birth_date, today) for pid, p in day.persons.items()}
    return render(request, ctx, "care_day.html", me, day=day, seats=seats, gp=gp, done=done, no_seat="",
                  worklists=list(Worklist), ages=ages)


# ------------------------------------------------------------------------------------------ a patient's page

def _trend(t: Any, history: list[Any]) -> tuple[Markup | None, Markup | None]:
    bp = [f for f in history if f.systolic is not None and f.diastolic is not None]
    glucose = [f for f in history if f.fasting_glucose is not None]
    bp_svg = glucose_svg = None
    if bp:
        bp_svg = line_chart([f.date.strftime("%m-%d") for f in bp],
                            [(t("收缩压", "systolic"), [float(f.systolic) for f in bp]),
                             (t("舒张压", "diastolic"), [float(f.diastolic) for f in bp])],
                            unit=" mmHg", width=390, height=240,
                            title=t("血压趋势（mmHg），控制目标 <140/90", "Blood pressure (mmHg), target below 140/90"))
    if glucose:
        glucose_svg = line_chart([f.date.strftime("%m-%d") for f in glucose],
                                 [(t("空腹血糖", "fasting glucose"), [float(f.fasting_glucose) for f in glucose])],
                                 unit=" mmol/L", width=390, height=220,
                                 title=t("空腹血糖趋势（mmol/L），控制目标 <7.0",
                                         "Fasting glucose (mmol/L), target below 7.0"))
    return bp_svg, glucose_svg


@dataclass
class RxIn:
    """The long-prescription form (长处方) as typed, and its refusal."""

    disease: str = ""
    days: str = ""
    error: str = ""


def _patient(request: Request, ctx: Any, db: Any, me: Principal, person: Any, *, rx: RxIn | None = None,
             issued: int | None = None, status_code: int = 200) -> Response:
    today = ctx.clock.today()
    diseases, contract = person_status(CareUnitOfWork(db), person.person_id, today=today, policy=ctx.policy.care)
    history = followup_history(CareUnitOfWork(db), person.person_id)
    prescriptions = long_prescriptions_of(CareUnitOfWork(db), person.person_id)
    bp_svg, glucose_svg = _trend(translator(lang_of(request)), history)
    if rx is None:
        rx = RxIn(disease=diseases[0].disease if diseases else "", days=str(ctx.policy.care.long_prescription_days))
    return render(request, ctx, "care_patient.html", me, person=person, age=_age(person.birth_date, today),
                  diseases=diseases, contract=contract, history=history, bp_svg=bp_svg, glucose_svg=glucose_svg,
                  prescriptions=prescriptions, rx=rx, issued=next((p for p in prescriptions if p.rx_id == issued),
                                                                   None),
                  rx_max=ctx.policy.care.long_prescription_days, all_diseases=[d.value for d in Disease],
                  status_code=status_code)


@router.get("/care/persons/{person_id}", response_class=HTMLResponse)
def patient_page(request: Request, ctx: ContextDep, db: DbSession, principal: PagePrincipal,
                 person_scope: ScopeDep, person_id: PersonIdPath,
                 rx: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None) -> Response:
    """慢病患者档案 / A patient's control status, the trend of their readings and their long prescriptions (``rx``:
    the one just issued, confirmed on the page)."""
    me = _staff(principal)
    person = visible_person(request, ctx, db, person_scope, person_id)
    return _patient(request, ctx, db, me, person, issued=rx)


@router.post("/care/persons/{person_id}/long-prescription", response_class=HTMLResponse)
def post_long_prescription(request: Request, ctx: ContextDep, db: DbSession, principal: PagePrincipal,
                           person_scope: ScopeDep, _csrf: CheckedCsrf, person_id: PersonIdPath,
                           disease: Annotated[str, Form(max_length=20)] = "",
                           days: Annotated[str, Form(max_length=10)] = "") -> Response:
    """开具长处方 / Issue a long prescription from the patient's page (the use case of ``POST
    /api/care/long-prescriptions``): issued -> back to the page with the confirmation (post/redirect/get); refused ->
    the page again with the reason (422), nothing recorded."""
    me = _staff(principal)
    if me.role is not Role.CLINICIAN:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "仅医生可开具处方 / only a clinician prescribes")
    person = visible_person(request, ctx, db, person_scope, person_id)
    form = RxIn(disease=disease, days=days)
    n = int(days.strip()) if days.strip().isascii() and days.strip().isdigit() else None
    if disease not in {d.value for d in Disease}:
        form.error = "请选择病种 / choose the disease"
    elif n is None or not 1 <= n <= 366:
        form.error = "天数须为 1-366 的整数 / the days are a whole number from 1 to 366"
    else:
        try:
            row = issue_long_prescription(CareUnitOfWork(db), me, person_id=person.person_id, disease=disease,
                                          days=n, today=ctx.clock.today(), now=ctx.clock.now(),
                                          policy=ctx.policy.care)
        except ValueError as exc:  # InvalidRequest / PrescriptionRefused: the reason, nothing recorded
            form.error = str(exc)
        else:
            return RedirectResponse(f"/care/persons/{person.person_id}?rx={row.rx_id}#rx",
                                    status.HTTP_303_SEE_OTHER)
    return _patient(request, ctx, db, me, person, rx=form, status_code=422)


# --------------------------------------------------------------------------------------- the follow-up form

@dataclass
class FormIn:
    disease: str = ""
    date: str = ""
    systolic: str = ""
    diastolic: str = ""
    fasting_glucose: str = ""
    hba1c: str = ""
    medicines: str = ""
    next_date: str = ""
    errors: dict[str, str] = field(default_factory=dict)


def _int(form: FormIn, name: str, zh: str, lo: int, hi: int) -> int | None:
    raw = unicodedata.normalize("NFKC", getattr(form, name)).strip()  # full-width digits of a Chinese keyboard
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 6:
        form.errors[name] = f"{zh}应为整数 / {name}: a whole number"
        return None
    v = int(raw)
    if not lo <= v <= hi:
        form.errors[name] = f"{zh}应在 {lo}-{hi} 之间 / {name}: between {lo} and {hi}"
        return None
    return v


def _dec(form: FormIn, name: str, zh: str, lo: Decimal, hi: Decimal) -> Decimal | None:
    raw = unicodedata.normalize("NFKC", getattr(form, name)).strip().replace(",", ".")
    if not raw:
        return None
    if not raw.isascii():
        raw = "x"  # other scripts' digits are not readings
    try:
        v = Decimal(raw)
    except InvalidOperation:
        v = Decimal("NaN")
    if not v.is_finite() or len(raw) > 6:
        form.errors[name] = f"{zh}应为数字，如 6.5 / {name}: a number such as 6.5"
        return None
    if not lo <= v <= hi:
        form.errors[name] = f"{zh}应在 {lo}-{hi} 之间 / {name}: between {lo} and {hi}"
        return None
    return v.quantize(Decimal("0.1"))


def _day(form: FormIn, name: str, zh: str) -> date | None:
    raw = getattr(form, name).strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        form.errors[name] = f"{zh}格式应为 年-月-日 / {name}: a date (YYYY-MM-DD)"
        return None


def check_form(form: FormIn, *, today: date) -> RecordFollowup | None:
    """The follow-up the form asks for, or None with ``form.errors`` (field -> the reason, Chinese first)."""
    if form.disease not in (d.value for d in Disease):
        form.errors["disease"] = "请选择病种 / choose the disease"
    on = _day(form, "date", "随访日期") or (today if not form.date.strip() else None)
    if on is not None and on > today:
        form.errors["date"] = "随访日期不能晚于今天 / the visit is not in the future"
    if on is not None and on < add_months(today, -12):
        form.errors["date"] = "随访日期不能早于一年前 / the visit is within the last year"
    systolic = _int(form, "systolic", "收缩压", 40, 300)
    diastolic = _int(form, "diastolic", "舒张压", 20, 200)
    glucose = _dec(form, "fasting_glucose", "空腹血糖", Decimal("0.5"), Decimal(50))
    hba1c = _dec(form, "hba1c", "糖化血红蛋白", Decimal(2), Decimal(25))
    nxt = _day(form, "next_date", "下次随访日期")
    if (form.systolic.strip() == "") != (form.diastolic.strip() == "") and "systolic" not in form.errors \
            and "diastolic" not in form.errors:
        form.errors["diastolic"] = "血压需同时录入收缩压与舒张压 / blood pressure needs both figures"
    if systolic is not None and diastolic is not None and systolic <= diastolic:
        form.errors["systolic"] = "收缩压须高于舒张压 / systolic must be above diastolic"
    if form.disease == Disease.HYPERTENSION.value and not form.systolic.strip() and "diastolic" not in form.errors:
        form.errors["systolic"] = "高血压随访须测量血压 / a hypertension follow-up records the blood pressure"
    if form.disease == Disease.DIABETES.value and not form.fasting_glucose.strip():
        form.errors["fasting_glucose"] = "糖尿病随访须测量空腹血糖 / a diabetes follow-up records the fasting glucose"
    if nxt is not None and on is not None and not on < nxt <= add_months(on, 12):
        form.errors["next_date"] = "下次随访须在本次之后一年内 / the next follow-up is after this one, within a year"
    if len(form.medicines) > 2000:
        form.errors["medicines"] = "用药不超过 2000 字 / medicines: at most 2,000 characters"
    if form.errors or on is None:
        return None
    return RecordFollowup(person_id="", disease=form.disease, date=on, systolic=systolic, diastolic=diastolic,
                          fasting_glucose=glucose, hba1c=hba1c, medicines=form.medicines.strip(), next_date=nxt)


def _form_page(request: Request, ctx: Any, db: Any, me: Principal, person: Any, form: FormIn,
               status_code: int = 200) -> Response:
    today = ctx.clock.today()
    diseases, contract = person_status(CareUnitOfWork(db), person.person_id, today=today, policy=ctx.policy.care)
    last = {d.disease: d for d in diseases}
    return render(request, ctx, "care_followup.html", me, person=person, age=_age(person.birth_date, today),
                  form=form, registered=[d.disease for d in diseases], last=last, contract=contract,
                  all_diseases=[d.value for d in Disease], status_code=status_code)


def _next(policy: CarePolicy, on: date) -> date:
    return add_months(on, policy.overdue_months)


@router.get("/care/persons/{person_id}/followup", response_class=HTMLResponse)
def followup_form(request: Request, ctx: ContextDep, db: DbSession, principal: PagePrincipal,
                  person_scope: ScopeDep, person_id: PersonIdPath,
                  disease: Annotated[Literal["hypertension", "diabetes"] | None, Query()] = None) -> Response:
    """随访录入 / The one-screen follow-up form, prefilled."""
    me = _staff(principal)
    if me.role is not Role.CLINICIAN:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "仅医生可录入随访 / only a clinician records follow-ups")
    person = visible_person(request, ctx, db, person_scope, person_id)
    history = followup_history(CareUnitOfWork(db), person.person_id, limit=10)
    chosen: str = disease or next((f.disease for f in reversed(history)), Disease.HYPERTENSION.value)
    medicines = next((f.medicines for f in reversed(history) if f.disease == chosen and f.medicines), "")
    today = ctx.clock.today()
    form = FormIn(disease=chosen, date=today.isoformat(), medicines=medicines,
                  next_date=_next(ctx.policy.care, today).isoformat())
    return _form_page(request, ctx, db, me, person, form)


@router.post("/care/persons/{person_id}/followup", response_class=HTMLResponse)
def post_followup(request: Request, ctx: ContextDep, db: DbSession, principal: PagePrincipal,
                  person_scope: ScopeDep, _csrf: CheckedCsrf, person_id: PersonIdPath,
                  disease: Annotated[str, Form(max_length=20)] = "",
                  date_: Annotated[str, Form(alias="date", max_length=20)] = "",
                  systolic: Annotated[str, Form(max_length=10)] = "",
                  diastolic: Annotated[str, Form(max_length=10)] = "",
                  fasting_glucose: Annotated[str, Form(max_length=10)] = "",
                  hba1c: Annotated[str, Form(max_length=10)] = "",
                  medicines: Annotated[str, Form(max_length=4000)] = "",
                  next_date: Annotated[str, Form(max_length=20)] = "") -> Response:
    """Record the follow-up; back to the worklist, or the form again with the reason (422)."""
    me = _staff(principal)
    if me.role is not Role.CLINICIAN:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "仅医生可录入随访 / only a clinician records follow-ups")
    person = visible_person(request, ctx, db, person_scope, person_id)
    form = FormIn(disease=disease, date=date_, systolic=systolic, diastolic=diastolic,
                  fasting_glucose=fasting_glucose, hba1c=hba1c, medicines=medicines, next_date=next_date)
    today = ctx.clock.today()
    cmd = check_form(form, today=today)
    if cmd is None:
        return _form_page(request, ctx, db, me, person, form, status_code=422)
    cmd = RecordFollowup(person_id=person.person_id, disease=cmd.disease, date=cmd.date, systolic=cmd.systolic,
                         diastolic=cmd.diastolic, fasting_glucose=cmd.fasting_glucose, hba1c=cmd.hba1c,
                         medicines=cmd.medicines, next_date=cmd.next_date)
    try:
        done = record_followup(CareUnitOfWork(db), me, cmd, policy=ctx.policy.care, now=ctx.clock.now())
    except ValueError as exc:  # InvalidRequest: the use case's own checks
        form.errors[getattr(exc, "field", "date")] = str(exc)
        return _form_page(request, ctx, db, me, person, form, status_code=422)
    target = f"/care?done={person.person_id}&control={done.control.value}#done"
    return RedirectResponse(target, status.HTTP_303_SEE_OTHER)


# --------------------------------------------------------------------------------------- the control rates

@dataclass
class Unit:
    inst_id: str
    name: str
    township: str
    href: str
    figures: dict[str, Any]
    lon: float | None = None
    lat: float | None = None


@dataclass
class RateView:
    level: Literal["county", "consortium", "township", "village"]
    title: str
    crumbs: list[tuple[str, str]]
    months: list[dict[str, Any]]
    month: int
    units: list[Unit] = field(default_factory=list)
    units_kind: str = ""
    chart: Markup | None = None
    map: Markup | None = None


def _pct(num: int, den: int) -> str | None:
    if not den:
        return None
    return str((Decimal(num) * 100 / Decimal(den)).quantize(Decimal("0.1")))


def _sum_months(rows: list[dict[str, Any]], upto: int) -> list[dict[str, Any]]:
    """Rows of several scopes summed per month, with the rates recomputed (the consortia in an official's scope)."""
    out = []
    for m in range(1, upto + 1):
        got = [r for r in rows if r["month"] == m]
        c: dict[str, Any] = {k: sum(int(r[k]) for r in got) for k in ("registered", "under_management", "standardized",
                                                       "controlled", "missed_visit", "lost")}
        c |= {"month": m, "standardized_rate": _pct(c["standardized"], c["registered"]),
              "control_rate": _pct(c["controlled"], c["under_management"]),
              "missed_visit_rate": _pct(c["missed_visit"], c["under_management"]),
              "lost_rate": _pct(c["lost"], c["under_management"])}
        out.append(c)
    return out


def _rate_view(request: Request, ctx: Any, db: Any, principal: Principal, *, disease: str, year: int,
               consortium: str | None, inst: str | None) -> RateView:
    t = translator(lang_of(request))
    today = ctx.clock.today()
    upto = today.month if year == today.year else 12
    if year > today.year:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "没有该年度的数据 / no figures for a future year")
    mine = consortia_in_scope(db, principal)
    consortia = [c for c in registry.consortia(db) if c.consortium_id in mine]
    rows = [r for r in db_measures(CareUnitOfWork(db), year=year, policy=ctx.policy.care).table.to_pylist()
            if r["disease"] == disease and r["month"] <= upto]
    by_scope: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in rows:
        by_scope.setdefault((r["scope_kind"], r["scope"]), []).append(r)

    def at(kind: str, scope: str) -> list[dict[str, Any]]:
        return _sum_months(by_scope.get((kind, scope), []), upto)

    def last(kind: str, scope: str) -> dict[str, Any]:
        return at(kind, scope)[-1] if upto else {}

    top = t("全部医共体", "All consortia")
    base = f"?disease={disease}&year={year}"
    if consortium is None:
        view = RateView("county", top, [], _sum_months([r for r in rows if r["scope_kind"] == "consortium"
                                                        and r["scope"] in mine], upto), upto)
        view.units_kind = "consortium"
        view.units = [Unit(c.consortium_id, c.name, "", f"{base}&consortium={c.consortium_id}",
                           last("consortium", c.consortium_id)) for c in consortia]
    else:
        cons = next((c for c in consortia if c.consortium_id == consortium), None)
        if cons is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "不在您的权限范围内 / no such consortium in your scope")
        members = registry.institutions(db, consortium_id=consortium)
        names = {i.inst_id: i.name for i in members}
        crumbs = [(top, f"/care/dashboard{base}")]
        here = f"{base}&consortium={consortium}"
        villages = [i for i in members if i.tier == "village"]
        if inst is None:
            view = RateView("consortium", cons.name, crumbs, at("consortium", consortium), upto)
            view.units_kind = "village"
            view.units = [Unit(i.inst_id, i.name, names.get(i.parent_id or "", ""), f"{here}&inst={i.inst_id}",
                               last("village", i.inst_id), i.lon, i.lat) for i in villages]
            towns = [i for i in members if i.tier == "township"]
            view.units = [Unit(i.inst_id, i.name, "", f"{here}&inst={i.inst_id}", last("township", i.inst_id))
                          for i in towns] + view.units
        else:
            member = next((i for i in members if i.inst_id == inst and i.tier in ("township", "village")), None)
            if member is None:
                raise HTTPException(status.HTTP_404_NOT_FOUND, "该医共体无此基层机构 / no such primary-care member")
            crumbs.append((cons.name, f"/care/dashboard{here}"))
            if member.tier == "township":
                view = RateView("township", member.name, crumbs, at("township", inst), upto)
                view.units_kind = "village"
                view.units = [Unit(i.inst_id, i.name, member.name, f"{here}&inst={i.inst_id}",
                                   last("village", i.inst_id), i.lon, i.lat) for i in villages if i.parent_id == inst]
            else:
                if member.parent_id in names:
                    crumbs.append((names[member.parent_id or ""], f"/care/dashboard{here}&inst={member.parent_id}"))
                view = RateView("village", member.name, crumbs, at("village", inst), upto)
    series = [(t("规范管理率", "standardized management"),
               [float(m["standardized_rate"] or 0) for m in view.months]),
              (t("控制率", "control rate"), [float(m["control_rate"] or 0) for m in view.months])]
    view.map = _control_map(t, [u for u in view.units if u.lon is not None and u.lat is not None])
    view.chart = line_chart([str(m["month"]) for m in view.months], series, unit=" %", width=420, height=260,
                            title=t(f"{year}年按月规范管理率与控制率（%）",
                                    f"Standardized management and control rates by month, {year} (%)"))
    return view


BANDS = ((Decimal(60), PALETTE[0]), (Decimal(40), PALETTE[3]), (Decimal(0), PALETTE[1]))
"""Control rate bands of the map: 60% and above green, 40% and above amber, below red; no figure grey."""


def _control_map(t: Any, units: list[Unit]) -> Markup | None:
    """The village clinics where they are, coloured by the control rate, sized by the patients under management
    (each circle's title names the clinic and its rate; the table beside gives every figure)."""
    if not units:
        return None
    top = max([int(u.figures.get("under_management") or 0) for u in units] + [1])
    points = []
    for u in units:
        rate = u.figures.get("control_rate")
        colour = "#8a94a3" if rate is None else next(c for lo, c in BANDS if Decimal(rate) >= lo)
        managed = int(u.figures.get("under_management") or 0)
        points.append((float(u.lon or 0), float(u.lat or 0), 4 + 8 * (managed / top) ** 0.5, colour,
                       f"{u.name}: " + t("控制率", "control rate") + f" {rate if rate is not None else '—'}%"
                       + f" ({managed})"))
    return map_chart(points, [], cell_deg=0.01, width=420,
                     title=t("各村卫生室控制率地图：绿色 ≥60%，橙色 40%-60%，红色 <40%，灰色无数据；"
                             "圆越大纳入管理人数越多",
                             "Control rate by village clinic: green 60% and above, amber 40-60%, red below 40%, grey "
                             "no figure; the bigger the circle, the more patients under management"))


@router.get("/care/dashboard", response_class=HTMLResponse)
def rates_page(request: Request, ctx: ContextDep, db: DbSession, principal: Official,
               disease: DiseaseQ = "hypertension", year: YearQ = None, consortium: Id = None,
               inst: Id = None) -> Response:
    """慢病控制率 / The chronic-disease management and control rates by month."""
    y = year or ctx.clock.today().year
    view = _rate_view(request, ctx, db, principal, disease=disease, year=y, consortium=consortium, inst=inst)
    here = "&".join(f"{k}={v}" for k, v in (("disease", disease), ("year", y), ("consortium", consortium),
                                            ("inst", inst)) if v)
    return render(request, ctx, "care_rates.html", principal, view=view, disease=disease, year=y, here=here,
                  consortium=consortium or "", inst=inst or "", rate_columns=RATE_COLUMNS,
                  diseases=[d.value for d in Disease])


@router.get("/care/dashboard.csv")
def rates_csv(request: Request, ctx: ContextDep, db: DbSession, principal: Official,
              table: Annotated[Literal["trend", "units"], Query()], disease: DiseaseQ = "hypertension",
              year: YearQ = None, consortium: Id = None, inst: Id = None) -> Response:
    """The trend by month or the table of units of the same view, with labelled headers (``中文 code``)."""
    y = year or ctx.clock.today().year
    view = _rate_view(request, ctx, db, principal, disease=disease, year=y, consortium=consortium, inst=inst)
    where = "-".join(x for x in ("care", disease, consortium, inst, table, str(y)) if x)
    if table == "trend":
        cols = ("month", "registered", "under_management", "standardized", "controlled", "missed_visit", "lost",
                "standardized_rate", "control_rate", "missed_visit_rate", "lost_rate")
        return csv_response(f"{where}.csv", ("disease", *cols),
                            ([label("disease", disease), *("" if m[c] is None else m[c] for c in cols)]
                             for m in view.months), lang=lang_of(request))
    return csv_response(f"{where}.csv", ("disease", "inst_id", "name", "township", "month", *RATE_COLUMNS), (
        [label("disease", disease), u.inst_id, u.name, u.township, view.month,
         *("" if u.figures.get(c) is None else u.figures[c] for c in RATE_COLUMNS)] for u in view.units),
        lang=lang_of(request))


PayOfficial = Annotated[Principal, require_roles(*GP_PAY_READERS)]
"""Who reads the GP pay: the consortium's management and the county's officials (not the doctors themselves)."""
GP_PAY_COLUMNS = ("heads", "registered", "under_management", "standardized", "controlled", "quality_score",
                  "long_prescriptions", "base_pay", "quality_pay", "rural_allowance", "total_pay")


def _gp_pay_rows(ctx: Any, db: Any, principal: Principal, year: int) -> list[GpPayView]:
    mine = consortia_in_scope(db, principal)
    return [v for v in db_gp_pay(CareUnitOfWork(db), year=year, policy=ctx.policy.care) if v.consortium_id in mine]


def _gp_pay_cells(v: GpPayView) -> dict[str, str | int]:
    r = v.row
    s = r.pay.score
    return {"heads": r.heads, "registered": r.registered, "under_management": r.under_management,
            "standardized": r.standardized, "controlled": r.controlled,
            "quality_score": str((Decimal(s.numerator) / Decimal(s.denominator)).quantize(Decimal("0.0001"))),
            "long_prescriptions": v.long_prescriptions,
            "base_pay": format_yuan(r.pay.base), "quality_pay": format_yuan(r.pay.quality),
            "rural_allowance": format_yuan(r.pay.rural), "total_pay": format_yuan(r.pay.total)}


@router.get("/care/gp-pay", response_class=HTMLResponse)
def gp_pay_page(request: Request, ctx: ContextDep, db: DbSession, principal: PayOfficial,
                year: YearQ = None) -> Response:
    """家庭医生薪酬 / every GP's pay for the year in the official's consortia (policy ``[care.gp_pay]``)."""
    y = year or ctx.clock.today().year
    views = _gp_pay_rows(ctx, db, principal, y)
    total = sum(v.row.pay.total for v in views)
    return render(request, ctx, "care_gp_pay.html", principal, year=y, rows=[(v, _gp_pay_cells(v)) for v in views],
                  columns=GP_PAY_COLUMNS, total=format_yuan(total), gp=ctx.policy.care.gp_pay)


@router.get("/care/gp-pay.csv")
def gp_pay_csv(request: Request, ctx: ContextDep, db: DbSession, principal: PayOfficial,
               year: YearQ = None) -> Response:
    """The GP pay table of the page, with labelled headers; money in yuan."""
    y = year or ctx.clock.today().year
    views = _gp_pay_rows(ctx, db, principal, y)
    return csv_response(f"care-gp-pay-{y}.csv", ("gp_name", "inst_id", "tier", "year", *GP_PAY_COLUMNS), (
        [v.name, v.row.inst_id, label("tier", v.row.tier) if v.row.tier else "", y,
         *(_gp_pay_cells(v)[c] for c in GP_PAY_COLUMNS)] for v in views), lang=lang_of(request))



# ------------------------------------------------------------------------------------------- key populations

DUTY_POPULATIONS = tuple(p.value for p in SCHEDULED)


def _rate(f: DutyFigures | None) -> str | None:
    return _pct(f.done, f.counted) if f is not None else None


def _kind_label(kind: str) -> str:
    if kind == "total":
        return "合计"
    return label("scope_kind", kind) if kind == "consortium" else label("tier", kind)


def duty_cache(ctx: Any) -> DutyCache:
    """The duty lists kept for the app's database (:meth:`DutyCache.of` its engine)."""
    return DutyCache.of(ctx.engine)


def _duty_view(ctx: Any, db: Any, principal: Principal, year: int | None, consortium: str | None,
               inst: str | None) -> DutyView:
    today = ctx.clock.today()
    return _run(lambda: duty_view(CareUnitOfWork(db), principal, year=year or today.year, today=today,
                                  policy=ctx.policy.care, consortium=consortium, inst=inst, cache=duty_cache(ctx)))


@router.get("/care/duties", response_class=HTMLResponse)
def duties_page(request: Request, ctx: ContextDep, db: DbSession, principal: Official, year: YearQ = None,
                consortium: Id = None, inst: Id = None) -> Response:
    """公共卫生责任清单 / Each member's public-health duties for the key populations and their completion rates,
    drilled down consortium -> township centre -> village clinic (counts only)."""
    view = _duty_view(ctx, db, principal, year, consortium, inst)
    here = "&".join(f"{k}={v}" for k, v in (("year", view.year), ("consortium", consortium), ("inst", inst)) if v)
    return render(request, ctx, "care_duties.html", principal, view=view, populations=DUTY_POPULATIONS,
                  rate=_rate, here=here, consortium=consortium or "", kp=ctx.policy.care.key_populations)


@router.get("/care/duties.csv")
def duties_csv(request: Request, ctx: ContextDep, db: DbSession, principal: Official, year: YearQ = None,
               consortium: Id = None, inst: Id = None) -> Response:
    """The duty table of the page, one row per unit and key population, with labelled headers."""
    view = _duty_view(ctx, db, principal, year, consortium, inst)
    rows = [("total", inst or consortium or "", view.title, "", view.totals)]
    rows += [(u.kind, u.scope, u.name, u.township, u.figures) for u in view.units]
    where = "-".join(x for x in ("care-duties", consortium, inst, str(view.year)) if x)
    return csv_response(f"{where}.csv", ("scope_kind", "inst_id", "name", "township", "key_population", "persons",
                                         "services_counted", "services_done", "services_open", "completion_rate"), (
        [_kind_label(kind), scope, name, town,
         label("key_population", pop), f.persons, f.counted, f.done, f.open, _rate(f) or ""]
        for kind, scope, name, town, figures in rows for pop in DUTY_POPULATIONS
        for f in [figures.get(pop)] if f is not None), lang=lang_of(request))


@router.get("/care/key", response_class=HTMLResponse)
def key_day(request: Request, ctx: ContextDep, db: DbSession, principal: PagePrincipal, person_scope: ScopeDep,
            gp: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
            done: Annotated[str, Query(max_length=64, pattern=r"^[A-Za-z0-9_.\-]*$")] = "") -> Response:
    """重点人群服务清单 / The family doctor's key-population services due and overdue today."""
    me = _staff(principal)
    today = ctx.clock.today()
    seats, gp = _seats(db, me, gp)
    try:
        day = key_worklist(CareUnitOfWork(db), me, gp_member_id=gp, today=today, policy=ctx.policy.care,
                           condition=person_scope.condition)
    except LookupError as exc:
        if gp is not None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
        return render(request, ctx, "care_key.html", me, day=None, seats=seats, gp=gp, done=done, no_seat=str(exc),
                      ages={})
    if day.persons:
        audit.record(db, me, action="GET /care/key", person_ids=sorted(day.persons), at=ctx.clock.now())
    ages = {pid: _age(p.birth_date, today) for pid, p in day.persons.items()}
    return render(request, ctx, "care_key.html", me, day=day, seats=seats, gp=gp, done=done, no_seat="", ages=ages)


@router.post("/care/persons/{person_id}/key-service", response_class=HTMLResponse)
def post_key_service(request: Request, ctx: ContextDep, db: DbSession, principal: PagePrincipal,
                     person_scope: ScopeDep, _csrf: CheckedCsrf, person_id: PersonIdPath,
                     population: Annotated[str, Form(max_length=20)] = "") -> Response:
    """Record today's service of the population for the person (one tap from the list); back to the list."""
    me = _staff(principal)
    if me.role is not Role.CLINICIAN:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "仅医生可录入服务 / only a clinician records services")
    person = visible_person(request, ctx, db, person_scope, person_id)
    cmd = RecordService(person.person_id, population, ctx.clock.today())
    _run(lambda: record_service(CareUnitOfWork(db), me, cmd, policy=ctx.policy.care, now=ctx.clock.now()))
    return RedirectResponse(f"/care/key?done={person.person_id}#done", status.HTTP_303_SEE_OTHER)
