"""The single-claim path (domain.benefits) and the window identity the engine's outpatient deductible relies on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from yigongti.benefits.domain import (
    Claim,
    Decision,
    NetworkStatus,
    Rule,
    adjudicate_claim,
    network_status,
    outpatient_deductible_levels,
)
from yigongti.core.policy import BenefitPolicy
from yigongti.registry.domain import Institution, Tier

POLICY = BenefitPolicy()


@dataclass(frozen=True)
class Des:
    consortium_id: str = "G1"
    township_id: str = "G1-T1"
    village_id: str = "G1-T1-V1"


@dataclass(frozen=True)
class Person:
    insurance: str = "resident"


def inst(inst_id: str, tier: Tier, level: int, consortium: str | None) -> Institution:
    return Institution(inst_id, inst_id, tier, level, "general", consortium, None, "513433", 102.0, 28.0)


VILLAGE = inst("G1-T1-V1", Tier.VILLAGE, 0, "G1")
OTHER_TOWNSHIP = inst("G1-T2", Tier.TOWNSHIP, 1, "G1")
OTHER_CONSORTIUM_COUNTY = inst("G2-H", Tier.COUNTY, 2, "G2")
TERTIARY = inst("X3", Tier.OUTSIDE, 3, None)


def test_network_status_of_each_place() -> None:
    des = Des()
    assert network_status(inst("G1-H", Tier.COUNTY, 2, "G1"), des) is NetworkStatus.DESIGNATED
    assert network_status(VILLAGE, des) is NetworkStatus.DESIGNATED
    assert network_status(inst("G1-T1", Tier.TOWNSHIP, 1, "G1"), des) is NetworkStatus.DESIGNATED
    assert network_status(OTHER_TOWNSHIP, des) is NetworkStatus.IN_CONSORTIUM
    assert network_status(OTHER_CONSORTIUM_COUNTY, des) is NetworkStatus.OTHER_CONSORTIUM
    assert network_status(TERTIARY, des) is NetworkStatus.OUTSIDE
    assert network_status(VILLAGE, None) is NetworkStatus.OTHER_CONSORTIUM


def test_single_claim_explains_itself_in_both_languages() -> None:
    c = Claim("C1", "P1", "X3", "inpatient", date(2026, 3, 1), 250_000, 200_000, discharge_date=date(2026, 3, 5))
    d = adjudicate_claim(c, person=Person(), institution=TERTIARY, designation=Des(), policy=POLICY)
    assert (d.network_status, d.row_name, d.deductible, d.rate_bp, d.fund_paid, d.patient_paid, d.rule) == (
        NetworkStatus.OUTSIDE, "outside_tertiary", 120_000, 6000, 48_000, 202_000, Rule.INPATIENT)
    assert "医共体外医院" in d.explanation_zh and "1200.00" in d.explanation_zh and "60%" in d.explanation_zh
    assert "outside every consortium" in d.explanation_en and "480.00" in d.explanation_en


def test_history_supplies_deductible_cap_and_referral() -> None:
    ref = Claim("A", "P1", "G1-T1-V1", "inpatient", date(2026, 3, 1), 100_000, 100_000, discharge_date=date(2026, 3, 4))
    first = adjudicate_claim(ref, person=Person(), institution=VILLAGE, designation=Des(), policy=POLICY)
    later = Claim("B", "P1", "X3", "inpatient", date(2026, 3, 10), 200_000, 200_000, discharge_date=date(2026, 3, 12),
                  referral_from="A")
    d = adjudicate_claim(later, person=Person(), institution=TERTIARY, designation=Des(), policy=POLICY,
                         history=[first])
    assert (d.deductible, d.referral_applied, d.rule) == (110_000, 10_000, Rule.CONTINUOUS_DEDUCTIBLE)
    assert "转出住院已付起付线 100.00 元" in d.explanation_zh
    # a history claim decided later (in order) than this one does not count
    early = Claim("0", "P1", "G1-T2", "outpatient", date(2026, 1, 1), 5_000, 5_000)
    d2 = adjudicate_claim(early, person=Person(), institution=OTHER_TOWNSHIP, designation=Des(), policy=POLICY,
                          history=[first, d])
    assert (d2.cap_remaining, d2.deductible) == (POLICY.annual_cap("resident"), 5_000)


def test_cap_explained() -> None:
    big = Claim("A", "P1", "G1-T1-V1", "inpatient", date(2026, 3, 1), 30_000_000, 30_000_000,
                discharge_date=date(2026, 3, 9))
    d = adjudicate_claim(big, person=Person(), institution=VILLAGE, designation=Des(), policy=POLICY)
    assert (d.fund_before_cap, d.fund_paid, d.rule) == (26_991_000, 20_000_000, Rule.ANNUAL_CAP)
    assert "年度限额 200000.00 元" in d.explanation_zh and "Annual cap 200000.00" in d.explanation_en


def test_no_benefit_and_flat_copay_explained() -> None:
    c = Claim("A", "P1", "G2-H", "outpatient", date(2026, 3, 1), 8_000, 7_000)
    d = adjudicate_claim(c, person=Person(), institution=OTHER_CONSORTIUM_COUNTY, designation=Des(), policy=POLICY)
    assert (d.fund_paid, d.patient_paid, d.rule, d.row_name) == (0, 8_000, Rule.NO_BENEFIT, None)
    assert "不予报销" in d.explanation_zh
    flat = adjudicate_claim(Claim("B", "P1", "G1-T1-V1", "outpatient", date(2026, 3, 1), 8_000, 7_000),
                            person=Person("employee"), institution=VILLAGE, designation=Des(), policy=POLICY)
    assert (flat.fund_paid, flat.flat_copay, flat.rule) == (5_000, True, Rule.FLAT_COPAY)
    assert "flat copay" in flat.explanation_en


def test_deductible_levels_come_from_the_policy() -> None:
    assert outpatient_deductible_levels(POLICY) == [10_000, 30_000]


# ------------------------------------------------------------------ the engine's multi-level deductible identity

def _loop(claims: list[tuple[int, int]]) -> list[int]:
    """Plain loop: a claim applies min(C, max(0, D - already applied))."""
    applied, out = 0, []
    for d, c in claims:
        a = min(c, max(0, d - applied))
        out.append(a)
        applied += a
    return out


def _levels(claims: list[tuple[int, int]], levels: list[int]) -> list[int]:
    """S^(k) = min(d_k, cumsum x^(k)); x^(k) = C where D >= d_k, else the increment of S^(k-1)."""
    inc = [0] * len(claims)
    for dk in levels:
        x = [c if d >= dk else inc[j] for j, (d, c) in enumerate(claims)]
        cum, new = 0, []
        for xj in x:
            new.append(min(dk, cum + xj) - min(dk, cum))
            cum += xj
        inc = new
    return inc


@given(st.lists(st.integers(1, 500), min_size=1, max_size=4, unique=True).flatmap(
    lambda levels: st.tuples(st.just(sorted(levels)), st.lists(
        st.tuples(st.sampled_from([0, *levels]), st.integers(0, 600)), max_size=30))))
def test_multi_level_running_sums_equal_the_loop(data: tuple[list[int], list[tuple[int, int]]]) -> None:
    levels, claims = data
    assert _levels(claims, levels) == _loop(claims)


def test_decision_is_frozen() -> None:
    assert Decision.__dataclass_params__.frozen  # type: ignore[attr-defined]
