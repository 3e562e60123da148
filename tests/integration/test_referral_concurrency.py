"""No double booking (不重复预约) under concurrency, on SQLite and PostgreSQL: threads book one slot at the same
moment; the places taken never exceed the capacity, the reserve is never taken without a referral before its
release, and a person or a referral never holds two places."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from store_fixtures import TestDb, at_once, db  # noqa: F401

from yigongti.core.policy import Policy, ReferralPolicy
from yigongti.datafolder.folder import read_folder
from yigongti.enrollment.loading import load_data
from yigongti.enrollment.uow import SqlAlchemyUnitOfWork
from yigongti.platform.accounts import Principal, Role
from yigongti.referral.domain import SlotState, TransitionNotAllowed, can_book
from yigongti.referral.service import (
    CONTRACT_COLUMNS,
    NoPlaceLeft,
    RequestReferral,
    admission_links,
    book_place,
    completed_referrals,
    expire_referrals,
    move_referral,
    publish_slot,
    request_referral,
)
from yigongti.referral.store import BookingRow, SlotRow
from yigongti.referral.uow import ReferralUnitOfWork

THREADS = 10
NOW = datetime(2026, 3, 2, 9, 0)
START = NOW + timedelta(days=3)  # the reserve is not released yet (24 h before the start)
POLICY = ReferralPolicy()
DOCTOR = Principal(user_id=1, username="doc", role=Role.CLINICIAN, inst_id="G1-T1")
HOSPITAL = Principal(user_id=2, username="hosp", role=Role.INSTITUTION_ADMIN, inst_id="G1-H")


@pytest.fixture(scope="module")
def persons(example_input: Path) -> list[str]:
    return sorted(r["person_id"] for r in read_folder(example_input)["persons"].to_pylist())[:THREADS]


@pytest.fixture
def engine(db: TestDb, example_input: Path) -> Iterator[Engine]:  # noqa: F811
    eng = db.engine(pool_size=THREADS + 2)
    load_data(read_folder(example_input), SqlAlchemyUnitOfWork(eng), policy=Policy(), now=NOW)
    yield eng
    eng.dispose()


def run_at_once(jobs: list[Callable[[], Any]]) -> list[Any]:
    """Every job at the same moment; the result or the refusal (409) of each."""
    results = at_once(jobs)
    unexpected = [r for r in results if isinstance(r, BaseException)
                  and not isinstance(r, NoPlaceLeft | TransitionNotAllowed)]
    assert not unexpected, unexpected
    return results


def _slot(engine: Engine, capacity: int) -> int:
    return publish_slot(ReferralUnitOfWork(engine), HOSPITAL, inst_id="G1-H", kind="bed", start=START,
                        capacity=capacity, policy=POLICY, now=NOW).slot_id


def _state(engine: Engine, slot_id: int) -> tuple[SlotRow, int]:
    with ReferralUnitOfWork(engine) as uow:
        slot = uow.slots.get(slot_id)
        assert slot is not None
        live = uow.session.scalar(select(func.count()).select_from(BookingRow)
                                  .where(BookingRow.slot_id == slot_id, BookingRow.status == "booked"))
        return slot, int(live or 0)


def _accepted_referral(engine: Engine, person_id: str, claim: str | None = None) -> int:
    row = request_referral(ReferralUnitOfWork(engine), DOCTOR, RequestReferral(
        person_id=person_id, from_inst_id="G1-T1", to_inst_id="G1-H", direction="up", diagnosis="I63.9",
        reason="脑梗死待查", from_claim_id=claim), now=NOW)
    move_referral(ReferralUnitOfWork(engine), HOSPITAL, row.referral_id, "accepted", policy=POLICY, now=NOW)
    return row.referral_id


def test_open_bookings_at_once_never_take_the_reserve(engine: Engine, persons: list[str]) -> None:
    slot_id = _slot(engine, capacity=5)  # 20% of 5 -> 1 reserved, 4 open
    results = run_at_once([lambda p=p: book_place(ReferralUnitOfWork(engine), DOCTOR, slot_id, person_id=p,
                                                  referral_id=None, policy=POLICY, now=NOW) for p in persons])
    assert sum(not isinstance(r, BaseException) for r in results) == 4
    slot, live = _state(engine, slot_id)
    assert (slot.booked, slot.booked_open, live) == (4, 4, 4)


def test_referred_bookings_at_once_fill_exactly_the_capacity(engine: Engine, persons: list[str]) -> None:
    slot_id = _slot(engine, capacity=3)
    referrals = [_accepted_referral(engine, p) for p in persons]
    results = run_at_once([lambda p=p, r=r: book_place(ReferralUnitOfWork(engine), DOCTOR, slot_id, person_id=p,
                                                       referral_id=r, policy=POLICY, now=NOW)
                           for p, r in zip(persons, referrals, strict=True)])
    assert sum(not isinstance(r, BaseException) for r in results) == 3
    slot, live = _state(engine, slot_id)
    assert (slot.booked, slot.booked_open, live) == (3, 0, 3)


def test_one_person_booked_at_once_holds_one_place(engine: Engine, persons: list[str]) -> None:
    slot_id = _slot(engine, capacity=50)
    results = run_at_once([lambda: book_place(ReferralUnitOfWork(engine), DOCTOR, slot_id, person_id=persons[0],
                                              referral_id=None, policy=POLICY, now=NOW) for _ in range(6)])
    assert sum(not isinstance(r, BaseException) for r in results) == 1
    slot, live = _state(engine, slot_id)
    assert (slot.booked, live) == (1, 1)


def test_one_referral_booked_at_once_holds_one_place(engine: Engine, persons: list[str]) -> None:
    slot_a, slot_b = _slot(engine, capacity=10), _slot(engine, capacity=10)
    referral = _accepted_referral(engine, persons[0])
    results = run_at_once([lambda s=s: move_referral(ReferralUnitOfWork(engine), DOCTOR, referral, "booked",
                                                     policy=POLICY, now=NOW, slot_id=s)
                           for s in (slot_a, slot_b) * 3])
    assert sum(not isinstance(r, BaseException) for r in results) == 1
    assert _state(engine, slot_a)[1] + _state(engine, slot_b)[1] == 1
    assert _state(engine, slot_a)[0].booked + _state(engine, slot_b)[0].booked == 1


def test_the_reserve_opens_to_everyone_at_the_release(engine: Engine, persons: list[str]) -> None:
    slot_id = _slot(engine, capacity=5)
    late = START - timedelta(hours=POLICY.release_hours)
    for n, p in enumerate(persons[:6]):
        expect = can_book(SlotState(5, 1, min(n, 5), min(n, 5)), referred=False, released=True)
        if expect:
            book_place(ReferralUnitOfWork(engine), DOCTOR, slot_id, person_id=p, referral_id=None, policy=POLICY,
                       now=late)
        else:
            with pytest.raises(NoPlaceLeft):
                book_place(ReferralUnitOfWork(engine), DOCTOR, slot_id, person_id=p, referral_id=None,
                           policy=POLICY, now=late)
    assert _state(engine, slot_id)[0].booked == 5


def test_cancelling_a_booked_referral_gives_the_place_back(engine: Engine, persons: list[str]) -> None:
    slot_id = _slot(engine, capacity=1)
    first = _accepted_referral(engine, persons[0], claim="C-REF-1")
    second = _accepted_referral(engine, persons[1])
    booked = book_place(ReferralUnitOfWork(engine), DOCTOR, slot_id, person_id=persons[0], referral_id=first,
                        policy=POLICY, now=NOW)
    assert booked.referral_from == "C-REF-1"  # a bed booked from a referral carries the referring admission
    with pytest.raises(NoPlaceLeft):
        book_place(ReferralUnitOfWork(engine), DOCTOR, slot_id, person_id=persons[1], referral_id=second,
                   policy=POLICY, now=NOW)
    move_referral(ReferralUnitOfWork(engine), DOCTOR, first, "cancelled", policy=POLICY, now=NOW)
    assert _state(engine, slot_id)[0].booked == 0
    book_place(ReferralUnitOfWork(engine), DOCTOR, slot_id, person_id=persons[1], referral_id=second,
               policy=POLICY, now=NOW)
    assert _state(engine, slot_id)[0].booked == 1


def test_stale_referrals_expire_and_completed_ones_are_exported(engine: Engine, persons: list[str]) -> None:
    stale = _accepted_referral(engine, persons[0])
    done = _accepted_referral(engine, persons[1], claim="C-1")
    slot_id = _slot(engine, capacity=2)
    move_referral(ReferralUnitOfWork(engine), DOCTOR, done, "booked", policy=POLICY, now=NOW, slot_id=slot_id)
    for status in ("arrived", "completed"):
        move_referral(ReferralUnitOfWork(engine), HOSPITAL, done, status, policy=POLICY, now=NOW)
    later = NOW + timedelta(days=POLICY.expire_days + 1)
    assert expire_referrals(ReferralUnitOfWork(engine), policy=POLICY, now=later) == 1
    with ReferralUnitOfWork(engine) as uow:
        assert uow.referrals.get(stale).status == "expired"  # type: ignore[union-attr]
        assert [e.party for e in uow.referrals.events(stale)][-1] == "system"
    rows = completed_referrals(ReferralUnitOfWork(engine))
    assert [(r["referral_id"], r["status"], r["direction"]) for r in rows] == [(str(done), "completed", "up")]
    assert set(rows[0]) == set(CONTRACT_COLUMNS)
    links = admission_links(ReferralUnitOfWork(engine))
    assert [(r["person_id"], r["referral_from"], r["inst_id"]) for r in links] == [(persons[1], "C-1", "G1-H")]
