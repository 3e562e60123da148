"""Sign in and out, language switch (登录、退出、语言)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from yigongti.platform.accounts import Role, end_sessions
from yigongti.platform.deps import ContextDep, DbSession, OptionalPrincipal
from yigongti.platform.i18n import LANG_COOKIE, LANGS
from yigongti.platform.login import LoginRefused, attempt_login, client_address
from yigongti.platform.pages import (
    DISPLAY_COOKIE,
    DISPLAY_MODES,
    CheckedCsrf,
    clear_session,
    display_modes,
    render,
    set_session,
)

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


def home_of(role: Role) -> str:
    return "/household" if role is Role.RESIDENT else "/dashboard"


@router.get("/", response_class=HTMLResponse)
def start(principal: OptionalPrincipal) -> Response:
    return RedirectResponse("/login" if principal is None else home_of(principal.role), status.HTTP_303_SEE_OTHER)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, ctx: ContextDep, principal: OptionalPrincipal) -> Response:
    if principal is not None:
        return RedirectResponse(home_of(principal.role), status.HTTP_303_SEE_OTHER)
    demo = ctx.demo_accounts or []
    return render(request, ctx, "login.html", demo=[(role, username) for role, username, _ in demo])


@router.post("/login", response_class=HTMLResponse)
def login(request: Request, ctx: ContextDep, db: DbSession, _csrf: CheckedCsrf,
          username: Annotated[str, Form(max_length=64)], password: Annotated[str, Form(max_length=200)]) -> Response:
    try:
        principal = attempt_login(ctx, db, username=username, password=password,
                                  client=client_address(request, ctx.settings.trusted_proxies))
    except LoginRefused as exc:
        code = status.HTTP_429_TOO_MANY_REQUESTS if exc.retry_after else status.HTTP_401_UNAUTHORIZED
        refused = render(request, ctx, "login.html", error=str(exc), username=username, status_code=code)
        if exc.retry_after:
            refused.headers["Retry-After"] = str(exc.retry_after)
        return refused
    response = RedirectResponse(home_of(principal.role), status.HTTP_303_SEE_OTHER)
    set_session(response, ctx, principal)
    return response


@router.post("/logout")
def logout(db: DbSession, _csrf: CheckedCsrf, principal: OptionalPrincipal) -> Response:
    """Sign out (退出): ends every page session and API token of the user, in every worker (the cookie alone would
    stay valid until it expires)."""
    if principal is not None:
        end_sessions(db, principal.user_id)
        db.commit()
    response = RedirectResponse("/login", status.HTTP_303_SEE_OTHER)
    clear_session(response)
    return response


def same_site_path(referer: str | None) -> str:
    """The path (and query) of ``referer`` to go back to after a switch: always a path on this site, never an
    address built from the request's Host header, which the client chooses (开放重定向)."""
    if not referer:
        return "/"
    parts = urlsplit(referer)
    path = parts.path or "/"
    if not path.startswith("/") or path.startswith("//") or "\\" in path or any(ord(ch) < 32 for ch in path):
        return "/"
    return f"{path}?{parts.query}" if parts.query else path


@router.get("/lang/{lang}")
def switch_language(request: Request, lang: str) -> Response:
    target = same_site_path(request.headers.get("referer"))
    response = RedirectResponse(target, status.HTTP_303_SEE_OTHER)
    response.set_cookie(LANG_COOKIE, lang if lang in LANGS else "zh", max_age=365 * 86400, samesite="lax",
                        httponly=True, path="/")
    return response


@router.get("/display/{mode}")
def switch_display(request: Request, mode: str) -> Response:
    """Large text or high contrast (大字、高对比度) on or off: kept in a cookie, applied by CSS alone."""
    modes = display_modes(request)
    if mode in DISPLAY_MODES:
        modes = [m for m in modes if m != mode] if mode in modes else [*modes, mode]
    response = RedirectResponse(same_site_path(request.headers.get("referer")), status.HTTP_303_SEE_OTHER)
    response.set_cookie(DISPLAY_COOKIE, " ".join(modes), max_age=365 * 86400, samesite="lax", httponly=True,
                        path="/")
    return response
