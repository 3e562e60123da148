"""What every request of one app shares (应用上下文): settings, database, clock, policy, rate limiter, signer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from yigongti.core.policy import Policy
from yigongti.platform.ratelimit import LoginLimiter
from yigongti.platform.settings import Clock, Settings
from yigongti.platform.tokencache import TokenCache
from yigongti.registry.service import RegistryCache

__all__ = ["AppContext"]


@dataclass
class AppContext:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    policy: Policy
    clock: Clock
    limiter: LoginLimiter
    signer: URLSafeTimedSerializer
    figures: Any  # the year's figures (budget.analytics.FiguresCache); the platform sits below the budget
    referrals: dict[str, frozenset[str]] = field(default_factory=dict)  # inst_id -> persons referred to it
    demo_accounts: list[tuple[str, str, str]] = field(default_factory=list)  # (role, username, password)
    registry: RegistryCache | None = None  # consortia and institutions, read once per process (choices check them)
    tokens: TokenCache | None = None  # bearer tokens checked recently
