"""API routers, one per resource (``/api/...``)."""

from __future__ import annotations

from fastapi import APIRouter

from yigongti.app import claims_api as claims
from yigongti.budget import api as agreements
from yigongti.care import api as care
from yigongti.centres import api as centres
from yigongti.interop.fhir import router as fhir_router
from yigongti.interop.fhir.care import router as fhir_care
from yigongti.interop.fhir.diagnostics import router as fhir_diagnostics
from yigongti.interop.fhir.referrals import router as fhir_referrals
from yigongti.pharmacy import api as pharmacy
from yigongti.platform.routes import auth_api as auth
from yigongti.platform.routes import choices_api as choices
from yigongti.platform.routes import persons_api as persons
from yigongti.platform.routes import registry_api as registry
from yigongti.public_health import api as public_health
from yigongti.referral import api as referral
from yigongti.shared import api as shared
from yigongti.workforce import api as workforce

__all__ = ["ROUTERS"]

ROUTERS: tuple[APIRouter, ...] = (auth.router, persons.router, choices.router, claims.router, registry.router,
                                     referral.router, agreements.router, care.router, public_health.router,
                                     pharmacy.router, workforce.router, centres.router, fhir_router,
                                     fhir_diagnostics, fhir_referrals, fhir_care, shared.router)
