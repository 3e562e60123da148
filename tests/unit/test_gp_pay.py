"""GP pay (家庭医生薪酬, care.md): the pure rule, by hand and as invariants (the components add up to the total to
the fen; the quality pay never exceeds its per-head amount)."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from yigongti.care.domain import gp_pay, quality_score
from yigongti.core.policy import GpPayPolicy, Policy

POLICY = GpPayPolicy()


def test_by_hand() -> None:
    score = quality_score(registered=2, standardized=1, under_management=2, controlled=1, policy=POLICY)
    assert score == Fraction(1, 2)
    pay = gp_pay(heads=3, tier="village", score=score, policy=POLICY)
    assert (pay.base, pay.quality, pay.rural, pay.total) == (12_000, 3_000, 360_000, 375_000)
    assert gp_pay(heads=2, tier="county", score=Fraction(1), policy=POLICY).rural == 0
    assert gp_pay(heads=0, tier="township", score=Fraction(0), policy=POLICY).total == 240_000


def test_quality_score_weights_and_missing_rates() -> None:
    p = GpPayPolicy.model_validate({"control_weight": "75%"})
    assert quality_score(registered=4, standardized=0, under_management=4, controlled=4, policy=p) == Fraction(3, 4)
    # nobody under management yet: the standardized rate alone
    assert quality_score(registered=4, standardized=1, under_management=0, controlled=0, policy=p) == Fraction(1, 4)
    assert quality_score(registered=0, standardized=0, under_management=0, controlled=0, policy=p) == 0


def test_quality_pay_rounds_half_up_to_the_fen() -> None:
    p = GpPayPolicy.model_validate({"quality_per_head": "0.01"})
    assert gp_pay(heads=1, tier="", score=Fraction(1, 2), policy=p).quality == 1  # 0.5 fen -> 1
    assert gp_pay(heads=1, tier="", score=Fraction(49, 100), policy=p).quality == 0


def test_policy_section_and_validation() -> None:
    assert Policy().care.gp_pay.per_head == 4_000
    with pytest.raises(ValidationError):
        GpPayPolicy.model_validate({"per_head": "-1"})
    with pytest.raises(ValidationError):
        GpPayPolicy.model_validate({"control_weight": "150%"})
    with pytest.raises(ValueError, match="quality score"):
        gp_pay(heads=1, tier="village", score=Fraction(3, 2), policy=POLICY)


@given(st.integers(0, 5_000), st.integers(0, 1_000), st.integers(0, 1_000), st.integers(0, 1_000),
       st.integers(0, 1_000), st.sampled_from(["village", "township", "county", ""]),
       st.integers(0, 10_000), st.integers(0, 1_000_000), st.integers(0, 1_000_000))
def test_components_sum_to_the_total(heads: int, registered: int, std: int, um: int, ctl: int, tier: str,
                                     weight: int, per_head: int, quality_per_head: int) -> None:
    std, um = min(std, registered), min(um, registered)
    ctl = min(ctl, um)
    p = GpPayPolicy.model_validate({"per_head": f"{per_head / 100:.2f}",
                                    "quality_per_head": f"{quality_per_head / 100:.2f}",
                                    "control_weight": f"{weight / 100:.2f}%"})
    score = quality_score(registered=registered, standardized=std, under_management=um, controlled=ctl, policy=p)
    assert 0 <= score <= 1
    pay = gp_pay(heads=heads, tier=tier, score=score, policy=p)
    assert pay.total == pay.base + pay.quality + pay.rural
    assert pay.base == heads * p.per_head
    assert 0 <= pay.quality <= heads * p.quality_per_head
    assert abs(pay.quality - heads * p.quality_per_head * score) <= Fraction(1, 2)
