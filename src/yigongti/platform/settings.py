"""Settings of the web platform (平台配置): where the database and the data live, the clock, the session secret.

No default secret: on first start a random one is generated and kept in the data directory (``secret.key``, mode 600).
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from yigongti.core.dates import CHINA_TZ
from yigongti.core.db import DB_ENV

__all__ = ["CHINA_TZ", "DB_ENV", "DEFAULT_DATA_DIR", "TRUSTED_PROXIES_ENV", "Clock", "Settings"]

DEFAULT_DATA_DIR = Path(".yigongti")
TRUSTED_PROXIES_ENV = "YIGONGTI_TRUSTED_PROXIES"  # comma-separated addresses or networks of reverse proxies


class Clock:
    """Today and now in China time (北京时间); ``fixed`` pins "today" (tests, a rehearsal of the switch window).

    A pinned clock starts at 00:00 of the pinned day at ``origin`` (a :func:`time.monotonic` reading, the clock's
    creation by default) and runs from there: ``now`` is the pinned day + the monotonic time elapsed since
    ``origin``, so it never goes back (a choice made later never gets an earlier ``chosen_at``), and "today" is
    the day of ``now``. ``CLOCK_MONOTONIC`` is one clock for every process of a host, so worker processes given
    the same ``origin`` (``Settings.pinned_since``) agree to the second.
    """

    def __init__(self, *, fixed: date | None = None, origin: float | None = None,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.fixed = fixed
        self._monotonic = monotonic
        self.origin = monotonic() if origin is None else origin

    def today(self) -> date:
        return self.now().date() if self.fixed is not None else datetime.now(CHINA_TZ).date()

    def now(self) -> datetime:
        """Naive China time to the second, as the data contract stores date-times; on a pinned day, that day's
        00:00 + the time elapsed since ``origin``."""
        if self.fixed is None:
            return datetime.now(CHINA_TZ).replace(tzinfo=None, microsecond=0)
        elapsed = max(0, int(self._monotonic() - self.origin))
        return datetime.combine(self.fixed, datetime.min.time()) + timedelta(seconds=elapsed)


class Settings(BaseModel):
    """What ``create_app`` needs. Build it with :meth:`resolve` to apply ``--db`` / ``YIGONGTI_DB`` and defaults."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    data_dir: Path = Field(DEFAULT_DATA_DIR, description="SQLite file, secret key and the engine's DuckDB live here")
    db_url: str = Field("", description="SQLAlchemy URL; empty -> SQLite file in data_dir")
    data_folder: Path | None = Field(None, description="data folder loaded into an empty database; None -> demo county")
    demo_persons: int = Field(20_000, ge=10, description="size of the generated demo county when data_folder is None")
    today: date | None = Field(None, description="pin today's date (switch-window rehearsal, tests)")
    pinned_since: float | None = Field(None, description="time.monotonic() at which the pinned day's clock "
                                       "started (00:00 of ``today``); None: when the app is created. "
                                       "``serve --workers`` gives every worker the same one")
    year: int | None = Field(None, ge=1900, le=2200, description="year the loaded data is for (designations are "
                             "computed for it); default: the latest year of the folder's choices")
    secure_cookies: bool = Field(False, description="mark cookies Secure (behind HTTPS)")
    session_hours: int = Field(12, ge=1, le=24 * 30)
    token_cache_seconds: float = Field(5.0, ge=0, le=300, description="a bearer token found valid is trusted this "
                                       "long by a worker process without a lookup (a revocation through another "
                                       "worker takes effect within it); 0: look up every request")
    figures_wait_seconds: float = Field(60.0, gt=0, le=3600, description="how long a request waits for the year's "
                                        "figures being computed (the first use, or after a signed agreement) before "
                                        "its page says 正在计算 (503 with Retry-After); no request waits longer")
    login_burst: int = Field(5, ge=1, description="failed-login allowance per username and address")
    login_refill_seconds: float = Field(60.0, gt=0, description="one more attempt every this many seconds")
    login_user_burst: int = Field(20, ge=1, description="failed-login allowance per username from all addresses; "
                                  "once spent, only an address without a counted failure for it may try")
    login_user_refill_seconds: float = Field(60.0, gt=0, description="one more every this many seconds")
    login_address_burst: int = Field(20, ge=1, description="failed-login allowance per address, any username")
    login_address_refill_seconds: float = Field(6.0, gt=0, description="one more every this many seconds")
    trusted_proxies: tuple[str, ...] = Field((), description="addresses or networks (CIDR) of reverse proxies whose "
                                             "X-Forwarded-For names the client (sign-in limits); none by default")
    db_pool_size: int = Field(10, ge=2, le=200, description="database connections kept open; at most half as "
                              "many requests are served at once, the others wait their turn")
    demo_accounts: bool = Field(True, description="create one demo account per role after loading demo data")

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_are_addresses(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        out = []
        for item in value:
            try:
                out.append(str(ipaddress.ip_network(item.strip(), strict=False)))
            except ValueError:
                raise ValueError(f"trusted proxy {item!r} is not an IP address or network / 不是IP地址或网段") from None
        return tuple(out)

    @classmethod
    def resolve(cls, *, db: str | None = None, data: Path | None = None, data_dir: Path | None = None,
                today: date | None = None, **options: object) -> Settings:
        """``db`` wins over the ``YIGONGTI_DB`` environment variable, which wins over the SQLite file."""
        url = db or os.environ.get(DB_ENV, "")
        return cls(db_url=url, data_folder=data, data_dir=data_dir or DEFAULT_DATA_DIR, today=today,
                   **options)

    @property
    def database_url(self) -> str:
        if self.db_url:
            return self.db_url
        return f"sqlite:///{(self.data_dir / 'yigongti.sqlite').resolve()}"

    def secret_key(self) -> str:
        """The session-signing secret, generated on first use and kept in ``data_dir/secret.key``."""
        path = self.data_dir / "secret.key"
        if path.is_file():
            key = path.read_text(encoding="ascii").strip()
            if len(key) >= 32:
                return key
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(key)
        os.replace(tmp, path)
        return key

    @property
    def max_requests_in_flight(self) -> int:
        """Each request may hold two connections (its session and a use case's unit of work)."""
        return max(1, self.db_pool_size // 2)

    def clock(self) -> Clock:
        return Clock(fixed=self.today, origin=self.pinned_since)

