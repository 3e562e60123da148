"""The referral state machine and the reserve arithmetic (转诊状态机与预留号源), with hypothesis: no sequence of moves
leaves a referral in an invalid state, and no sequence of bookings overbooks a slot or lets an unreferred booking
into the reserve before its release."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yigongti.referral.domain import (
    TERMINAL,
    TRANSITIONS,
    Party,
    PartyNotAllowed,
    SlotState,
    Status,
    TransitionNotAllowed,
    allowed_next,
    can_book,
    check_transition,
    is_released,
    reserved_places,
)

# the statuses a referral must have passed through to be in a status (the workflow's order)
BEFORE = {Status.BOOKED: Status.ACCEPTED, Status.ARRIVED: Status.BOOKED, Status.COMPLETED: Status.ARRIVED,
          Status.RETURNED: Status.COMPLETED, Status.DECLINED: Status.REQUESTED}

moves = st.lists(st.tuples(st.sampled_from(list(Status) + ["bogus"]), st.sampled_from(list(Party))), max_size=30)


@given(moves)
def test_no_sequence_of_moves_leaves_an_invalid_state(seq: list[tuple[str, Party]]) -> None:
    status = Status.REQUESTED
    path = [status]
    for target, party in seq:
        try:
            new = check_transition(status, target, party)
        except TransitionNotAllowed:
            assert target not in TRANSITIONS.get(status, {})
            continue
        except PartyNotAllowed:
            assert party not in TRANSITIONS[status][Status(target)]
            continue
        assert status not in TERMINAL
        assert new in TRANSITIONS[status] and party in TRANSITIONS[status][new]
        status = new
        path.append(status)
    assert isinstance(status, Status)
    for i, s in enumerate(path):
        if s in BEFORE:
            assert path[i - 1] == BEFORE[s], path
    assert path.count(Status.BOOKED) <= 1
    if Status.EXPIRED in path:
        assert Status.BOOKED not in path  # a booked referral never expires (it is cancelled)


def test_the_workflow_by_hand() -> None:
    assert check_transition("requested", "accepted", Party.RECEIVER) is Status.ACCEPTED
    with pytest.raises(PartyNotAllowed):
        check_transition("requested", "accepted", Party.SENDER)  # one cannot accept one's own referral
    with pytest.raises(TransitionNotAllowed):
        check_transition("requested", "arrived", Party.RECEIVER)
    with pytest.raises(TransitionNotAllowed):
        check_transition("returned", "cancelled", Party.SENDER)
    with pytest.raises(PartyNotAllowed):
        check_transition("requested", "expired", Party.RECEIVER)  # only the system lets a referral expire
    assert allowed_next(Status.ACCEPTED, Party.SENDER) == [Status.BOOKED, Status.CANCELLED]
    assert TERMINAL == {Status.DECLINED, Status.RETURNED, Status.CANCELLED, Status.EXPIRED}


@given(st.integers(0, 10_000), st.integers(0, 10_000))
def test_the_reserve_is_at_least_the_share(capacity: int, share: int) -> None:
    r = reserved_places(capacity, share)
    assert 0 <= r <= capacity
    assert r * 10_000 >= capacity * share > (r - 1) * 10_000  # the share, rounded up


def test_reserve_figures() -> None:
    assert [reserved_places(c, 2000) for c in (1, 4, 5, 6, 10, 11)] == [1, 1, 1, 2, 2, 3]
    start = datetime(2026, 3, 5, 8, 0)
    assert not is_released(start, start - timedelta(hours=24, seconds=1), 24)
    assert is_released(start, start - timedelta(hours=24), 24)


@given(st.integers(1, 60), st.integers(0, 10_000),
       st.lists(st.tuples(st.booleans(), st.booleans()), max_size=80))
def test_no_sequence_of_bookings_overbooks(capacity: int, share: int, seq: list[tuple[bool, bool]]) -> None:
    slot = SlotState(capacity, reserved_places(capacity, share))
    released_once = False
    for referred, released in seq:
        released_once |= released
        if can_book(slot, referred=referred, released=released):
            slot = slot.book(referred=referred, released=released)
        else:
            with pytest.raises(ValueError):
                slot.book(referred=referred, released=released)
            # refused only when full, or (unreferred, before the release) when only the reserve is left
            # (open bookings taken after an earlier release may already exceed the open places)
            assert slot.booked == capacity or (not referred and not released
                                               and slot.booked_open >= capacity - slot.reserved)
        assert slot.booked <= slot.capacity
        if not released_once:
            assert slot.booked_open <= slot.capacity - slot.reserved  # the reserve stayed the referrals'
