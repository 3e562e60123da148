"""Page plumbing (页面基础): templates, the page session cookie, CSRF, who is signed in on a page.

The session cookie is signed (itsdangerous) and holds the user id, the user's session epoch (a sign-out, a password
change or disabling the user ends every session of an earlier epoch) and the session's CSRF token; an anonymous visitor
gets a signed CSRF cookie for the login form. Every POST form carries ``csrf`` and is refused (403) without a match.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Form, HTTPException, Request, status
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from itsdangerous import BadSignature

from yigongti.core.labels import format_count, format_money, format_number, label
from yigongti.platform.accounts import Principal
from yigongti.platform.context import AppContext
from yigongti.platform.deps import SESSION_COOKIE, ContextDep, OptionalPrincipal, session_payload
from yigongti.platform.i18n import lang_of, translator
from yigongti.platform.security import csrf_matches, new_csrf_token

__all__ = [
    "ANON_CSRF_COOKIE",
    "DISPLAY_COOKIE",
    "DISPLAY_MODES",
    "CheckedCsrf",
    "NotSignedIn",
    "PagePrincipal",
    "clear_session",
    "csrf_token",
    "display_modes",
    "one_language",
    "render",
    "set_session",
    "templates",
]

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
ANON_CSRF_COOKIE = "ygt_csrf"
DISPLAY_COOKIE = "ygt_display"  # 适老化: "large", "contrast" or both ("large contrast"); CSS classes on <body>
DISPLAY_MODES = ("large", "contrast")


def display_modes(request: Request) -> list[str]:
    raw = request.cookies.get(DISPLAY_COOKIE, "")
    return [m for m in DISPLAY_MODES if m in raw.split()]


def one_language(text: str, lang: str) -> str:
    """The side of a bilingual ``"中文 / English"`` text for ``lang``; a text without " / " as it is."""
    zh, sep, en = text.partition(" / ")
    return (en if lang == "en" else zh) if sep else text


def _namer(ctx: AppContext):  # type: ignore[no-untyped-def]
    """``name(id)``: the name of an institution or consortium (the id itself when unknown), from the registry cache."""
    cache: dict[str, str] = {}

    def name(code: str | None) -> str:
        if not code:
            return ""
        if not cache and ctx.registry is not None:
            registry = ctx.registry.get()
            cache.update({i: r.name for i, r in registry.institutions.items()})
            cache.update({c: r.name for c, r in registry.consortia.items()})
        return cache.get(code, code)

    return name


class NotSignedIn(Exception):
    """Raised by :data:`PagePrincipal`; the app answers with a redirect to the login page."""


def csrf_token(request: Request, ctx: AppContext) -> str:
    """The CSRF token of this visitor: the session's, else the anonymous cookie's, else a new one (set on render)."""
    payload = session_payload(request, ctx)
    if payload and isinstance(payload.get("csrf"), str):
        return str(payload["csrf"])
    raw = request.cookies.get(ANON_CSRF_COOKIE)
    if raw:
        try:
            return str(ctx.signer.loads(raw, salt="csrf"))
        except BadSignature:
            pass
    token: str | None = getattr(request.state, "new_csrf", None)
    if token is None:
        token = new_csrf_token()
        request.state.new_csrf = token
    return token


def _cookie_args(ctx: AppContext) -> dict[str, Any]:
    return {"httponly": True, "samesite": "lax", "secure": ctx.settings.secure_cookies, "path": "/"}


def render(request: Request, ctx: AppContext, name: str, principal: Principal | None = None,
           status_code: int = 200, **context: Any) -> HTMLResponse:
    lang = lang_of(request)
    token = csrf_token(request, ctx)
    response = templates.TemplateResponse(request, name, {
        "t": translator(lang), "lang": lang, "csrf": token, "user": principal,
        "role_label": label("role", principal.role, lang) if principal else "", "today": ctx.clock.today(),
        "L": lambda group, code: label(group, code, lang), "count": format_count, "money": format_money,
        "num": format_number, "name": _namer(ctx), "display": display_modes(request),
        "bi": lambda text: one_language(str(text), lang),
        **context}, status_code=status_code)
    if getattr(request.state, "new_csrf", None) == token and principal is None:
        response.set_cookie(ANON_CSRF_COOKIE, ctx.signer.dumps(token, salt="csrf"), **_cookie_args(ctx))
    response.headers["Cache-Control"] = "no-store"
    return response


def set_session(response: Response, ctx: AppContext, principal: Principal) -> None:
    """Start a page session (a fresh CSRF token; the anonymous one is dropped)."""
    value = ctx.signer.dumps({"uid": principal.user_id, "ep": principal.session_epoch, "csrf": new_csrf_token()},
                             salt="session")
    response.set_cookie(SESSION_COOKIE, value, max_age=ctx.settings.session_hours * 3600, **_cookie_args(ctx))
    response.delete_cookie(ANON_CSRF_COOKIE, path="/")


def clear_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")


def check_csrf(request: Request, ctx: ContextDep, csrf: Annotated[str, Form(max_length=200)] = "") -> None:
    if not csrf_matches(csrf_token(request, ctx), csrf):
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            "表单已过期，请刷新后重试 / form expired (CSRF), reload and retry")


CheckedCsrf = Annotated[None, Depends(check_csrf)]


def page_principal(principal: OptionalPrincipal) -> Principal:
    if principal is None:
        raise NotSignedIn()
    return principal


PagePrincipal = Annotated[Principal, Depends(page_principal)]
