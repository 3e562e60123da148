"""``/api/token`` and ``/api/me``: bearer tokens for the API (令牌)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer, OAuth2PasswordRequestForm

from yigongti.platform.deps import ContextDep, CurrentPrincipal, DbSession
from yigongti.platform.login import LoginRefused, attempt_login
from yigongti.platform.schemas import MeOut, TokenOut
from yigongti.platform.accounts import issue_token, revoke_token

__all__ = ["router"]

router = APIRouter(prefix="/api", tags=["auth 认证"])


@router.post("/token", response_model=TokenOut,
             responses={401: {"description": "wrong credentials"}, 429: {"description": "too many attempts"}})
def create_token(request: Request, ctx: ContextDep, db: DbSession,
                 form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> TokenOut:
    """Exchange username and password for a bearer token (rate-limited per username and address)."""
    client = request.client.host if request.client else "?"
    try:
        principal = attempt_login(ctx, db, username=form.username, password=form.password, client=client)
    except LoginRefused as exc:
        if exc.retry_after:
            raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, str(exc),
                                headers={"Retry-After": str(exc.retry_after)}) from None
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, str(exc)) from None
    token, expires = issue_token(db, principal, now=ctx.clock.now(), hours=ctx.settings.session_hours)
    return TokenOut(access_token=token, expires_at=expires)


@router.delete("/token", status_code=status.HTTP_204_NO_CONTENT)
def delete_token(ctx: ContextDep, db: DbSession, _principal: CurrentPrincipal,
                 creds: Annotated[HTTPAuthorizationCredentials | None, Depends(HTTPBearer(auto_error=False))]
                 ) -> None:
    """Revoke the bearer token of this request."""
    if creds is not None:
        revoke_token(db, creds.credentials)
        db.commit()  # before forgetting it here: a request in between must not find it valid and keep it again
        if ctx.tokens is not None:
            ctx.tokens.forget(creds.credentials)


@router.get("/me", response_model=MeOut)
def me(principal: CurrentPrincipal) -> MeOut:
    """Who the token belongs to and what anchors their scope."""
    return MeOut(username=principal.username, role=principal.role.value, display_name=principal.display_name,
                 person_id=principal.person_id, household_id=principal.household_id, inst_id=principal.inst_id,
                 consortium_id=principal.consortium_id, county_code=principal.county_code)
