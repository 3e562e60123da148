"""The resident's pages (参保人页面): the household's designations, choosing, own visits and benefits.

Every page about one person takes ``ScopedPerson`` (the one scope check, which also writes the audit log).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, Response

from yigongti.benefits.plain import plain_rules
from yigongti.budget.analytics import person_decisions
from yigongti.core.idnumber import mask_id_number
from yigongti.core.labels import label
from yigongti.enrollment.choices import ChooserNotAllowed, SubmitChoice, UnknownPerson, submit_choice
from yigongti.enrollment.portal import (
    age_on,
    choice_options,
    household_designations,
    may_choose_for,
    switch_window,
)
from yigongti.enrollment.uow import SqlAlchemyUnitOfWork
from yigongti.platform import audit
from yigongti.platform.accounts import Principal, Role
from yigongti.platform.deps import ContextDep, DbSession, ScopedPerson, chooser_refused
from yigongti.platform.pages import CheckedCsrf, PagePrincipal, render
from yigongti.platform.tables import TableQueryDep, page_of
from yigongti.registry.service import institution_names, names_of

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

def _resident(principal: Principal) -> Principal:
    if principal.role is not Role.RESIDENT or not principal.household_id:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "仅参保人可用 / for residents only")
    return principal


@router.get("/household", response_class=HTMLResponse)
def household(request: Request, ctx: ContextDep, db: DbSession, principal: PagePrincipal) -> Response:
    me = _resident(principal)
    today = ctx.clock.today()
    window = switch_window(ctx.policy.enrollment, today)
    years = sorted({today.year, window.year})
    by_person: dict[str, dict[str, Any]] = {}
    for year in years:
        for m in household_designations(db, me.household_id or "", year=year):
            entry = by_person.setdefault(m.person_id, {
                "person_id": m.person_id, "sex": m.sex, "age": age_on(m.birth_date, today),
                "id_shown": (m.id_number or "") if me.sees_id_numbers else mask_id_number(m.id_number),
                "lives_away": m.lives_away, "years": []})
            entry["years"].append(m)
    choosable = may_choose_for(db, me.person_id or "", policy=ctx.policy.enrollment, on=today)
    for entry in by_person.values():
        entry["choosable"] = entry["person_id"] in choosable
    audit.record(db, me, action="GET /household", person_ids=list(by_person), at=ctx.clock.now())
    return render(request, ctx, "household.html", me, members=list(by_person.values()), window=window,
                  rules=plain_rules(ctx.policy.benefits))


@router.get("/persons/{person_id}/choose", response_class=HTMLResponse)
def choose_page(request: Request, ctx: ContextDep, db: DbSession, principal: PagePrincipal, person: ScopedPerson,
                consortium: Annotated[str | None, Query(max_length=64)] = None,
                township: Annotated[str | None, Query(max_length=64)] = None) -> Response:
    """Three steps without any script: consortium, then township centre, then village clinic and submit."""
    _resident(principal)
    window = switch_window(ctx.policy.enrollment, ctx.clock.today())
    options = choice_options(db, person, year=ctx.clock.today().year)
    picked = next((c for c in options if c.consortium_id == consortium), None)
    town = next((o for o in picked.townships if o.inst_id == township), None) if picked else None
    villages = [v for v in picked.villages if v.parent_id == town.inst_id] if picked and town else []
    is_self = person.person_id == principal.person_id
    others = (sorted(may_choose_for(db, person.person_id, policy=ctx.policy.enrollment, on=ctx.clock.today())
                     - {person.person_id}) if is_self else [])
    return render(request, ctx, "choose.html", principal, person=person, window=window, options=options,
                  consortium=picked, township=town, villages=villages, is_self=is_self, others=others)


@router.post("/persons/{person_id}/choose", response_class=HTMLResponse)
def choose(request: Request, ctx: ContextDep, db: DbSession, principal: PagePrincipal, person: ScopedPerson,
           _csrf: CheckedCsrf, consortium_id: Annotated[str, Form(max_length=64)],
           township_id: Annotated[str, Form(max_length=64)], village_id: Annotated[str, Form(max_length=64)],
           for_household: Annotated[str, Form(max_length=8)] = "") -> Response:
    _resident(principal)
    # The use case runs its own transaction and audits the change (who, which persons); end this one first (SQLite
    # serialises writers) without its read-audit row, which would only repeat that entry at the cost of a commit.
    person_id = person.person_id  # read before the rollback expires the row
    db.rollback()
    now = ctx.clock.now()
    window = switch_window(ctx.policy.enrollment, ctx.clock.today())
    cmd = SubmitChoice(person_id=person_id, year=window.year, consortium_id=consortium_id,
                       township_id=township_id, village_id=village_id, chosen_at=now,
                       for_household=bool(for_household) and person_id == principal.person_id,
                       actor=audit.actor_of(principal), channel="web", chooser_id=principal.person_id)
    try:
        result = submit_choice(cmd, SqlAlchemyUnitOfWork(ctx.sessions), policy=ctx.policy, now=now)
    except (UnknownPerson, ChooserNotAllowed) as exc:
        raise chooser_refused(exc) from None
    names = names_of(db, inst_ids=(township_id, village_id), consortium_ids=(consortium_id,))
    mine = next((d for d in result.designations if d.person_id == person_id), None)
    superseded = mine is not None and (mine.township_id, mine.village_id) != (township_id, village_id)
    return render(request, ctx, "choice_result.html", principal, result=result, year=window.year, names=names,
                  superseded=superseded, status_code=200 if result.accepted else 409)


@router.get("/persons/{person_id}/claims", response_class=HTMLResponse)
def claims_page(request: Request, ctx: ContextDep, db: DbSession, principal: PagePrincipal,
                person: ScopedPerson, query: TableQueryDep) -> Response:
    """The person's visits of the data year with the benefit decision of each, in plain words; newest first, searched
    (institution, date, rule) sorted (``admit_date``, ``fund_paid``, ``patient_paid``) and paged on the server."""
    figures = ctx.figures.get()
    decisions = person_decisions(db, figures, person, ctx.policy)
    names = institution_names(db)
    totals = (sum(d.fund_paid for d in decisions), sum(d.patient_paid for d in decisions))
    shown = page_of(decisions, query, text=lambda d: " ".join((
        d.claim.admit_date.isoformat(), d.claim.inst_id, names.get(d.claim.inst_id, ""), d.rule.value,
        label("rule", d.rule, "zh"), label("rule", d.rule, "en"))),
        keys={"admit_date": lambda d: d.claim.order_key, "fund_paid": lambda d: d.fund_paid,
              "patient_paid": lambda d: d.patient_paid})
    return render(request, ctx, "claims.html", principal, person=person, decisions=shown.rows, table=shown,
                  names=names, year=figures.year if figures else None, totals=totals)
