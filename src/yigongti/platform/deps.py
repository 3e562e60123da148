"""Dependencies (依赖) as ``Annotated`` aliases: the database session, who is asking, and THE scope check.

Every route that touches one person's data takes :data:`ScopedPerson`: it loads the person, refuses (404, so that
existence is not disclosed) when the person is outside the caller's scope, and writes the audit log.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, TypeVar

from fastapi import Depends, HTTPException, Path, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from itsdangerous import BadSignature
from sqlalchemy import ColumnElement
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from yigongti.core.db import READ_ONLY_OPTION
from yigongti.core.problems import Conflict, InvalidRequest, NotAllowed, NotFound
from yigongti.enrollment.choices import ChooserNotAllowed, UnknownPerson
from yigongti.enrollment.store import PersonRow
from yigongti.platform import audit, scope
from yigongti.platform.accounts import Principal, Role, session_current, token_grant, user_for_id
from yigongti.platform.context import AppContext

__all__ = [
    "run_use_case",
    "SESSION_COOKIE",
    "BearerCredentials",
    "ContextDep",
    "CurrentPrincipal",
    "DbSession",
    "Official",
    "OptionalPrincipal",
    "PersonIdPath",
    "PersonScope",
    "ScopeDep",
    "ScopedPerson",
    "bearer_principal",
    "chooser_refused",
    "find_principal",
    "get_context",
    "require_roles",
    "session_payload",
    "signed_in",
    "visible_person",
]

T = TypeVar("T")

SESSION_COOKIE = "ygt_session"
_bearer = HTTPBearer(auto_error=False, description="API token from POST /api/token")


async def get_context(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx


ContextDep = Annotated[AppContext, Depends(get_context)]


async def get_db(ctx: ContextDep) -> AsyncIterator[Session]:
    """One session per request, committed when the handler returns (before the response is sent), rolled back when
    it raises. A handler may ``commit()`` early, e.g. before a use case runs its own transaction.

    The session connects on its first query (in a sync dependency or handler, in the thread pool); ending it goes
    to the thread pool only when a transaction is open, so a request whose handler already ended it (a choice)
    does not pay for another thread hop."""
    session = ctx.sessions()
    try:
        yield session
        if session.in_transaction():
            await run_in_threadpool(session.commit)
    except BaseException:
        if session.in_transaction():
            await run_in_threadpool(session.rollback)
        raise
    finally:
        if session.in_transaction():
            await run_in_threadpool(session.close)
        else:
            session.close()


DbSession = Annotated[Session, Depends(get_db, scope="function")]


def session_payload(request: Request, ctx: AppContext) -> dict[str, Any] | None:
    """The signed page-session cookie's content ({"uid", "ep", "csrf"}), or None when absent, forged or expired
    (whether the user has ended the session since, ``ep`` the session epoch, is for the database to say)."""
    raw = request.cookies.get(SESSION_COOKIE)
    if not raw:
        return None
    try:
        data = ctx.signer.loads(raw, max_age=ctx.settings.session_hours * 3600, salt="session")
    except BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("uid"), int) or not isinstance(data.get("ep"), int):
        return None
    return data


async def find_principal(request: Request, ctx: AppContext, creds: HTTPAuthorizationCredentials | None,
                         db: Session | None = None) -> Principal | None:
    """Who is asking: a bearer token (API) or the session cookie (pages). ``db``: the request's session; None: a
    short session of its own.

    A token recently checked by this worker (``ctx.tokens``) costs one primary-key lookup, of the user's session
    epoch, instead of the token query: a sign-out, a password change or disabling the user through another worker
    ends it at once here too."""
    if creds is not None:
        bearer: Principal | None = await run_in_threadpool(_in_session, ctx, db, bearer_principal, ctx,
                                                           creds.credentials, now=ctx.clock.now())
        return bearer
    payload = session_payload(request, ctx)
    if payload is None:
        return None
    principal: Principal | None = await run_in_threadpool(_in_session, ctx, db, user_for_id, payload["uid"],
                                                          epoch=payload["ep"])
    return principal


def bearer_principal(db: Session, ctx: AppContext, token: str, *, now: datetime) -> Principal | None:
    """The principal of a bearer token, read on ``db`` (sync: in the thread pool): a token recently checked by this
    worker (``ctx.tokens``) costs one primary-key lookup, of the user's session epoch, else the token query (and the
    token is cached)."""
    cached = ctx.tokens.get(token, now=now) if ctx.tokens is not None else None
    if cached is not None:
        if session_current(db, cached.user_id, cached.session_epoch):
            return cached
        if ctx.tokens is not None:
            ctx.tokens.forget(token)
        return None
    grant = token_grant(db, token, now=now)
    if grant is None:
        return None
    if ctx.tokens is not None:
        ctx.tokens.put(token, grant[0], expires_at=grant[1])
    return grant[0]


def _in_session(ctx: AppContext, db: Session | None, fn: Any, *args: Any, **kwargs: Any) -> Any:
    """``fn(db, *args, **kwargs)`` on ``db``, or on a session of its own when ``db`` is None (``fn`` only reads:
    on SQLite that session's transaction does not take the write lock)."""
    if db is not None:
        return fn(db, *args, **kwargs)
    with ctx.sessions() as own:
        own.connection(execution_options={READ_ONLY_OPTION: True})
        return fn(own, *args, **kwargs)


BearerCredentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
"""The ``Authorization: Bearer`` header, if any (also declares the API's security scheme in the OpenAPI spec)."""


async def get_optional_principal(request: Request, ctx: ContextDep, db: DbSession,
                                 creds: BearerCredentials) -> Principal | None:
    return await find_principal(request, ctx, creds, db)

OptionalPrincipal = Annotated[Principal | None, Depends(get_optional_principal)]


def signed_in(principal: Principal | None) -> Principal:
    """``principal``, or 401 when nobody is signed in."""
    if principal is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "not signed in / 未登录",
                            headers={"WWW-Authenticate": "Bearer"})
    return principal


