"""Dates and ages (日期与年龄): the one definition of a person's age on 1 January, which head counts, age weights,
benefits and indicators all use (docs/en/rules.md A5). The column version for the engines is
``core.engine.age_expr`` (tested to agree, the clamp included)."""

from __future__ import annotations

__all__ = ["age_on_jan_1"]


def age_on_jan_1(birth_year: int, birth_month: int, birth_day: int, year: int) -> int:
    """Completed years on Jan 1 of ``year`` (docs/en/rules.md A5); 0 for a person born later."""
    age = year - birth_year - (0 if (birth_month, birth_day) == (1, 1) else 1)
    return max(0, age)
