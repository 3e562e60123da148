"""Page routers: sign-in, the resident's pages, the officials' pages."""

from __future__ import annotations

from fastapi import APIRouter

from yigongti.app import dashboard_pages as dashboards
from yigongti.app import resident_pages as resident
from yigongti.appraisal import pages as indicators
from yigongti.budget import pages as finance
from yigongti.care import pages as care
from yigongti.centres import pages as centres
from yigongti.pharmacy import pages as pharmacy
from yigongti.platform.routes import auth_pages as auth
from yigongti.platform.routes import map_pages as geography
from yigongti.platform.routes import official_pages as official
from yigongti.public_health import pages as public_health
from yigongti.referral import pages as referral
from yigongti.shared import pages as shared
from yigongti.simulator import pages as simulator
from yigongti.workforce import pages as workforce

__all__ = ["ROUTERS"]

ROUTERS: tuple[APIRouter, ...] = (auth.router, resident.router, dashboards.router, official.router, finance.router,
                                  indicators.router, geography.router, referral.router, workforce.router,
                                  public_health.router, pharmacy.router, care.router, centres.router,
                                  shared.router, simulator.router)