async def get_principal(principal: OptionalPrincipal) -> Principal:
    return signed_in(principal)


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def require_roles(*roles: Role) -> Any:
    """A dependency that lets only ``roles`` through (403 otherwise)."""

    async def check(principal: CurrentPrincipal) -> Principal:
        if principal.role not in roles:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "not allowed for your role / 当前角色无权访问")
        return principal

    return Depends(check)


Official = Annotated[Principal, require_roles(
    Role.CLINICIAN, Role.INSTITUTION_ADMIN, Role.CONSORTIUM_ADMIN, Role.INSURANCE_BUREAU,
    Role.HEALTH_COMMISSION, Role.SYSTEM_ADMIN)]


@dataclass(frozen=True)
class PersonScope:
    """Who is asking and the SQL condition selecting the persons they may see (``platform.scope``)."""

    principal: Principal
    condition: ColumnElement[bool]


async def get_person_scope(ctx: ContextDep, db: DbSession, principal: CurrentPrincipal) -> PersonScope:
    """THE scope check (权限范围), computed once per request; every person list and lookup goes through it.
    Only an institution's roles need the database for it (their institution's tier); the others' condition is
    built on the event loop, without a thread hop."""
    referred = ctx.referrals.get(principal.inst_id or "", frozenset())
    year = ctx.clock.today().year
    if principal.role in scope.ROLES_READING_THE_REGISTRY:
        condition = await run_in_threadpool(scope.person_condition, db, principal, year=year, referred=referred)
    else:
        condition = scope.person_condition(db, principal, year=year, referred=referred)
    return PersonScope(principal, condition)


ScopeDep = Annotated[PersonScope, Depends(get_person_scope)]


def _not_in_scope() -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, "no such person in your scope / 无此人员或无权查看")


def chooser_refused(exc: UnknownPerson | ChooserNotAllowed) -> HTTPException:
    """The answer to a choice for someone the resident may not choose for (``enrollment.choices``): 403 in their own
    household (the household rule), else 404, as for any person outside one's scope."""
    if isinstance(exc, ChooserNotAllowed) and exc.same_household:
        return HTTPException(status.HTTP_403_FORBIDDEN, "户内规则不允许为此人选择 / the household rule does not let "
                                                        "you choose for this person")
    return _not_in_scope()


def visible_person(request: Request, ctx: AppContext, db: Session, person_scope: PersonScope,
                   person_id: str) -> PersonRow:
    """The person if the caller may see them (audited), else 404 (existence is not disclosed)."""
    person = scope.visible(db, person_id, person_scope.condition)  # one query: exists AND in scope
    if person is None:
        raise _not_in_scope()
    route = request.scope.get("route")
    action = f"{request.method} {getattr(route, 'path', request.url.path)}"
    audit.record(db, person_scope.principal, action=action, person_ids=[person.person_id], at=ctx.clock.now())
    return person


PersonIdPath = Annotated[str, Path(min_length=1, max_length=64)]
"""A person_id in the path."""


def get_scoped_person(request: Request, ctx: ContextDep, db: DbSession, person_scope: ScopeDep,
                      person_id: PersonIdPath) -> PersonRow:
    return visible_person(request, ctx, db, person_scope, person_id)


ScopedPerson = Annotated[PersonRow, Depends(get_scoped_person)]


def run_use_case(fn: Callable[[], T]) -> T:
    """Run a use case, its refusals answered as HTTP errors: not found 404, not allowed 403, conflict 409, an invalid
    request 422 naming the body field (the same shape as FastAPI's own validation errors)."""
    try:
        return fn()
    except NotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    except NotAllowed as exc:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(exc)) from None
    except Conflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    except InvalidRequest as exc:
        raise HTTPException(422, [{"loc": ["body", exc.field], "msg": str(exc), "type": "value_error"}]) from None
