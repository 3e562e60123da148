"""Page routers: sign-in, the resident's pages, the officials' pages."""

from __future__ import annotations

from fastapi import APIRouter

from yigongti.web.routes import auth, finance, geography, indicators, official, resident

__all__ = ["ROUTERS"]

ROUTERS: tuple[APIRouter, ...] = (auth.router, resident.router, official.router, finance.router, indicators.router, geography.router)
