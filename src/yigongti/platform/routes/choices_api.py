"""``/api/persons/{person_id}/choices`` and ``/choice-options``: choosing designated institutions (定点选择).

A choice goes through the shared use case ``enrollment.choices.submit_choice``; a refused choice (outside the window,
broken nesting) is answered 409 with its stable code and the Chinese and English message, and is kept.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, HTTPException, Request, Response, status
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from yigongti.enrollment.choices import (
    ChoiceResult,
    ChooserNotAllowed,
    SubmitChoice,
    UnknownPerson,
    submit_choice,
)
from yigongti.enrollment.portal import choice_options, switch_window
from yigongti.enrollment.readmodel import choices_of
from yigongti.enrollment.uow import SqlAlchemyUnitOfWork
from yigongti.platform import audit
from yigongti.platform.accounts import Principal, Role
from yigongti.platform.context import AppContext
from yigongti.platform.deps import (
    BearerCredentials,
    ContextDep,
    DbSession,
    PersonIdPath,
    ScopedPerson,
    bearer_principal,
    chooser_refused,
    find_principal,
    signed_in,
)

__all__ = ["router"]

router = APIRouter(prefix="/api/persons", tags=["choices 定点选择"])
_ID = Field(min_length=1, max_length=64)


class ChoiceIn(BaseModel):
    consortium_id: str = _ID
    township_id: str = _ID
    village_id: str = _ID
    for_household: bool = Field(False, description="also for the household members the person may choose for")


class RefusalOut(BaseModel):
    code: str
    message_zh: str
    message_en: str
    fields: list[str]


class ChoiceOut(BaseModel):
    choice_id: int
    year: int
    accepted: bool
    refusal: RefusalOut | None = None
    applied_to: list[str] = []


class ChoiceRefusedOut(BaseModel):
    """The body of a refused choice (选择被拒, 409): the recorded choice with its refusal, under ``detail``."""

    detail: ChoiceOut


class ChoiceRecordOut(BaseModel):
    choice_id: int
    year: int
    consortium_id: str | None
    township_id: str | None
    village_id: str | None
    chosen_at: str
    status: str
    refusal_code: str | None
    chooser_id: str


class OptionOut(BaseModel):
    inst_id: str
    name: str
    distance_km: float
    head_count: int
    parent_id: str | None


class ConsortiumOptionOut(BaseModel):
    consortium_id: str
    name: str
    lead_name: str
    distance_km: float
    head_count: int
    townships: list[OptionOut]
    villages: list[OptionOut]


class OptionsOut(BaseModel):
    year: int
    window_start: str
    window_end: str
    window_open: bool
    consortia: list[ConsortiumOptionOut]


@router.get("/{person_id}/choice-options", response_model=OptionsOut,
            responses={404: {"description": "not in your scope"}})
def options(ctx: ContextDep, db: DbSession, person: ScopedPerson) -> OptionsOut:
    """What the person may choose: the window, and every consortium of their county with its township and village
    institutions, distances from home (km) and this year's head counts."""
    today = ctx.clock.today()
    window = switch_window(ctx.policy.enrollment, today)
    found = choice_options(db, person, year=today.year)
    return OptionsOut(year=window.year, window_start=window.start.isoformat(), window_end=window.end.isoformat(),
                      window_open=window.open_now,
                      consortia=[ConsortiumOptionOut.model_validate(c, from_attributes=True) for c in found])


@router.get("/{person_id}/choices", response_model=list[ChoiceRecordOut],
            responses={404: {"description": "not in your scope"}})
def list_choices(db: DbSession, person: ScopedPerson) -> list[ChoiceRecordOut]:
    """Every choice recorded for the person (append-only), valid and refused."""
    return [ChoiceRecordOut(choice_id=r.choice_id, year=r.year, consortium_id=r.consortium_id,
                            township_id=r.township_id, village_id=r.village_id, chosen_at=r.chosen_at.isoformat(),
                            status=r.status, refusal_code=r.refusal_code, chooser_id=r.chooser_id)
            for r in choices_of(db, person.person_id)]


@router.post("/{person_id}/choices", response_model=ChoiceOut, status_code=status.HTTP_201_CREATED,
             responses={404: {"description": "not in your scope"}, 403: {"description": "residents only"},
                        409: {"description": "选择被拒（不在调整期或层级不符），已记录 / refused: outside the "
                                             "window or broken nesting; the refused choice is recorded",
                              "model": ChoiceRefusedOut}})
async def post_choice(request: Request, creds: BearerCredentials, person_id: PersonIdPath, body: ChoiceIn) -> Response:
    """Choose for the coming year (the year of the switch window). A resident chooses for themself and for the
    household members the household rule lets them choose for (``policy.enrollment.household_mode``); anyone else
    in their household: 403; anyone outside it: 404 (existence is not disclosed)."""
    # The busiest write of the platform (every resident in the switch window), so it is spelled out rather than
    # composed of the usual dependencies. Its scope is the chooser rule, which the use case checks on the household
    # it reads and locks anyway (the signed-in resident must be in the person's household, and the household rule
    # must let them choose for the person: stricter than the read scope, the household). One thread hop, one
    # transaction; no read-audit row (the use case audits the change: who, which persons).
    ctx: AppContext = request.app.state.ctx
    now = ctx.clock.now()
    window = switch_window(ctx.policy.enrollment, ctx.clock.today())
    # a page session (no bearer token) is looked up first; a bearer token in the use case's transaction
    known = None if creds is not None else signed_in(await find_principal(request, ctx, None))
    try:
        principal, result = await run_in_threadpool(_choose, ctx, creds.credentials if creds is not None else "",
                                                     known, person_id, body, now=now, year=window.year)
    except (UnknownPerson, ChooserNotAllowed) as exc:
        raise chooser_refused(exc) from None
    signed_in(principal)
    if result is None:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "仅参保人本人或家人可提交选择 / only residents choose")
    out = ChoiceOut(choice_id=result.choice_id, year=window.year, accepted=result.accepted,
                    applied_to=list(result.applied_to))
    if result.refusal is not None:
        r = result.refusal
        out.refusal = RefusalOut(code=r.code.value, message_zh=r.message_zh, message_en=r.message_en,
                                 fields=list(r.fields))
        raise HTTPException(status.HTTP_409_CONFLICT, out.model_dump())
    # serialised here (the schema is the route's response_model): FastAPI would validate it once more
    return Response(out.model_dump_json(), status_code=status.HTTP_201_CREATED, media_type="application/json")


def _choose(ctx: AppContext, token: str, known: Principal | None, person_id: str, body: ChoiceIn, *, now: datetime,
            year: int) -> tuple[Principal | None, ChoiceResult | None]:
    """In the thread pool, on one session and in one transaction: who is asking (``known``, else the bearer
    ``token``), then, for a resident, the use case. (principal, None): not signed in (None), or not a resident."""
    with ctx.sessions() as session:
        principal = known or bearer_principal(session, ctx, token, now=now)
        if principal is None or principal.role is not Role.RESIDENT or not principal.person_id:
            return principal, None
        cmd = SubmitChoice(person_id=person_id, year=year, consortium_id=body.consortium_id,
                           township_id=body.township_id, village_id=body.village_id, chosen_at=now,
                           for_household=body.for_household and person_id == principal.person_id,
                           actor=audit.actor_of(principal), channel="api", chooser_id=principal.person_id)
        registry = ctx.registry.get() if ctx.registry is not None else None
        # the unit of work continues the session's transaction (the token check's), and closes the session
        return principal, submit_choice(cmd, SqlAlchemyUnitOfWork(session), policy=ctx.policy, now=now,
                                        registry=registry)
