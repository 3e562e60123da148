"""The rules of remote diagnosis (远程诊断规则): the order's workflow and who moves it, the validity of a result
(结果互认), the turnaround figures; and the reserved-capacity arithmetic of the officials' flows page."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yigongti.centres.domain import (
    TRANSITIONS,
    Kind,
    OrderMoveNotAllowed,
    OrderPartyNotAllowed,
    Party,
    Status,
    check_move,
    moves_for,
    percentile,
    turnaround_hours,
    valid_until,
    within_validity,
)
from yigongti.core.policy import ReferralPolicy
from yigongti.referral.analytics import slot_use

T0 = datetime(2026, 3, 2, 9, 0)


def test_the_centre_accepts_and_reports_the_requester_only_cancels() -> None:
    assert check_move("ordered", "accepted", Party.CENTRE) is Status.ACCEPTED
    assert check_move("accepted", "reported", Party.CENTRE) is Status.REPORTED
    assert check_move("ordered", "cancelled", Party.REQUESTER) is Status.CANCELLED
    with pytest.raises(OrderPartyNotAllowed):
        check_move("ordered", "accepted", Party.REQUESTER)
    with pytest.raises(OrderPartyNotAllowed):
        check_move("accepted", "reported", Party.REQUESTER)
    with pytest.raises(OrderMoveNotAllowed):
        check_move("ordered", "reported", Party.CENTRE)  # not accepted yet
    with pytest.raises(OrderMoveNotAllowed):
        check_move("reported", "cancelled", Party.REQUESTER)  # a report stays
    with pytest.raises(OrderMoveNotAllowed):
        check_move("recognised", "accepted", Party.CENTRE)  # nothing to read
    with pytest.raises(OrderMoveNotAllowed):
        check_move("nonsense", "accepted", Party.CENTRE)


@given(st.sampled_from(list(Status)), st.sampled_from(list(Status)), st.sampled_from(list(Party)))
def test_a_move_is_allowed_exactly_when_the_table_says_so(current: Status, target: Status, party: Party) -> None:
    allowed = party in TRANSITIONS.get(current, {}).get(target, frozenset())
    try:
        check_move(current, target, party)
        assert allowed
    except (OrderMoveNotAllowed, OrderPartyNotAllowed):
        assert not allowed
    assert (target in moves_for(current, party)) == allowed


def test_a_result_is_recognised_inside_its_validity_only() -> None:
    assert valid_until(T0, 7) == T0 + timedelta(days=7)
    assert within_validity(T0, T0 + timedelta(days=6, hours=23), 7)
    assert not within_validity(T0, T0 + timedelta(days=7), 7)
    assert not within_validity(T0, T0 - timedelta(hours=1), 7)  # not reported yet at that time
    assert valid_until(T0, 0) is None and not within_validity(T0, T0, 0)  # 0 days: never recognised


def test_validity_days_are_policy_and_validated() -> None:
    assert ReferralPolicy().validity_days["ecg"] == 7
    assert ReferralPolicy.model_validate({"validity_days": {"imaging": 60}}).validity_days == {"imaging": 60}
    for bad in ({"mri": 3}, {"lab": -1}, {"lab": 99999}):
        with pytest.raises(ValueError, match="validity_days"):
            ReferralPolicy.model_validate({"validity_days": bad})


def test_turnaround_is_hours_to_one_decimal() -> None:
    assert turnaround_hours(T0, T0 + timedelta(hours=2, minutes=15)) == Decimal("2.3")  # 2.25 half up
    assert turnaround_hours(T0, T0 + timedelta(minutes=3)) == Decimal("0.1")
    assert turnaround_hours(T0, T0 + timedelta(days=2)) == Decimal("48.0")


def test_percentile_by_nearest_rank() -> None:
    v = [Decimal(x) for x in (5, 1, 3, 2, 4, 10, 6, 7, 8, 9)]
    assert percentile(v, 50) == 5 and percentile(v, 90) == 9 and percentile(v, 100) == 10
    assert percentile([], 50) is None
    assert percentile([Decimal(3)], 90) == 3
    with pytest.raises(ValueError):
        percentile(v, 0)


@given(st.lists(st.decimals(min_value=0, max_value=1000, places=1), min_size=1, max_size=50),
       st.integers(min_value=1, max_value=100))
def test_percentile_is_a_value_with_at_least_p_percent_at_or_below(values: list[Decimal], p: int) -> None:
    got = percentile(values, p)
    assert got in values
    assert sum(v <= got for v in values) * 100 >= p * len(values)
    assert sum(v < got for v in values) * 100 < p * len(values)


@given(st.integers(min_value=1, max_value=200).flatmap(lambda cap: st.tuples(
    st.just(cap), st.integers(min_value=0, max_value=cap)).flatmap(lambda cr: st.tuples(
        st.just(cr[0]), st.just(cr[1]), st.integers(min_value=0, max_value=cr[0])).flatmap(lambda crb: st.tuples(
            st.just(crb[0]), st.just(crb[1]), st.just(crb[2]), st.integers(min_value=0, max_value=crb[2]))))))
def test_the_reserve_splits_into_used_released_and_unused(slot: tuple[int, int, int, int]) -> None:
    capacity, reserved, booked, booked_open = slot
    used, released, unused = slot_use(capacity, reserved, booked, booked_open)
    assert min(used, released, unused) >= 0
    assert used + released + unused == reserved
    assert used <= booked - booked_open and released <= booked_open


def test_the_kinds_are_the_policys() -> None:
    """The order kinds of the domain (and so of the API) are the policy's, whose validity days they look up."""
    from yigongti.core.policy import DIAGNOSIS_KINDS
    assert [k.value for k in Kind] == list(DIAGNOSIS_KINDS)
