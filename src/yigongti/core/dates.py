"""Dates and ages (日期与年龄): the one definition of a person's age on 1 January, which head counts, age weights,
benefits and indicators all use (docs/en/rules.md A5). The column version for the engines is
``core.engine.age_expr`` (tested to agree, the clamp included)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

__all__ = ["CHINA_TZ", "age_on_jan_1", "china_now", "china_time"]

CHINA_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")
"""China time (UTC+8): yigongti stores times in it, without a zone."""


def china_time(at: datetime) -> datetime:
    """``at`` as China time without a zone (a naive time is taken as China time already)."""
    return at.astimezone(CHINA_TZ).replace(tzinfo=None) if at.tzinfo is not None else at


def china_now() -> datetime:
    """Now in China time, to the second, without a zone."""
    return datetime.now(CHINA_TZ).replace(tzinfo=None, microsecond=0)


def age_on_jan_1(birth_year: int, birth_month: int, birth_day: int, year: int) -> int:
    """Completed years on Jan 1 of ``year`` (docs/en/rules.md A5); 0 for a person born later."""
    age = year - birth_year - (0 if (birth_month, birth_day) == (1, 1) else 1)
    return max(0, age)
