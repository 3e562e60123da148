"""The officials' dashboard figures (驾驶舱): what a county, a consortium or an institution looks like at a glance.

Read side only, from the year's figures (:class:`~yigongti.budget.analytics.YearFigures`): the budget burn month by
month against the prepayments, the fund's spending per institution, the in-county and primary-level shares against
their targets, the indicator grid with points and the unit's grade, each with last year's value from last year's
own figures (``last``: the settlement and appraisal of ``year - 1`` on the same folder, as the command line computes
them; None when the folder holds no whole previous year). No I/O: the caller passes the figures and the units of its
scope.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from yigongti.appraisal.indicators import Indicator
from yigongti.appraisal.service import AppraisalResult
from yigongti.budget.analytics import YearFigures

__all__ = ["SHARE_INDICATORS", "BurnMonth", "GridRow", "Share", "UnitScore", "burn", "enrollees", "fund_by_institution",
           "indicator_grid", "institution_burn", "shares", "unit_score"]

SHARE_INDICATORS = (("fund_res_in_county", "fund_res"), ("visits_primary", "visits"))
"""The shares on the dashboard, found in the indicator set by their numerator and denominator: the insured's fund
spending that stays in the county (县域内医保基金支出占比, 3.2 of the national set) and the primary level's share of
the visits (县域内基层医疗卫生机构诊疗量占比, 3.1)."""


@dataclass(frozen=True)
class BurnMonth:
    """One month of the budget burn (预算执行), fen: the prepayment and the spending of the month, and both summed
    from January."""

    month: int
    prepaid: int
    spent: int
    prepaid_to_date: int
    spent_to_date: int


@dataclass(frozen=True)
class Share:
    """A share indicator of one unit: this year's value, last year's, and the target (percent)."""

    indicator: Indicator
    value: Decimal | None
    previous: Decimal | None

    @property
    def target(self) -> Decimal | None:
        return None if self.indicator.target is None else Decimal(self.indicator.target)

    @property
    def meets(self) -> bool | None:
        if self.value is None or self.target is None:
            return None
        return self.value >= self.target if self.indicator.direction == "higher" else self.value <= self.target


@dataclass(frozen=True)
class GridRow(Share):
    """A row of the indicator grid: a share's fields, and the points earned of the weight."""

    points: Decimal | None = None
    weight: Decimal | None = None


@dataclass(frozen=True)
class UnitScore:
    score: Decimal | None
    grade: str | None
    previous: Decimal | None


def _dec(text: Any) -> Decimal | None:
    if text is None or text == "":
        return None
    try:
        return Decimal(str(text))
    except InvalidOperation:
        return None


def _running(months: Iterable[tuple[int, int, int]]) -> list[BurnMonth]:
    out, pre, spent = [], 0, 0
    for m, p, s in months:
        pre, spent = pre + p, spent + s
        out.append(BurnMonth(m, p, s, pre, spent))
    return out


def burn(figures: YearFigures, consortia: Iterable[str]) -> list[BurnMonth]:
    """The twelve months of ``consortia`` together: prepayments of their budgets against their in-network spending
    and out-of-network deductions (what the settlement charges to the budget)."""
    chosen = set(consortia)
    pre = [0] * 12
    for s in figures.settlement.consortia:
        if s.consortium_id in chosen:
            for i, p in enumerate(s.budget.prepayments[:12]):
                pre[i] += p
    spent = [0] * 12
    for r in figures.settlement.by_month.to_pylist():
        if r["consortium_id"] in chosen and 1 <= r["month"] <= 12:
            spent[r["month"] - 1] += int(r["in_network"] or 0) + int(r["out_of_network"] or 0)
    return _running((m + 1, pre[m], spent[m]) for m in range(12))


def enrollees(figures: YearFigures, consortia: Iterable[str]) -> int:
    """The enrollees the settlement counted for ``consortia`` (the heads its budgets are of)."""
    chosen = set(consortia)
    return sum(s.enrollees for s in figures.settlement.consortia if s.consortium_id in chosen)


def _of_year(figures: YearFigures, inst_ids: Sequence[str] | None = None) -> pa.Table:
    t = figures.adjudicated
    if inst_ids is not None:
        t = t.filter(pc.is_in(t.column("inst_id"), value_set=pa.array(list(inst_ids), pa.string())))
    return t


def institution_burn(figures: YearFigures, inst_id: str) -> list[BurnMonth]:
    """The fund's payments at one institution month by month (an institution has no prepayment of its own: 0)."""
    spent = [0] * 12
    t = _of_year(figures, [inst_id])
    for d, paid in zip(t.column("admit_date").to_pylist(), t.column("fund_paid").to_pylist(), strict=True):
        if d is not None and d.year == figures.year:
            spent[d.month - 1] += int(paid or 0)
    return _running((m + 1, 0, spent[m]) for m in range(12))


def fund_by_institution(figures: YearFigures, inst_ids: Sequence[str]) -> dict[str, int]:
    """What the fund paid at each of ``inst_ids`` for claims admitted in the figures' year, fen."""
    t = _of_year(figures, inst_ids)
    out = dict.fromkeys(inst_ids, 0)
    for i, d, paid in zip(t.column("inst_id").to_pylist(), t.column("admit_date").to_pylist(),
                          t.column("fund_paid").to_pylist(), strict=True):
        if d is not None and d.year == figures.year:
            out[i] = out.get(i, 0) + int(paid or 0)
    return out


def _values(table: pa.Table | None, scope: str) -> dict[str, Decimal | None]:
    if table is None:
        return {}
    return {r["indicator"]: _dec(r["value"]) if r.get("status", "ok") == "ok" else None
            for r in table.to_pylist() if r["scope"] == scope}


def shares(result: AppraisalResult, scope: str, last: AppraisalResult | None = None) -> list[Share]:
    """The :data:`SHARE_INDICATORS` the set holds, for ``scope`` (a county code or a consortium id); ``last``: last
    year's appraisal (its values are the previous ones)."""
    now, before = _values(result.indicators, scope), _values(last.indicators if last else None, scope)
    out = []
    for numerator, denominator in SHARE_INDICATORS:
        ind = next((i for i in result.indicator_set.indicators
                    if i.numerator == numerator and i.denominator == denominator), None)
        if ind is not None and ind.id in now:
            out.append(Share(ind, now[ind.id], before.get(ind.id)))
    return out


def indicator_grid(result: AppraisalResult, scope: str, last: AppraisalResult | None = None) -> list[GridRow]:
    """Every indicator measured for ``scope``: value, last year's (from ``last``), target, points of the weight."""
    now, before = _values(result.indicators, scope), _values(last.indicators if last else None, scope)
    points = {r["indicator"]: (_dec(r["points"]), _dec(r["weight"])) for r in result.points.to_pylist()
              if r["unit_id"] == scope}
    return [GridRow(ind, now[ind.id], before.get(ind.id), *points.get(ind.id, (None, None)))
            for ind in result.indicator_set.indicators if ind.id in now]


def _score_of(result: AppraisalResult | None, unit_id: str) -> dict[str, Any] | None:
    if result is None:
        return None
    return next((r for r in result.scores.to_pylist() if r["unit_id"] == unit_id), None)


def unit_score(result: AppraisalResult, unit_id: str, last: AppraisalResult | None = None) -> UnitScore:
    """The unit's score and grade, and last year's score (from ``last``, last year's appraisal)."""
    row, before = _score_of(result, unit_id), _score_of(last, unit_id)
    return UnitScore(_dec(row["score"]) if row else None, row["grade"] if row else None,
                     _dec(before["score"]) if before else None)
