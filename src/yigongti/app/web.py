"""The pages (网页): Jinja2 templates, one local stylesheet, zh-CN by default with an English switch.

Mounted by ``app.factory.create_app`` next to the API; an error on a page renders a page (a missing sign-in redirects to
``/login``), an error under ``/api`` stays JSON.
"""

from __future__ import annotations

from http import HTTPStatus
from pathlib import Path

from fastapi import FastAPI, Request, status
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

__all__ = ["mount_web"]

STATIC = Path(__file__).resolve().parents[1] / "platform" / "static"
ERROR_TEXT: dict[int, tuple[str, str]] = {
    400: ("请求有误", "Bad request"),
    403: ("无权查看此页面", "You may not open this page"),
    404: ("页面不存在", "Page not found"),
    405: ("不支持此操作", "Method not allowed"),
    409: ("操作冲突，请刷新后重试", "Conflict: reload and retry"),
    422: ("填写的内容有误", "Some of what was entered is not valid"),
    429: ("请求过于频繁，请稍后再试", "Too many requests: try again later"),
    503: ("正在计算…", "Computing…"),
}


def _messages(detail: object) -> str:
    """A refusal's detail as one line: the messages of a list of field errors (``run_use_case``'s 422), else as
    it is."""
    if isinstance(detail, list) and all(isinstance(d, dict) and "msg" in d for d in detail):
        return "; ".join(str(d["msg"]) for d in detail)
    return str(detail)


def mount_web(app: FastAPI) -> None:
    """Add the pages, the static files and the page error handlers to ``app``."""
    from yigongti.app.page_routes import ROUTERS
    from yigongti.budget.analytics import FiguresPending
    from yigongti.platform.deps import find_principal
    from yigongti.platform.pages import NotSignedIn, render

    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    for router in ROUTERS:
        app.include_router(router)

    async def not_signed_in(request: Request, exc: Exception) -> Response:
        return RedirectResponse("/login", status.HTTP_303_SEE_OTHER)

    async def page_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if request.url.path.startswith("/api") or request.url.path.startswith("/static"):
            return await http_exception_handler(request, exc)
        if exc.status_code == status.HTTP_401_UNAUTHORIZED:
            return RedirectResponse("/login", status.HTTP_303_SEE_OTHER)
        ctx = request.app.state.ctx
        try:  # the signed-in header stays on an error page
            principal = await find_principal(request, ctx, None)
        except Exception:  # noqa: BLE001 - an error page must render even when the database does not answer
            principal = None
        detail = exc.detail if isinstance(exc.detail, str) else _messages(exc.detail)
        zh, en = ERROR_TEXT.get(exc.status_code, ("出错了", "Something went wrong"))
        # Starlette's own details ("Not Found") are English phrases: say them in Chinese first; ours are bilingual
        message = None if detail in (HTTPStatus(exc.status_code).phrase, "") else detail
        return render(request, ctx, "error.html", principal, status_code=exc.status_code, heading_zh=zh,
                      heading_en=en, message=message)

    async def figures_pending(request: Request, exc: Exception) -> Response:
        """The year's figures are still being computed: a page (or the API's JSON) that says so, 503 with
        ``Retry-After``, instead of a request that waits for them."""
        assert isinstance(exc, FiguresPending)
        busy = StarletteHTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc),
                                      headers={"Retry-After": str(exc.retry_after)})
        answer = await page_error(request, busy)
        answer.headers["Retry-After"] = str(exc.retry_after)
        return answer

    app.add_exception_handler(FiguresPending, figures_pending)
    app.add_exception_handler(NotSignedIn, not_signed_in)
    app.add_exception_handler(StarletteHTTPException, page_error)
