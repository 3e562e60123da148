"""The warning threshold of syndromic surveillance (预警阈值: mean + 2 SD of the previous weeks, at least 5 cases; the
fixed policy threshold with fewer than 4 weeks) and the flags of the emergency stockpile, pure."""

from __future__ import annotations

import math
import statistics
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yigongti.core.policy import PolicyError, PublicHealthPolicy, policy_from_toml
from yigongti.public_health.domain import is_warning, stock_flags, week_start, week_threshold


def test_a_worked_example() -> None:
    th = week_threshold([1, 2, 3, 4, 5, 6, 7, 8], fixed=30)
    # mean 4.5, sample SD 2.449...: 4.5 + 4.899 = 9.399 -> 9.4 (one decimal, upwards)
    assert (th.threshold, th.basis, th.mean, th.sd, th.weeks) == (Decimal("9.4"), "history", Decimal("4.5"),
                                                                  Decimal("2.4"), 8)
    assert not is_warning(9, th) and is_warning(10, th)
    assert week_threshold([0, 0, 0, 0], fixed=30).threshold == 5  # at least 5 cases
    assert week_threshold([7, 9, 8], fixed=30).threshold == 30 and week_threshold([], fixed=12).basis == "fixed"


@given(st.lists(st.integers(0, 10_000), min_size=4, max_size=8))
def test_the_threshold_from_history_is_mean_plus_two_sd_at_least_five(history: list[int]) -> None:
    th = week_threshold(history, fixed=1)
    exact = statistics.mean(history) + 2 * statistics.stdev(history)
    assert th.basis == "history" and th.threshold >= 5
    assert th.threshold >= Decimal(str(exact)) - Decimal("0.0000001")  # rounded upwards
    assert th.threshold - Decimal("0.1") < max(Decimal(5), Decimal(str(exact)) + Decimal("0.0000001"))
    first = math.ceil(th.threshold)
    assert is_warning(first, th) and not is_warning(first - 1, th)


@given(st.lists(st.integers(0, 10_000), max_size=3), st.integers(1, 1000))
def test_fewer_than_four_weeks_use_the_fixed_threshold(history: list[int], fixed: int) -> None:
    th = week_threshold(history, fixed=fixed)
    assert (th.threshold, th.basis) == (Decimal(fixed), "fixed")


@given(st.dates(date(2020, 1, 1), date(2030, 12, 31)))
def test_a_week_starts_on_its_monday(day: date) -> None:
    monday = week_start(day)
    assert monday.weekday() == 0 and timedelta(0) <= day - monday < timedelta(days=7)


def test_stockpile_flags() -> None:
    today = date(2026, 3, 2)
    assert stock_flags(10, 10, None, today, 90) == ()
    assert stock_flags(9, 10, today + timedelta(days=90), today, 90) == ("below_minimum", "expiring")
    assert stock_flags(50, 10, today - timedelta(days=1), today, 90) == ("expired",)
    assert stock_flags(50, 10, today + timedelta(days=91), today, 90) == ()


def test_the_policy_validates_the_syndromes() -> None:
    assert PublicHealthPolicy().syndromes["ili"] == 30
    with pytest.raises(PolicyError, match="syndromes"):
        policy_from_toml("[public_health.syndromes]\nili = 0\n", source="policy.toml")
    with pytest.raises(PolicyError, match="surveillance_min_history"):
        policy_from_toml("[public_health]\nsurveillance_weeks = 3\n", source="policy.toml")
    merged = policy_from_toml("[public_health.syndromes]\nili = 12\n", source="policy.toml")
    assert merged.public_health.syndromes["ili"] == 12 and merged.public_health.syndromes["fever"] == 40
