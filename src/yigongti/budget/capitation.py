"""The capitation budget (按年龄调整的人头总额), docs/en/rules.md C: standard heads, per-head rate, budget, prepayments.

Pure arithmetic over int fen and :class:`~decimal.Decimal` standard heads; the head counts come from the engine.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from yigongti.core.dates import age_on_jan_1
from yigongti.core.money import apply_rate_bp, largest_remainder
from yigongti.core.policy import CapitationPolicy

__all__ = [
    "Budget",
    "HeadCount",
    "age_on_jan_1",
    "band_index",
    "budget",
    "per_head_rate",
    "person_weight",
    "prepayments",
    "standard_heads",
]

_FEN = Decimal(1)


@dataclass(frozen=True)
class HeadCount:
    """``persons`` enrollees of one consortium in age band ``band`` (index into the policy's bands) and risk classes
    ``risk`` (empty when risk adjustment is off or the person has no chronic condition)."""

    band: int
    persons: int
    risk: tuple[str, ...] = ()


@dataclass(frozen=True)
class Budget:
    """The budget of one consortium for a year: standard heads H, rate R (fen per head), gross G, P4P reserve,
    prospective budget B = G - reserve and its monthly prepayments (预付)."""

    standard_heads: Decimal
    rate: int
    gross: int
    reserve: int
    prospective: int
    prepayments: tuple[int, ...]


def band_index(policy: CapitationPolicy, age: int) -> int:
    """Index of the age band holding ``age``."""
    idx = 0
    for i, b in enumerate(policy.age_bands):
        if age >= b.min_age:
            idx = i
    return idx


def person_weight(policy: CapitationPolicy, band: int, risk: Iterable[str] = ()) -> Decimal:
    """w(age band) x r(risk class). With risk adjustment on, a person in several classes counts the highest
    multiplier; a class without a configured multiplier, or risk adjustment off, counts 1."""
    w = policy.age_bands[band].weight
    if not policy.risk_adjustment:
        return w
    rs = [policy.risk_weights.get(r, Decimal(1)) for r in risk]
    return w * max(rs, default=Decimal(1))


def standard_heads(policy: CapitationPolicy, counts: Iterable[HeadCount]) -> Decimal:
    """H = sum over enrollees of w(age band) x r(risk class), exact."""
    return sum((person_weight(policy, c.band, c.risk) * c.persons for c in counts), Decimal(0))


def per_head_rate(policy: CapitationPolicy, total_heads: Decimal) -> int:
    """R in fen per standard head: the configured rate; else the pool / all standard heads of the county rounded
    down to the fen; else the default rate."""
    if policy.rate is not None:
        return policy.rate
    pool = policy.pool
    if pool is not None and total_heads > 0:
        return int((Decimal(pool) / total_heads).to_integral_value(rounding=ROUND_DOWN))
    return policy.default_rate


def prepayments(prospective: int, instalments: int) -> tuple[int, ...]:
    """B in ``instalments`` equal parts, the fen left over going to the first months (largest remainder)."""
    return tuple(largest_remainder(prospective, [1] * instalments))


def budget(policy: CapitationPolicy, heads: Decimal, rate: int) -> Budget:
    """G = H x R half-up to the fen; reserve = p4p share of G half-up; B = G - reserve; B prepaid by instalments."""
    gross = int((heads * rate).quantize(_FEN, rounding=ROUND_HALF_UP))
    reserve = apply_rate_bp(gross, policy.p4p_reserve)
    prospective = gross - reserve
    return Budget(heads, rate, gross, reserve, prospective, prepayments(prospective, policy.instalments))


def county_budgets(policy: CapitationPolicy, counts: Mapping[str, Iterable[HeadCount]]) -> dict[str, Budget]:
    """Budgets of every consortium of a county from its head counts (the rate is shared by the county)."""
    heads = {c: standard_heads(policy, hc) for c, hc in counts.items()}
    rate = per_head_rate(policy, sum(heads.values(), Decimal(0)))
    return {c: budget(policy, h, rate) for c, h in sorted(heads.items())}


@dataclass(frozen=True)
class BandCost:
    """Calibration figures of one age band: persons, fund payments (fen), the derived weight."""

    min_age: int
    persons: int
    fund_paid: int
    weight: Decimal


def calibrate_weights(policy: CapitationPolicy, cost_by_age: Iterable[tuple[int, int, int]], *,
                      places: int = 2) -> list[BandCost]:
    """Age weights from a year of claims (rules.md C1): mean fund payment per person in the band / overall mean,
    rounded half-up to ``places`` decimals. ``cost_by_age``: (age, persons, fund paid in fen). A band with nobody
    in it keeps its current weight. Raises ValueError when nobody or nothing was paid."""
    persons = [0] * len(policy.age_bands)
    paid = [0] * len(policy.age_bands)
    for age, n, fen in cost_by_age:
        i = band_index(policy, age)
        persons[i] += n
        paid[i] += fen
    total_n, total_paid = sum(persons), sum(paid)
    if total_n == 0 or total_paid == 0:
        raise ValueError("no persons or no fund payments to calibrate from / 无可用于测算的数据")
    q = Decimal(1).scaleb(-places)
    overall = Decimal(total_paid) / total_n
    out = []
    for b, n, fen in zip(policy.age_bands, persons, paid, strict=True):
        w = (Decimal(fen) / n / overall).quantize(q, rounding=ROUND_HALF_UP) if n else b.weight
        out.append(BandCost(b.min_age, n, fen, w))
    return out


def calibrate_risk(policy: CapitationPolicy, weights: Sequence[BandCost],
                   rows: Iterable[tuple[int, tuple[str, ...], int, int]], *, places: int = 2) -> dict[str, Decimal]:
    """Risk multipliers by indirect standardisation: for each class, the fund payments of its members / what
    the (new) age weights predict for them (overall mean x sum of their weights). ``rows``: (age, risk classes,
    persons, fund paid in fen). A class without members keeps its current multiplier (or 1)."""
    by_age = [(b.min_age, b.weight) for b in weights]
    total_n = sum(b.persons for b in weights)
    overall = Decimal(sum(b.fund_paid for b in weights)) / total_n if total_n else Decimal(0)
    expected: dict[str, Decimal] = {}
    actual: dict[str, int] = {}
    for age, classes, n, fen in rows:
        w = next(wt for a, wt in reversed(by_age) if age >= a)
        for c in classes:
            expected[c] = expected.get(c, Decimal(0)) + w * n * overall
            actual[c] = actual.get(c, 0) + fen
    q = Decimal(1).scaleb(-places)
    out = {}
    for c in sorted(policy.risk_diagnoses):
        e = expected.get(c, Decimal(0))
        out[c] = (Decimal(actual[c]) / e).quantize(q, rounding=ROUND_HALF_UP) if e > 0 else \
            policy.risk_weights.get(c, Decimal(1))
    return out


__all__ += ["BandCost", "calibrate_risk", "calibrate_weights", "county_budgets"]
