"""The pages (网页): Jinja2 templates, one local stylesheet, zh-CN by default with an English switch.

Mounted by ``app.factory.create_app`` next to the API; an error on a page renders a page (a missing sign-in redirects to
``/login``), an error under ``/api`` stays JSON.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request, status
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

__all__ = ["mount_web"]

STATIC = Path(__file__).resolve().parents[1] / "platform" / "static"


def mount_web(app: FastAPI) -> None:
    """Add the pages, the static files and the page error handlers to ``app``."""
    from yigongti.app.page_routes import ROUTERS
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
        return render(request, request.app.state.ctx, "error.html", status_code=exc.status_code,
                      message=exc.detail if isinstance(exc.detail, str) else str(exc.detail))

    app.add_exception_handler(NotSignedIn, not_signed_in)
    app.add_exception_handler(StarletteHTTPException, page_error)
