"""Pharmacy rules: stock never negative, the shortage state machine, the stock-out alert (hypothesis)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yigongti.pharmacy.domain import (
    InsufficientStock,
    ShortageStatus,
    TransitionNotAllowed,
    check_transition,
    days_left,
    needs_alert,
    stock_after,
)


@given(st.integers(0, 10**6), st.lists(st.integers(-500, 500), max_size=60))
def test_stock_never_goes_negative(start: int, moves: list[int]) -> None:
    on_hand, applied = start, 0
    for delta in moves:
        try:
            on_hand = stock_after(on_hand, delta)
            applied += delta
        except InsufficientStock as exc:
            assert on_hand + delta < 0 and exc.on_hand == on_hand
        assert on_hand >= 0
    assert on_hand == start + applied  # what was refused changed nothing


def test_shortage_workflow() -> None:
    assert check_transition("registered", "dispatched") is ShortageStatus.DISPATCHED
    assert check_transition("dispatched", "delivered") is ShortageStatus.DELIVERED
    assert check_transition("registered", "cancelled") is ShortageStatus.CANCELLED
    for cur, new in [("dispatched", "cancelled"), ("delivered", "dispatched"), ("registered", "delivered"),
                     ("cancelled", "registered"), ("nonsense", "delivered")]:
        with pytest.raises(TransitionNotAllowed):
            check_transition(cur, new)


def test_days_left_and_alert() -> None:
    assert days_left(100, 0, 4) is None and not needs_alert(0, 0, 4, 14)  # no usage: no alert
    assert days_left(70, 28, 4) == Decimal(70)  # one a day
    assert days_left(13, 28, 4) == Decimal(13) and needs_alert(13, 28, 4, 14)
    assert not needs_alert(14, 28, 4, 14)


@given(st.integers(0, 10**6), st.integers(1, 10**6), st.integers(1, 52), st.integers(1, 365))
def test_alert_iff_stock_below_alert_days_of_usage(on_hand: int, issued: int, weeks: int, alert: int) -> None:
    # exact in integers: on_hand / (issued / (7 weeks)) < alert  <=>  on_hand * 7 * weeks < alert * issued (floored)
    assert needs_alert(on_hand, issued, weeks, alert) == ((on_hand * 7 * weeks) // issued < alert)
