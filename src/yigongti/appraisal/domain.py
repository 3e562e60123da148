"""Appraisal arithmetic (考核计分): an indicator's value from its measures, its points against the target, a score.

Pure: Decimal in, Decimal out. A value that cannot be computed (missing data, zero denominator) is ``None`` with a
reason, never 0. Values are rounded half-up to the set's decimals before points are given, so that an official can
check the points from the value printed in the report.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal

from yigongti.appraisal.indicators import (
    UNIT_FACTORS,
    Direction,
    Indicator,
    IndicatorSet,
    NotComputable,
    compiled_expression,
)

__all__ = [
    "IndicatorValue",
    "Score",
    "checklist_value",
    "fraction",
    "indicator_value",
    "points",
    "quantize",
    "score",
]

HUNDRED = Decimal(100)


def quantize(d: Decimal, decimals: int = 2) -> Decimal:
    return d.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class IndicatorValue:
    """One indicator for one scope. ``value`` None means not computable (不可计算), ``reason`` says why."""

    indicator: str
    numerator: Decimal | None
    denominator: Decimal | None
    value: Decimal | None
    reason: str = ""

    @property
    def computable(self) -> bool:
        return self.value is not None


def indicator_value(ind: Indicator, measures: Mapping[str, Decimal | None], *, decimals: int = 2) -> IndicatorValue:
    """Evaluate a computed indicator over the measures of one scope (money in yuan)."""
    num: Decimal | None = None
    den: Decimal | None = None
    try:
        num = compiled_expression(ind.numerator)(measures)
        den = compiled_expression(ind.denominator)(measures)
    except NotComputable as exc:
        return IndicatorValue(ind.id, num, den, None, str(exc))
    if den == 0:
        return IndicatorValue(ind.id, num, den, None, "分母为0 / the denominator is 0")
    value = quantize(num / den * UNIT_FACTORS[ind.unit], decimals)
    return IndicatorValue(ind.id, num, den, value)


def checklist_value(ind: Indicator, passed: int | None, items: int | None, *, decimals: int = 2) -> IndicatorValue:
    """A judged indicator: the share of its checklist items passed."""
    if items is None or passed is None:
        return IndicatorValue(ind.id, None, None, None, "缺少评判清单 (表 checklist) / no checklist filled in")
    if items == 0:
        return IndicatorValue(ind.id, Decimal(passed), Decimal(0), None,
                              f"清单中没有 {ind.id} 的条目 / no checklist item for {ind.id}")
    value = quantize(Decimal(passed) / Decimal(items) * HUNDRED, decimals)
    return IndicatorValue(ind.id, Decimal(passed), Decimal(items), value)


def fraction(ind: Indicator, value: Decimal) -> Decimal:
    """Share of the indicator's weight earned by ``value`` (0..1) under its scoring method."""
    target = ind.target
    if target is None:
        return Decimal(0)
    higher = ind.direction is Direction.HIGHER
    if ind.scoring == "pass":
        return Decimal(1) if (value >= target if higher else value <= target) else Decimal(0)
    if ind.scoring == "linear":
        assert ind.zero_at is not None
        f = (value - ind.zero_at) / (target - ind.zero_at)
        return min(Decimal(1), max(Decimal(0), f))
    # ratio
    if higher:
        if value >= target:
            return Decimal(1)
        return max(Decimal(0), value / target) if target > 0 else Decimal(0)
    if value <= target:
        return Decimal(1)
    return max(Decimal(0), target / value)


def points(ind: Indicator, value: Decimal, scope_kind: str, *, decimals: int = 2) -> Decimal:
    """Points earned: weight x fraction, half-up to ``decimals``."""
    return quantize(ind.weight_for(scope_kind) * fraction(ind, value), decimals)


@dataclass(frozen=True)
class Score:
    """A unit's score (0-100) and the points of each weighted indicator (None: not computable)."""

    score: Decimal | None
    points: dict[str, Decimal | None]
    weight_counted: Decimal


_EXACT = Context(prec=1000)
"""Sums of weights without rounding (a weight may have 28 digits after the point, 100/136; the default context
keeps 28 digits of the sum in all, which moved a score across a rounding boundary)."""


def score(indicator_set: IndicatorSet, values: Iterable[IndicatorValue], scope_kind: str, *,
          points_of: Callable[[Indicator, Decimal], Decimal] | None = None) -> Score:
    """Score of one unit. ``missing = "exclude"`` rescales the computable weights to 100; ``"zero"`` gives 0 points
    for what is not computable. No computable weighted indicator: score None (pending). ``points_of``: the
    :func:`points` of an indicator and value for this scope kind, when the caller keeps them (many units of equal
    values); by default computed here."""
    dec = indicator_set.scoring.decimals
    by_id = {v.indicator: v for v in values}
    pts: dict[str, Decimal | None] = {}
    earned = Decimal(0)
    counted = Decimal(0)
    for ind in indicator_set.indicators:
        w = ind.weight_for(scope_kind)
        if w <= 0 or scope_kind not in ind.scopes:
            continue
        v = by_id.get(ind.id)
        if v is None or v.value is None:
            pts[ind.id] = None
            continue
        p = points_of(ind, v.value) if points_of else points(ind, v.value, scope_kind, decimals=dec)
        pts[ind.id] = p
        earned += p
        counted = _EXACT.add(counted, w)  # exact: the score's denominator is the weights' sum, not rounded
    if indicator_set.scoring.missing == "zero":
        total = quantize(earned, dec) if pts else None
    else:
        total = quantize(earned * HUNDRED / counted, dec) if counted > 0 else None
    return Score(total, pts, counted)
