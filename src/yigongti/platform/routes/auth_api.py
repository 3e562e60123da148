"""``/api/token``, ``/api/me``, sign-out, passwords and disabling users: bearer tokens for the API (令牌).

``POST /api/logout``, a change of password and disabling a user end every session and token of that user at once,
in every worker process (``platform.accounts.end_sessions``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer, OAuth2PasswordRequestForm

from yigongti.platform.accounts import (
    AccountError,
    Principal,
    Role,
    end_sessions,
    issue_token,
    revoke_token,
    set_active,
    set_password,
)
from yigongti.platform.deps import ContextDep, CurrentPrincipal, DbSession, require_roles
from yigongti.platform.login import LoginRefused, attempt_login, client_address
from yigongti.platform.schemas import MeOut, PasswordChangeIn, TokenOut

__all__ = ["router"]

router = APIRouter(prefix="/api", tags=["auth 认证"])


@router.post("/token", response_model=TokenOut,
             responses={401: {"description": "wrong credentials"}, 429: {"description": "too many attempts"}})
def create_token(request: Request, ctx: ContextDep, db: DbSession,
                 form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> TokenOut:
    """Exchange username and password for a bearer token (rate-limited per username and address)."""
    try:
        principal = attempt_login(ctx, db, username=form.username, password=form.password,
                                  client=client_address(request, ctx.settings.trusted_proxies))
    except LoginRefused as exc:
        raise _refused(exc) from None
    token, expires = issue_token(db, principal, now=ctx.clock.now(), hours=ctx.settings.session_hours)
    return TokenOut(access_token=token, expires_at=expires)


def _refused(exc: LoginRefused) -> HTTPException:
    if exc.retry_after:
        return HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, str(exc), headers={"Retry-After": str(exc.retry_after)})
    return HTTPException(status.HTTP_401_UNAUTHORIZED, str(exc))


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


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(db: DbSession, principal: CurrentPrincipal) -> None:
    """Sign out everywhere (全部退出): every token and page session of the caller ends, in every worker."""
    end_sessions(db, principal.user_id)
    db.commit()


@router.post("/me/password", status_code=status.HTTP_204_NO_CONTENT,
             responses={400: {"description": "new password too short"}, 401: {"description": "wrong password"},
                        429: {"description": "too many attempts"}})
def change_own_password(request: Request, ctx: ContextDep, db: DbSession, principal: CurrentPrincipal,
                        body: PasswordChangeIn) -> None:
    """Change one's password (修改密码); the current one is checked like a sign-in (and limited alike). Every
    token and page session of the user ends, this one too: sign in again."""
    try:
        attempt_login(ctx, db, username=principal.username, password=body.current_password,
                      client=client_address(request, ctx.settings.trusted_proxies))
    except LoginRefused as exc:
        raise _refused(exc) from None
    try:
        set_password(db, principal.username, body.new_password)
    except AccountError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from None
    db.commit()


SystemAdmin = Annotated[Principal, require_roles(Role.SYSTEM_ADMIN)]
Username = Annotated[str, Path(min_length=1, max_length=64)]


@router.post("/users/{username}/disable", status_code=status.HTTP_204_NO_CONTENT,
             responses={404: {"description": "no such user"}})
def disable_user(db: DbSession, _admin: SystemAdmin, username: Username) -> None:
    """停用用户 / Disable a user (system admin): they cannot sign in, and their tokens and sessions end at once."""
    _set_active(db, username, active=False)


@router.post("/users/{username}/enable", status_code=status.HTTP_204_NO_CONTENT,
             responses={404: {"description": "no such user"}})
def enable_user(db: DbSession, _admin: SystemAdmin, username: Username) -> None:
    """启用用户 / Enable a disabled user again (system admin); they sign in anew."""
    _set_active(db, username, active=True)


def _set_active(db: DbSession, username: str, *, active: bool) -> None:
    try:
        set_active(db, username, active)
    except AccountError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    db.commit()
