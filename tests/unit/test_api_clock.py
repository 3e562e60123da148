"""The pinned clock of ``serve --today``: it starts at 00:00 of the pinned day and only moves forward."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st
from tests.fakes import FakeClock

from yigongti.platform.settings import Clock, Settings

PINNED = date(2025, 11, 15)


def test_pinned_clock_runs_from_the_pinned_midnight_and_crosses_it_forward() -> None:
    mono = FakeClock(1000.0)
    clock = Clock(fixed=PINNED, monotonic=mono)
    assert clock.now() == datetime(2025, 11, 15, 0, 0, 0) and clock.today() == PINNED
    mono.t += 86_399.5  # one second before the next midnight
    before = clock.now()
    mono.t += 1.0
    after = clock.now()
    assert before == datetime(2025, 11, 15, 23, 59, 59) and after == datetime(2025, 11, 16, 0, 0, 0)
    assert after > before and clock.today() == date(2025, 11, 16)


@given(st.lists(st.floats(min_value=0, max_value=50_000, allow_nan=False), min_size=1, max_size=60))
def test_pinned_now_never_goes_back_and_today_is_its_day(steps: list[float]) -> None:
    mono = FakeClock(12_345.678)
    clock = Clock(fixed=PINNED, monotonic=mono)
    seen = [clock.now()]
    for step in steps:
        mono.t += step
        now = clock.now()
        assert now >= seen[-1]
        assert now - datetime(2025, 11, 15) == timedelta(seconds=int(mono.t - 12_345.678))
        assert clock.today() == now.date()
        seen.append(now)


def test_workers_given_the_same_origin_agree() -> None:
    mono = FakeClock(500.0)
    settings = Settings(today=PINNED, pinned_since=200.0)
    first = Clock(fixed=settings.today, origin=settings.pinned_since, monotonic=mono)
    mono.t = 900.0  # a worker started later
    second = Clock(fixed=settings.today, origin=settings.pinned_since, monotonic=mono)
    assert first.now() == second.now() == datetime(2025, 11, 15, 0, 11, 40)
    assert settings.clock().origin == 200.0


def test_unpinned_clock_is_china_time_to_the_second() -> None:
    clock = Clock()
    now = clock.now()
    assert now.tzinfo is None and now.microsecond == 0 and clock.today() in (now.date(), now.date() + timedelta(1))
