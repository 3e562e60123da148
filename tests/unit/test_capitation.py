"""Capitation budget (docs/en/rules.md C), computed by hand."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from yigongti.budget.capitation import (
    HeadCount,
    age_on_jan_1,
    band_index,
    budget,
    county_budgets,
    per_head_rate,
    prepayments,
    standard_heads,
)
from yigongti.core.policy import CapitationPolicy


def test_age_is_completed_years_on_jan_1() -> None:
    assert age_on_jan_1(2000, 1, 1, 2026) == 26
    assert age_on_jan_1(2000, 1, 2, 2026) == 25
    assert age_on_jan_1(2000, 12, 31, 2026) == 25
    assert age_on_jan_1(2026, 3, 1, 2026) == 0  # born during the year


def test_bands_and_standard_heads() -> None:
    cap = CapitationPolicy()
    assert [band_index(cap, a) for a in (0, 4, 5, 14, 15, 44, 45, 59, 60, 69, 70, 79, 80, 104)] == \
        [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6]
    # 2 children 0-4 (1.10), 3 adults 15-44 (0.55), 1 person 80+ (2.90)
    h = standard_heads(cap, [HeadCount(0, 2), HeadCount(2, 3), HeadCount(6, 1)])
    assert h == Decimal("6.75")


def test_risk_adjustment_takes_the_highest_multiplier() -> None:
    cap = CapitationPolicy(risk_adjustment=True, risk_weights={"htn": Decimal("1.3"), "dm": Decimal("1.5")})
    h = standard_heads(cap, [HeadCount(3, 2, ("dm", "htn")), HeadCount(3, 1, ("htn",)), HeadCount(3, 1)])
    assert h == Decimal("1.00") * (2 * Decimal("1.5") + Decimal("1.3") + 1)
    off = CapitationPolicy(risk_weights={"htn": Decimal("1.3")})
    assert standard_heads(off, [HeadCount(3, 1, ("htn",))]) == Decimal("1.00")


def test_rate_from_config_pool_or_default() -> None:
    assert per_head_rate(CapitationPolicy(), Decimal(7)) == 100_000  # 1,000.00 yuan
    assert per_head_rate(CapitationPolicy(rate="850.50"), Decimal(7)) == 85_050  # type: ignore[arg-type]
    # pool 100.00 yuan over 3 standard heads = 33.3333.. -> rounded DOWN to 33.33
    pool = CapitationPolicy(pool_resident="60", pool_employee="40")  # type: ignore[arg-type]
    assert per_head_rate(pool, Decimal(3)) == 3333
    # the public-health money is earmarked (专款专用): never in the per-head rate that claims are spent against
    ph = CapitationPolicy(pool_resident="60", pool_employee="40", pool_public_health="900")  # type: ignore[arg-type]
    assert per_head_rate(ph, Decimal(3)) == 3333
    # 2.00 yuan over 0.30 heads = 6.6666.. -> 6.66, never 6.67
    assert per_head_rate(CapitationPolicy(pool_employee="2"), Decimal("0.30")) == 666  # type: ignore[arg-type]


def test_budget_reserve_and_prepayments_by_hand() -> None:
    b = budget(CapitationPolicy(), Decimal("10.00"), 100_000)
    assert (b.gross, b.reserve, b.prospective) == (1_000_000, 50_000, 950_000)
    # 950,000 / 12 = 79,166.67: 8 fen left over go to the first 8 months
    assert b.prepayments == (79_167,) * 8 + (79_166,) * 4
    # G = 57.15 heads x 1000.00 = 57,150.00; reserve 2,857.50; B = 54,292.50 (the example's G1)
    b = budget(CapitationPolicy(), Decimal("57.15"), 100_000)
    assert (b.gross, b.reserve, b.prospective) == (5_715_000, 285_750, 5_429_250)


def test_gross_budget_and_reserve_round_half_up() -> None:
    # 0.005 heads x 1.00 yuan = 0.5 fen -> 1 fen; 5% of 30 fen = 1.5 fen -> 2 fen
    assert budget(CapitationPolicy(), Decimal("0.005"), 100).gross == 1
    assert budget(CapitationPolicy(), Decimal("0.30"), 100).reserve == 2


def test_county_budgets_share_one_rate() -> None:
    cap = CapitationPolicy(pool_resident="1000")  # type: ignore[arg-type]
    out = county_budgets(cap, {"B": [HeadCount(3, 1)], "A": [HeadCount(3, 2)]})
    assert list(out) == ["A", "B"]
    assert out["A"].rate == out["B"].rate == 33_333  # 100,000 fen / 3 heads, down
    assert out["A"].gross + out["B"].gross <= 100_000


@given(st.integers(0, 10**12), st.integers(1, 24))
def test_prepayments_sum_to_the_budget(b: int, n: int) -> None:
    parts = prepayments(b, n)
    assert sum(parts) == b and len(parts) == n
    assert max(parts) - min(parts) <= 1 and list(parts) == sorted(parts, reverse=True)


def test_calibrated_weights_are_band_mean_over_overall_mean() -> None:
    from yigongti.budget.capitation import calibrate_risk, calibrate_weights

    cap = CapitationPolicy()
    # (age, persons, fund fen): band 0-4 2 persons 300.00; 15-44 4 persons 200.00; 80+ 2 persons 500.00
    bands = calibrate_weights(cap, [(1, 1, 10_000), (3, 1, 20_000), (30, 4, 20_000), (85, 2, 50_000)])
    # overall mean = 1000.00 / 8 = 125.00; 0-4: 150.00 -> 1.20; 15-44: 50.00 -> 0.40; 80+: 250.00 -> 2.00
    w = {b.min_age: b.weight for b in bands}
    assert (w[0], w[15], w[80]) == (Decimal("1.20"), Decimal("0.40"), Decimal("2.00"))
    assert w[5] == Decimal("0.45")  # nobody in 5-14: keeps its weight
    assert sum(b.persons for b in bands) == 8
    cap_r = CapitationPolicy(risk_diagnoses={"dm": ("E11",)})
    # the 80+ pair are diabetic: predicted 2 x 2.00 x 125.00 = 500.00, actual 500.00 -> 1.00
    r = calibrate_risk(cap_r, bands, [(85, ("dm",), 2, 50_000), (30, (), 4, 20_000)])
    assert r == {"dm": Decimal("1.00")}


def test_calibration_needs_payments() -> None:
    import pytest

    from yigongti.budget.capitation import calibrate_weights

    with pytest.raises(ValueError):
        calibrate_weights(CapitationPolicy(), [(30, 5, 0)])
