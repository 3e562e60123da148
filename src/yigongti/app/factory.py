"""The application factory (应用工厂): ``create_app(settings)`` -> a FastAPI app with the API and the pages.

Start-up (``startup.prepare``) applies the migrations, loads the data folder (default: the demo county) into an
empty database and creates the demo accounts. The OpenAPI spec is at ``/api/openapi.json``; no interactive docs page
is served, because it would need assets from a CDN, and every asset here is served by the app. Every operation that
takes a bearer token documents its 401. Hostile bytes (NUL, invalid UTF-8) are refused with 400 before any route
runs; an unhandled error answers a bare 500 that carries the security headers too.
"""

from __future__ import annotations

import gc
from typing import Any

from fastapi import FastAPI
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy.orm import Session, sessionmaker

from yigongti.app import startup
from yigongti.app.api_routes import ROUTERS
from yigongti.app.web import mount_web
from yigongti.budget.analytics import FiguresCache, referrals
from yigongti.core.db import is_sqlite, make_engine, make_session_factory
from yigongti.platform.concurrency import ConcurrencyLimit
from yigongti.platform.context import AppContext
from yigongti.platform.ratelimit import LoginLimiter
from yigongti.platform.security import RefuseHostileInput, SecurityHeaders, server_error
from yigongti.platform.settings import Settings
from yigongti.platform.shared_state import SharedLoginLimiter, shared_secret
from yigongti.platform.tokencache import TokenCache
from yigongti.registry.service import RegistryCache

__all__ = ["OPENAPI_URL", "create_app", "freeze_startup_objects", "login_limiter"]

OPENAPI_URL = "/api/openapi.json"
SETTINGS_ENV = "YIGONGTI_SERVE_SETTINGS"  # settings as JSON, for worker processes (``serve --workers``)


def login_limiter(settings: Settings, sessions: sessionmaker[Session]) -> LoginLimiter:
    """The sign-in limiter: its buckets in the database on PostgreSQL (shared by every worker process and machine);
    in the process on SQLite, whose request sessions hold the database's one write lock for the whole request (a
    second transaction counting an attempt would wait for it): a SQLite platform is one machine, and with
    ``--workers N`` each worker counts its own attempts there."""
    limits: dict[str, Any] = {
        "burst": settings.login_burst, "refill_seconds": settings.login_refill_seconds,
        "user_burst": settings.login_user_burst, "user_refill_seconds": settings.login_user_refill_seconds,
        "address_burst": settings.login_address_burst,
        "address_refill_seconds": settings.login_address_refill_seconds}
    if is_sqlite(settings.database_url):
        return LoginLimiter(**limits)
    return SharedLoginLimiter(sessions, **limits)


def create_app(settings: Settings) -> FastAPI:
    """Build the app; the database is migrated and filled before this returns."""
    engine = make_engine(settings.database_url, pool_size=settings.db_pool_size)  # + overflow 10
    sessions = make_session_factory(engine)
    clock = settings.clock()
    prepared = startup.prepare(settings, engine=engine, sessions=sessions, clock=clock)
    ctx = AppContext(
        settings=settings,
        engine=engine,
        sessions=sessions,
        policy=prepared.policy,
        clock=clock,
        limiter=login_limiter(settings, sessions),
        signer=URLSafeTimedSerializer(shared_secret(sessions, settings.secret_key)),
        figures=FiguresCache(prepared.folder, prepared.year, prepared.policy, sessions,
                             wait=settings.figures_wait_seconds),
        referrals=referrals(prepared.folder),
        demo_accounts=prepared.demo_accounts,
        registry=RegistryCache(sessions),
        tokens=TokenCache(ttl_seconds=settings.token_cache_seconds),
    )
    app = FastAPI(
        title="yigongti 紧密型县域医共体平台",
        version="0.1.0",
        description="Designated care, benefits, budgets and indicators of a county medical community. "
                    "定点诊疗、待遇、总额预算与监测指标。Authenticate with a bearer token from `POST /api/token`.",
        openapi_url=OPENAPI_URL,
        docs_url=None,
        redoc_url=None,
    )
    app.state.ctx = ctx
    app.add_middleware(ConcurrencyLimit, limit=settings.max_requests_in_flight)
    app.add_middleware(RefuseHostileInput)
    app.add_middleware(SecurityHeaders)
    app.add_exception_handler(Exception, server_error)
    for router in ROUTERS:
        app.include_router(router)
    mount_web(app)
    _document_unauthorised(app)
    return app


UNAUTHORISED = {
    "description": "未登录或令牌无效 / not signed in, or the bearer token is unknown, revoked or expired",
    "headers": {"WWW-Authenticate": {"description": "Bearer", "schema": {"type": "string"}}},
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}},
}
ERROR_SCHEMA = {"title": "ErrorOut", "type": "object", "required": ["detail"],
                "properties": {"detail": {"title": "Detail", "type": "string",
                                          "description": "中文 / English message"}}}


def _document_unauthorised(app: FastAPI) -> None:
    """Add the 401 answer (未授权) to every operation of the spec that takes the bearer token."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        spec = generate()
        spec.setdefault("components", {}).setdefault("schemas", {}).setdefault("ErrorOut", ERROR_SCHEMA)
        for ops in spec.get("paths", {}).values():
            for op in ops.values():
                if isinstance(op, dict) and any("HTTPBearer" in s for s in op.get("security", [])):
                    op.setdefault("responses", {}).setdefault("401", UNAUTHORISED)
        app.openapi_schema = spec
        return spec

    app.openapi = openapi  # type: ignore[method-assign]


def freeze_startup_objects() -> None:
    """Hide what start-up made from the garbage collector, in a serving process just before it serves.

    The modules, routes, registry, policy and compiled statements live as long as the process; frozen, a full
    collection looks only at what requests made since. Without this, full collections of the start-up objects
    paused a worker for 100 ms and more under load (``benchmarks/bench_web.py``). Not for a process that makes
    and drops many apps (tests): frozen objects are never collected.
    """
    gc.collect()
    gc.freeze()


def create_app_from_env() -> FastAPI:
    """The app of a uvicorn worker process: settings from :data:`SETTINGS_ENV` (the database is already prepared
    by ``serve``, so start-up only finds it ready)."""
    import os

    app = create_app(Settings.model_validate_json(os.environ[SETTINGS_ENV]))
    freeze_startup_objects()
    return app
