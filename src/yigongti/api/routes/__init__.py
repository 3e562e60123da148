"""API routers, one per resource (``/api/...``)."""

from __future__ import annotations

from fastapi import APIRouter

from yigongti.api.fhir import router as fhir_router
from yigongti.api.routes import auth, choices, claims, persons, registry

__all__ = ["ROUTERS"]

ROUTERS: tuple[APIRouter, ...] = (auth.router, persons.router, choices.router, claims.router, registry.router,
                                     fhir_router)
